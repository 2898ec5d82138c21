"""A confusion matrix whose cells open their photos: the Fine-tune page's (validation photos of
the best epoch) and the Review page's (out-of-fold suggestions against the folders).

:class:`ConfusionPanel` = :class:`ConfusionMatrixView` beside :class:`CellPhotos`. A click (or
Enter) on a count shows that cell's photos as thumbnails; the page says which photos a cell
holds through ``photos_of(row, column) -> [(path, caption)]``. Class and file names are plain
text everywhere (cells, headers, captions, tooltips).
"""

from __future__ import annotations

import math
import os
from typing import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QListView, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .label.flow import SpreadColumns
from .styles import MUTED_STYLE, plain_tooltip
from .thumb_cache import ThumbnailListModel
from .thumbnails import Thumbnails

THUMB = 96
CELL = QSize(THUMB + 28, THUMB + 36)
CACHE = 300
HINT = "Click a number in the matrix to see its photos."


class ConfusionMatrixView(QTableWidget):
    """Rows: true class; columns: predicted class, then the class's accuracy. Cells are
    shaded by their share of the row (blue on the diagonal, red off it). ``cell_chosen(row,
    column)``: a count was clicked or activated by keyboard."""

    cell_chosen = Signal(int, int)

    def __init__(self, words: tuple[str, str] = ("true", "predicted"), parent=None) -> None:
        super().__init__(parent)
        self.words = words  # what rows and columns are, in tooltips and titles
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setWordWrap(False)
        self._matrix: list[list[int]] = []
        self._classes: list[str] = []
        self.cellClicked.connect(self._choose)
        self.cellActivated.connect(self._choose)

    def set_confusion(self, classes: list[str], matrix: list[list[int]], per_class_acc: dict[str, float]) -> None:
        self._classes, self._matrix = list(classes), [list(map(int, row)) for row in matrix]
        n = len(classes)
        self.clear()
        self.setRowCount(n)
        self.setColumnCount(n + 1 if n else 0)
        self.setHorizontalHeaderLabels([f"→ {c}" for c in classes] + ["accuracy"])
        self.setVerticalHeaderLabels(list(classes))
        self.horizontalHeaderItem(n).setToolTip("Per-class accuracy (recall)") if n else None
        for r, row in enumerate(self._matrix):
            total = sum(row)
            for c, value in enumerate(row):
                self.setItem(r, c, self._count_item(r, c, value, total))
            acc = per_class_acc.get(classes[r], float("nan"))
            item = QTableWidgetItem(f"{acc:.0%}" if isinstance(acc, float) and math.isfinite(acc) else "–")
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not a cell of photos
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            self.setItem(r, n, item)

    def _count_item(self, r: int, c: int, value: int, total: int) -> QTableWidgetItem:
        item = QTableWidgetItem(str(value))
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        share = value / total if total else 0.0
        base = (61, 123, 217) if r == c else (214, 64, 64)
        item.setBackground(QBrush(QColor(*base, int(235 * share) if value else 0)))
        if share > 0.55:
            item.setForeground(QBrush(QColor("white")))
            font = item.font()
            font.setBold(True)
            item.setFont(font)
        photos = f"\nclick to see {'it' if value == 1 else 'them'}" if value else ""
        item.setToolTip(plain_tooltip(f"{self.cell_name(r, c)}: {value} of {total}{photos}"))
        return item

    def cell_name(self, row: int, column: int) -> str:
        return f"{self.words[0]} {self._classes[row]}, {self.words[1]} {self._classes[column]}"

    def _choose(self, row: int, column: int) -> None:
        if 0 <= row < len(self._matrix) and 0 <= column < len(self._classes):
            self.cell_chosen.emit(row, column)

    def matrix(self) -> list[list[int]]:
        return [list(row) for row in self._matrix]

    def classes(self) -> list[str]:
        return list(self._classes)

    def accuracies(self) -> dict[str, str]:
        n = len(self._classes)
        return {c: self.item(r, n).text() for r, c in enumerate(self._classes)}


class _PhotoItem:
    def __init__(self, path: str, caption: str) -> None:
        self.path, self.caption = path, caption


class CellPhotosModel(ThumbnailListModel):
    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(thumbnails, THUMB, CACHE, parent)

    def set_photos(self, photos: list[tuple[str, str]]) -> None:
        self.beginResetModel()
        self.items = [_PhotoItem(str(path), caption) for path, caption in photos]
        self._rows = {item.path: row for row, item in enumerate(self.items)}
        self.endResetModel()

    def row_data(self, row: int, role):
        item = self.items[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.caption or os.path.basename(item.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(item.path)
        if role == Qt.ItemDataRole.UserRole:
            return item.path
        if role == Qt.ItemDataRole.SizeHintRole:
            return CELL
        return None


class CellPhotos(QWidget):
    """A title ("true roses, predicted tulips: 7 photos") over the cell's thumbnails."""

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self.title = QLabel(HINT)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setStyleSheet(MUTED_STYLE)
        self.model_ = CellPhotosModel(thumbnails, self)
        self.view = QListView()
        self.view.setModel(self.model_)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setGridSize(CELL)
        SpreadColumns(self.view, CELL)
        self.view.setUniformItemSizes(True)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    def show_photos(self, title: str, photos: list[tuple[str, str]]) -> None:
        self.title.setText(title)
        self.title.setStyleSheet("")
        self.model_.set_photos(photos)

    def clear(self, hint: str = HINT) -> None:
        self.title.setText(hint)
        self.title.setStyleSheet(MUTED_STYLE)
        self.model_.set_photos([])

    def paths(self) -> list[str]:
        return [item.path for item in self.model_.items]


class ConfusionPanel(QSplitter):
    """The matrix on the left, the chosen cell's photos on the right. ``photos_of(row, column)``
    returns the cell's ``[(path, caption)]``; unset (or empty), a click says none are known."""

    def __init__(self, thumbnails: Thumbnails, words: tuple[str, str] = ("true", "predicted"), parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.matrix = ConfusionMatrixView(words)
        self.photos = CellPhotos(thumbnails)
        self.photos_of: Callable[[int, int], list[tuple[str, str]]] | None = None
        self.addWidget(self.matrix)
        self.addWidget(self.photos)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.setChildrenCollapsible(False)
        self.matrix.cell_chosen.connect(self.show_cell)

    def set_confusion(self, classes: list[str], matrix: list[list[int]], per_class_acc: dict[str, float],
                      photos_of: Callable[[int, int], list[tuple[str, str]]] | None = None) -> None:
        self.matrix.set_confusion(classes, matrix, per_class_acc)
        self.photos_of = photos_of
        self.photos.clear(HINT if classes else "")

    def show_cell(self, row: int, column: int) -> None:
        count = self.matrix.matrix()[row][column]
        photos = self.photos_of(row, column) if self.photos_of else []
        title = f"{self.matrix.cell_name(row, column)}: {count} photo{'s' if count != 1 else ''}"
        if count and not photos:
            title += " (which ones is not known: this run was resumed or split across processes)"
        self.photos.show_photos(title, photos)

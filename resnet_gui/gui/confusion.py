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
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QListView, QSplitter, QStyle,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.text import counted
from .styles import MUTED_STYLE, plain_tooltip
from .thumb_cache import ThumbnailListModel
from .thumbnails import Thumbnails
from .widgets import icon_grid

THUMB = 96
CELL = QSize(THUMB + 28, THUMB + 36)
CACHE = 300
HINT = "Click a number in the matrix to see its photos."
MIN_TINT = 50  # the least shading of a cell that holds photos (0-255)
ROW_LINES = 1.8  # a row's height in text lines: a count is easy to click, the matrix stays compact


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
        self.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)  # a long name: "sunflo…", not cut
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(round(self.fontMetrics().height() * ROW_LINES))
        self.setWordWrap(False)
        self.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)  # sizeHint: all cells
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
        self.setHorizontalHeaderLabels(list(classes) + ["accuracy"])
        self.setVerticalHeaderLabels(list(classes))
        for i, name in enumerate(classes):  # the header says the name; the tooltip which side it is
            self.horizontalHeaderItem(i).setToolTip(plain_tooltip(f"{self.words[1]} {name}"))
            self.verticalHeaderItem(i).setToolTip(plain_tooltip(f"{self.words[0]} {name}"))
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
        self.updateGeometry()

    def natural_width(self) -> int:
        """The width that shows every name whole, in bold too (the chosen cell's row and column);
        the columns share the width equally, so each gets the widest one's."""
        font = QFont(self.horizontalHeader().font())
        font.setBold(True)
        metrics = QFontMetrics(font)
        pad = 4 * self.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin) + 4
        header = self.horizontalHeader()
        column = max([max(header.sectionSizeHint(c), self.sizeHintForColumn(c),
                          metrics.horizontalAdvance(self.horizontalHeaderItem(c).text()) + pad)
                      for c in range(self.columnCount())] + [0])
        rows = max([self.verticalHeader().sizeHint().width()] +
                   [metrics.horizontalAdvance(name) + pad for name in self._classes])
        return rows + column * self.columnCount() + 2 * self.frameWidth() + 2

    def natural_height(self) -> int:
        """The height of the header and every row, no more."""
        rows = self.verticalHeader().defaultSectionSize() * self.rowCount()
        return self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth() + 2

    def _count_item(self, r: int, c: int, value: int, total: int) -> QTableWidgetItem:
        item = QTableWidgetItem(str(value))
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        share = value / total if total else 0.0
        base = (61, 123, 217) if r == c else (214, 64, 64)
        alpha = max(MIN_TINT, int(235 * share)) if value else 0  # one error in 40 still shows
        item.setBackground(QBrush(QColor(*base, alpha)))
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
        super().__init__(thumbnails, THUMB, CACHE, parent, square=True)  # captions line up

    def set_photos(self, photos: list[tuple[str, str]]) -> None:
        self.reset_items([_PhotoItem(str(path), caption) for path, caption in photos])

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
    """The chosen cell's thumbnails, and their ``title`` ("true roses, predicted tulips: 7 photos"),
    which the panel places across its whole width (one line, not wrapped in a narrow column)."""

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self.title = QLabel(HINT)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setStyleSheet(MUTED_STYLE)
        self.model_ = CellPhotosModel(thumbnails, self)
        self.view = QListView()
        self.view.setModel(self.model_)
        icon_grid(self.view, THUMB, CELL)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # rows wrap instead
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        self.setMinimumWidth(self.minimum_width())

    def show_photos(self, title: str, photos: list[tuple[str, str]]) -> None:
        self.title.setText(title)
        self.title.setStyleSheet("")
        self.title.show()
        self.model_.set_photos(photos)

    def clear(self, hint: str = HINT) -> None:
        self.title.setText(hint)
        self.title.setStyleSheet(MUTED_STYLE)
        self.title.setVisible(bool(hint))  # no empty line over an empty matrix
        self.model_.set_photos([])

    def minimum_width(self) -> int:
        """One column of thumbnails and the scroll bar."""
        return CELL.width() + self.view.verticalScrollBar().sizeHint().width() + 2 * self.view.frameWidth() + 8

    def paths(self) -> list[str]:
        return [item.path for item in self.model_.items]


class ConfusionPanel(QWidget):
    """The chosen cell's title over the matrix (left) and its photos (right), divided by a
    ``splitter``. ``photos_of(row, column)`` returns the cell's ``[(path, caption)]``; unset (or
    empty), a click says none are known."""

    def __init__(self, thumbnails: Thumbnails, words: tuple[str, str] = ("true", "predicted"), parent=None) -> None:
        super().__init__(parent)
        self.matrix = ConfusionMatrixView(words)
        self.photos = CellPhotos(thumbnails)
        self.photos_of: Callable[[int, int], list[tuple[str, str]]] | None = None
        self._fit_pending = False
        left = QWidget()  # the matrix as tall as its rows, the page's background below (no empty grid)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.matrix)
        column.addStretch(1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.photos)
        self.splitter.setStretchFactor(0, 0)  # a wider window: more columns of photos, the matrix keeps its size
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.photos.title)
        layout.addWidget(self.splitter, 1)
        self.matrix.cell_chosen.connect(self.show_cell)

    def set_confusion(self, classes: list[str], matrix: list[list[int]], per_class_acc: dict[str, float],
                      photos_of: Callable[[int, int], list[tuple[str, str]]] | None = None) -> None:
        self.matrix.set_confusion(classes, matrix, per_class_acc)
        self.matrix.setMaximumHeight(self.matrix.natural_height() if classes else 16777215)
        self.photos_of = photos_of
        self.photos.clear(HINT if classes else "")
        self._fit_pending = bool(classes)
        self.fit_matrix()

    def fit_matrix(self) -> None:
        """The matrix gets the width that shows its names whole, when the photos keep a column
        (once per matrix: a divider the user moved stays)."""
        total = sum(self.splitter.sizes())
        if not self._fit_pending or not self.isVisible() or total <= 0:
            return
        width = max(1, min(self.matrix.natural_width(), total - self.photos.minimum_width()))
        self.splitter.setSizes([width, total - width])
        self._fit_pending = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.fit_matrix()  # a matrix set while hidden (another tab) had no width to share yet

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_matrix()

    def show_cell(self, row: int, column: int) -> None:
        count = self.matrix.matrix()[row][column]
        photos = self.photos_of(row, column) if self.photos_of else []
        title = f"{self.matrix.cell_name(row, column)}: {counted(count, 'photo')}"
        if count and not photos:
            title += " (which ones is not known: this run was resumed or split across processes)"
        self.photos.show_photos(title, photos)

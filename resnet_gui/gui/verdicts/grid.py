"""A grid of results: large thumbnails with the label and a confidence badge, and a "?"
badge on photos that are not one of the model's classes.

Wiring (the Classify page: a QStackedWidget switching between today's table and this)::

    from ..verdicts.grid import ResultsGrid
    self.grid = ResultsGrid(self.thumbnails, self)      # the page's Thumbnails
    self.grid.append(predictions)                        # core Predictions, as they arrive
    self.grid.clear()                                    # on a new run
    self.grid.activated_path.connect(self.preview.show_path)   # whatever shows one photo
"""

from __future__ import annotations

import os

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyledItemDelegate

from ..styles import plain_tooltip
from ..thumb_cache import ThumbnailListModel
from ..thumbnails import Thumbnails
from ..unknown_badge import draw_badge, unknown_tooltip
from ..widgets import icon_grid

GRID_THUMB = 160
GRID_CACHE = 400
LOW = 0.5  # badges below this are amber
CONFIDENCE_ROLE = Qt.ItemDataRole.UserRole + 3
UNKNOWN_ROLE = Qt.ItemDataRole.UserRole + 4


class GridModel(ThumbnailListModel):
    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(thumbnails, GRID_THUMB, GRID_CACHE, parent)
        # self.items: core Predictions with a label

    def append(self, predictions: list) -> None:
        items = [p for p in predictions if p.ok]
        if not items:
            return
        first = len(self.items)
        self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
        for offset, item in enumerate(items):
            self._rows.setdefault(item.path, first + offset)
        self.items.extend(items)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.items, self._rows = [], {}
        self._thumbs.clear()
        self.endResetModel()

    def row_data(self, row: int, role):
        item = self.items[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.label
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(GRID_THUMB + 20, GRID_THUMB + 28)
        if role == CONFIDENCE_ROLE:
            return item.confidence
        if role == UNKNOWN_ROLE:
            return bool(item.unknown)
        if role == Qt.ItemDataRole.ToolTipRole:
            unknown = f"\n{unknown_tooltip(item)}" if item.unknown else ""
            return plain_tooltip(f"{item.path}\n{item.label}: {item.confidence:.1%}{unknown}")
        if role == Qt.ItemDataRole.UserRole:
            return item.path
        return None


class BadgeDelegate(QStyledItemDelegate):
    """The usual icon and label, plus the confidence in a small box at the top right and, on a
    photo that is not one of the model's classes, a "?" at the top left."""

    def paint(self, painter: QPainter, option, index) -> None:
        super().paint(painter, option, index)
        if index.data(UNKNOWN_ROLE):
            draw_badge(painter, QRect(option.rect.left() + 4, option.rect.top() + 4, 20, 18))
        confidence = index.data(CONFIDENCE_ROLE)
        if confidence is None:
            return
        text = f"{confidence:.0%}"
        rect = QRect(option.rect.right() - 44, option.rect.top() + 4, 40, 18)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#1e5e2f") if confidence >= LOW else QColor("#b35c00"))
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class ResultsGrid(QListView):
    activated_path = Signal(str)

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self.grid_model = GridModel(thumbnails, self)
        self.setModel(self.grid_model)
        self.setItemDelegate(BadgeDelegate(self))
        icon_grid(self, GRID_THUMB, QSize(GRID_THUMB + 26, GRID_THUMB + 34))
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.activated.connect(lambda index: self.activated_path.emit(index.data(Qt.ItemDataRole.UserRole)))

    def append(self, predictions: list) -> None:
        self.grid_model.append(predictions)

    def clear(self) -> None:
        self.grid_model.clear()

    def selected_paths(self) -> list[str]:
        return [i.data(Qt.ItemDataRole.UserRole) for i in self.selectionModel().selectedIndexes()]

    def caption(self, row: int) -> str:
        item = self.grid_model.items[row]
        unknown = " (? not one of the classes)" if item.unknown else ""
        return f"{os.path.basename(item.path)}: {item.label} {item.confidence:.0%}{unknown}"

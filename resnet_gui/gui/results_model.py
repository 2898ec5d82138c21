"""The classified photos as one Qt model that two views show (Qt's model/view way, not a copy
per view): the Classify page's table (``classify/results.py``, through its filter and sort)
and the photo loop's grid (``verdicts/grid.py``, which shows the ``COL_GRID`` column: large
thumbnail, label, confidence badge). Rows are the core's Predictions, appended in batches.

Thumbnails come through :class:`~resnet_gui.gui.thumb_cache.PixmapCache`, the bounded cache
the other grids use: one for the table's small thumbnails and one for the grid's large ones
(one size for both would keep 3000 pixmaps of 160 px, about 300 MB, or decode the table's
rows at 160 px for nothing)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSize, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QStyle

from ..core.text import display_safe
from .styles import plain_tooltip
from .thumb_cache import PixmapCache
from .thumbnails import Thumbnails
from .unknown_badge import badge_pixmap, unknown_tooltip

if TYPE_CHECKING:  # core.infer imports the decoders: not needed to show the window
    from ..core.infer import Prediction

THUMB_SIZE = 56  # the table's
THUMB_CACHE = 3000  # pixmaps kept; older ones are decoded again if scrolled back to
GRID_THUMB = 160  # the grid's
GRID_CACHE = 400
LOW_CONFIDENCE = 0.5  # top-1 below this is marked
PATH_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
CONFIDENCE_ROLE = Qt.ItemDataRole.UserRole + 3
UNKNOWN_ROLE = Qt.ItemDataRole.UserRole + 4
LOW_BACKGROUND = QColor(255, 170, 40, 60)
LOW_TEXT = QColor("#b35c00")
COL_IMAGE, COL_LABEL, COL_CONFIDENCE, COL_GRID = range(4)  # the table hides COL_GRID


class ResultsModel(QAbstractTableModel):
    """Rows of :class:`Prediction`, appended in batches; thumbnails requested lazily."""

    HEADERS = ("Image", "Top-1 label", "Confidence", "Grid")

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self._items: list[Prediction] = []
        self._rows_by_path: dict[str, int] = {}
        self.low_threshold = LOW_CONFIDENCE
        self._thumbs = PixmapCache(thumbnails, THUMB_SIZE, THUMB_CACHE, self)
        self._grid_thumbs = PixmapCache(thumbnails, GRID_THUMB, GRID_CACHE, self)
        self._thumbs.ready.connect(lambda path: self._thumb_ready(path, COL_IMAGE))
        self._grid_thumbs.ready.connect(lambda path: self._thumb_ready(path, COL_GRID))
        self._warn_icon = None
        self._unknown_icon = None

    # ------------------------------------------------------------ content

    def append(self, items: list[Prediction]) -> None:
        if not items:
            return
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
        for offset, item in enumerate(items):
            self._rows_by_path.setdefault(item.path, first + offset)
        self._items.extend(items)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._items.clear()
        self._rows_by_path.clear()
        self.endResetModel()

    def items(self) -> list[Prediction]:
        return list(self._items)

    def item(self, row: int) -> Prediction:
        return self._items[row]

    def set_low_threshold(self, value: float) -> None:
        self.low_threshold = value
        if self._items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._items) - 1, COL_CONFIDENCE))

    def is_low(self, item: Prediction) -> bool:
        return item.confidence < self.low_threshold

    def thumbnail(self, path: str):
        """The table's thumbnail of ``path`` if it is decoded (None: not yet, or not any more)."""
        return self._thumbs.peek(path)

    # ------------------------------------------------------------ Qt model

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item = self._items[index.row()]
        if role == PATH_ROLE:
            return item.path
        if index.column() == COL_GRID:
            return self._grid_data(item, role)
        return self._table_data(item, index.column(), role)

    def _table_data(self, item: Prediction, col: int, role):
        low = self.is_low(item)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_IMAGE:
                return display_safe(os.path.basename(item.path))
            if col == COL_LABEL:
                return display_safe(item.label)
            return f"{item.confidence:.1%}"
        if role == SORT_ROLE:
            if col == COL_IMAGE:
                return os.path.basename(item.path).lower()
            if col == COL_LABEL:
                return item.label.lower()
            return item.confidence
        if role == Qt.ItemDataRole.DecorationRole:
            if col == COL_IMAGE:
                return self._thumbs.get(item.path)
            if col == COL_LABEL and item.unknown:
                return self._unknown_badge()
            if col == COL_CONFIDENCE and low:
                return self._warning_icon()
        if role == Qt.ItemDataRole.BackgroundRole and low:
            return QBrush(LOW_BACKGROUND)
        if role == Qt.ItemDataRole.ForegroundRole and low and col != COL_IMAGE:
            return QBrush(LOW_TEXT)
        if role == Qt.ItemDataRole.ToolTipRole:
            guesses = "\n".join(f"{label}: {prob:.1%}" for label, prob in item.topk[:5])
            mark = f"\nLow confidence (top-1 below {self.low_threshold:.0%})" if low else ""
            mark += f"\n{unknown_tooltip(item)}" if item.unknown else ""
            return plain_tooltip(f"{item.path}\n{guesses}{mark}")
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_CONFIDENCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _grid_data(self, item: Prediction, role):
        """A grid cell: the large thumbnail over the label; the delegate paints the badges."""
        if role == Qt.ItemDataRole.DisplayRole:
            return display_safe(item.label)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._grid_thumbs.get(item.path)
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(GRID_THUMB + 20, GRID_THUMB + 28)
        if role == CONFIDENCE_ROLE:
            return item.confidence
        if role == UNKNOWN_ROLE:
            return bool(item.unknown)
        if role == Qt.ItemDataRole.ToolTipRole:
            unknown = f"\n{unknown_tooltip(item)}" if item.unknown else ""
            return plain_tooltip(f"{item.path}\n{item.label}: {item.confidence:.1%}{unknown}")
        return None

    def _warning_icon(self):
        if self._warn_icon is None:
            from PySide6.QtWidgets import QApplication

            icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            self._warn_icon = icon.pixmap(16, 16)
        return self._warn_icon

    def _unknown_badge(self):
        if self._unknown_icon is None:
            self._unknown_icon = badge_pixmap(16)
        return self._unknown_icon

    def _thumb_ready(self, path: str, column: int) -> None:
        row = self._rows_by_path.get(path)
        if row is not None and row < len(self._items):
            index = self.index(row, column)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

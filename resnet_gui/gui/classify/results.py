"""The results table (thumbnail, top-1 label, confidence) with filtering and sorting.
Rows are the core's Predictions; a photo that is not one of the model's classes has a "?"
badge on its label and the *Unknown only* filter."""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QSpinBox,
                               QStackedWidget, QStyle, QTableView, QVBoxLayout, QWidget)

from ...core.text import display_safe
from ..styles import plain_tooltip
from ..thumbnails import Thumbnails
from ..unknown_badge import badge_pixmap, unknown_tooltip

if TYPE_CHECKING:  # core.infer imports the decoders: not needed to show the window
    from ...core.infer import Prediction

THUMB_SIZE = 56
THUMB_CACHE = 3000  # pixmaps kept; older ones are decoded again if scrolled back to
LOW_CONFIDENCE = 0.5  # top-1 below this is marked
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
LOW_BACKGROUND = QColor(255, 170, 40, 60)
LOW_TEXT = QColor("#b35c00")
COL_IMAGE, COL_LABEL, COL_CONFIDENCE = range(3)
LIVE_SORT_LIMIT = 5000  # above this many rows, a sorted view is re-sorted when the run ends
LIVE_SORT_MS = 1000  # below it, new rows join the sort at most once a second (not per batch)
LABEL_MAX_SHARE = 0.4  # the label column fits its longest label, up to this share of the table


class ResultsModel(QAbstractTableModel):
    """Rows of :class:`Prediction`, appended in batches; thumbnails requested lazily."""

    HEADERS = ("Image", "Top-1 label", "Confidence")

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self._items: list[Prediction] = []
        self._rows_by_path: dict[str, int] = {}
        self._thumbnails = thumbnails
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self._no_thumb: set[str] = set()
        self.low_threshold = LOW_CONFIDENCE
        thumbnails.loaded.connect(self._on_image)
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

    def thumbnail(self, path: str) -> QPixmap | None:
        return self._thumbs.get(path)

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
        col = index.column()
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
                return self._thumb_for(item.path)
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

    def _thumb_for(self, path: str):
        pixmap = self._thumbs.get(path)
        if pixmap is not None:
            self._thumbs.move_to_end(path)
            return pixmap
        if path not in self._no_thumb:
            self._thumbnails.request(path, THUMB_SIZE)
        return None

    def _on_image(self, path: str, size: int, image: QImage) -> None:
        if size != THUMB_SIZE:
            return
        if image.isNull():
            self._no_thumb.add(path)
            return
        self._thumbs[path] = QPixmap.fromImage(image)
        while len(self._thumbs) > THUMB_CACHE:
            self._thumbs.popitem(last=False)
        row = self._rows_by_path.get(path)
        if row is not None and row < len(self._items):
            index = self.index(row, COL_IMAGE)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ResultsFilter(QSortFilterProxyModel):
    """Filter by label text (top-1, or any of the kept guesses), by confidence, and to the
    photos that are not one of the model's classes."""

    SHOW_ALL, SHOW_LOW, SHOW_CONFIDENT, SHOW_UNKNOWN = range(4)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._text = ""
        self._mode = self.SHOW_ALL
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)  # re-sorting 100k rows on every batch would stall

    def set_text(self, text: str) -> None:
        self.change_filter(lambda: setattr(self, "_text", text.strip().lower()))

    def set_mode(self, mode: int) -> None:
        self.change_filter(lambda: setattr(self, "_mode", mode))

    def change_filter(self, apply) -> None:
        """Run ``apply()`` (which changes what passes the filter), then re-filter."""
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            apply()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            apply()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        model: ResultsModel = self.sourceModel()
        item = model.item(source_row)
        if self._text and self._text not in item.label.lower():
            return False
        if self._mode == self.SHOW_LOW and not model.is_low(item):
            return False
        if self._mode == self.SHOW_CONFIDENT and model.is_low(item):
            return False
        if self._mode == self.SHOW_UNKNOWN and not item.unknown:
            return False
        return True


class ResultsPanel(QWidget):
    """Filter bar + table; shows a hint instead while empty. ``current_changed(item)``."""

    current_changed = Signal(object)  # Prediction or None
    counts_changed = Signal()  # rows arrived, or the filter changed what is shown

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self.model = ResultsModel(thumbnails, self)
        self.proxy = ResultsFilter(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit(placeholderText="Filter by label…", clearButtonEnabled=True)
        self.filter_edit.textChanged.connect(lambda text: self._refilter(self.proxy.set_text, text))
        self.show_combo = QComboBox()
        self.show_combo.addItems(["All results", "Low confidence only", "Confident only", "Unknown only (?)"])
        self.show_combo.setItemData(ResultsFilter.SHOW_UNKNOWN, "Photos that are not one of the model's classes "
                                    "(needs a model with out-of-class detection)", Qt.ItemDataRole.ToolTipRole)
        self.show_combo.currentIndexChanged.connect(lambda mode: self._refilter(self.proxy.set_mode, mode))
        self.low_spin = QSpinBox(prefix="Mark below ", suffix=" %", minimum=0, maximum=100, value=50)
        self.low_spin.setToolTip("Results whose top-1 confidence is below this are marked in orange")
        self.low_spin.valueChanged.connect(self._on_low_changed)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.show_combo)
        bar.addWidget(self.low_spin)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        # input order until a header is clicked
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(self._thumb_qsize())
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)  # arrows move between rows; Tab leaves the table
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIZE + 6)
        # the file name takes the room (cut in the middle when it must be); the label column
        # fits its labels (measured once per distinct label, not per row) until the user drags it
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_IMAGE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_LABEL, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_CONFIDENCE, QHeaderView.ResizeMode.ResizeToContents)
        self._label_widths: dict[str, int] = {}
        self._badge_room = 0  # the "?" badge's width once a row has one
        self._label_fitted = True  # False once the user has resized the label column
        self._fitting = False
        header.sectionResized.connect(self._on_section_resized)
        self._fit_label_column()
        self.table.selectionModel().currentRowChanged.connect(self._on_current)

        self.hint = QLabel("Drop images or folders here\nor choose Open folder… / Open images…")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: palette(mid); font-size: 15px; border: 2px dashed palette(mid);"
                                "border-radius: 10px; padding: 24px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint)
        self.stack.addWidget(self.table)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self._resort_timer = QTimer(self, singleShot=True, interval=LIVE_SORT_MS)
        self._resort_timer.timeout.connect(self.resort)

    @staticmethod
    def _thumb_qsize():
        from PySide6.QtCore import QSize

        return QSize(THUMB_SIZE, THUMB_SIZE)

    def append(self, items: list[Prediction]) -> None:
        self.model.append(items)
        new_labels = {item.label for item in items} - self._label_widths.keys()
        if new_labels:
            metrics = self.table.fontMetrics()
            self._label_widths.update((label, metrics.horizontalAdvance(label)) for label in new_labels)
            self._fit_label_column()
        if not self._badge_room and any(item.unknown for item in items):
            self._badge_room = 16 + self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 4
            self._fit_label_column()
        if items:
            self.stack.setCurrentWidget(self.table)
            if self.model.rowCount() <= LIVE_SORT_LIMIT and self.proxy.sortColumn() >= 0 \
                    and not self._resort_timer.isActive():
                self._resort_timer.start()
            if not self.table.currentIndex().isValid():
                self.table.selectRow(0)

    def _on_low_changed(self, percent: int) -> None:
        self._refilter(self.proxy.change_filter, lambda: self.model.set_low_threshold(percent / 100.0))

    def _refilter(self, change, value) -> None:
        change(value)
        if self.current_item() is None:  # the shown photo was filtered out: do not keep showing it
            self.current_changed.emit(None)
        self.counts_changed.emit()

    def count_text(self) -> str:
        """"Results (465)", or "Results (12 of 465)" while a filter hides some."""
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        if not total:
            return "Results"
        return f"Results ({total})" if shown == total else f"Results ({shown} of {total})"

    def resort(self) -> None:
        """Apply the chosen sort to rows that arrived since (sorting is not live for big runs)."""
        self._resort_timer.stop()
        if self.proxy.sortColumn() >= 0:
            self.proxy.sort(self.proxy.sortColumn(), self.proxy.sortOrder())

    def label_column_width(self) -> int:
        """What the label column needs: the widest label (or the header) plus the cell's margins."""
        header = self.table.horizontalHeader()
        widest = max(self._label_widths.values(), default=0)
        title = header.fontMetrics().horizontalAdvance(ResultsModel.HEADERS[COL_LABEL]) + 24  # room for the sort arrow
        return max(title, widest + self._badge_room + 2 * self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 12)

    def _fit_label_column(self) -> None:
        if not self._label_fitted:
            return
        room = self.table.viewport().width() or self.table.width()
        self._fitting = True
        self.table.horizontalHeader().resizeSection(COL_LABEL, min(self.label_column_width(),
                                                                   max(80, int(room * LABEL_MAX_SHARE))))
        self._fitting = False

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if column == COL_LABEL and not self._fitting:
            self._label_fitted = False  # the user's width stays

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_label_column()  # the cap follows the table's width

    def clear(self) -> None:
        self.model.clear()
        self._label_widths.clear()  # the next run may come from a model with other labels
        self._badge_room = 0
        self._fit_label_column()
        self.stack.setCurrentWidget(self.hint)
        self.current_changed.emit(None)

    def visible_items(self) -> list[Prediction]:
        """The rows as shown: filtered and sorted."""
        return [self.model.item(self.proxy.mapToSource(self.proxy.index(r, 0)).row())
                for r in range(self.proxy.rowCount())]

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)

    def current_item(self) -> Prediction | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.item(self.proxy.mapToSource(index).row())

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.current_changed.emit(None)
            return
        self.current_changed.emit(self.model.item(self.proxy.mapToSource(current).row()))

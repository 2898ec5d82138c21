"""The results table (thumbnail, top-1 label, confidence) with filtering and sorting, a view
on the shared :class:`~resnet_gui.gui.results_model.ResultsModel` (the photo loop's grid is
the other). A photo that is not one of the model's classes has a "?" badge on its label and
the *Unknown only* filter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QSize, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QSpinBox,
                               QStackedWidget, QStyle, QTableView, QVBoxLayout, QWidget)

from ..results_model import (COL_CONFIDENCE, COL_GRID, COL_IMAGE, COL_LABEL, SORT_ROLE, THUMB_SIZE,
                             ResultsModel)
from ..thumbnails import Thumbnails

if TYPE_CHECKING:  # core.infer imports the decoders: not needed to show the window
    from ...core.infer import Prediction

LIVE_SORT_LIMIT = 5000  # above this many rows, a sorted view is re-sorted when the run ends
LIVE_SORT_MS = 1000  # below it, new rows join the sort at most once a second (not per batch)
LABEL_MAX_SHARE = 0.4  # the label column fits its longest label, up to this share of the table


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
        self.table.setColumnHidden(COL_GRID, True)  # the grid's cells
        # input order until a header is clicked
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
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

    def current_row(self) -> int:
        """The current photo's row in the model (not the filtered, sorted view); -1 for none."""
        index = self.table.currentIndex()
        return self.proxy.mapToSource(index).row() if index.isValid() else -1

    def make_current(self, row: int) -> None:
        """Make the model's ``row`` the table's current, selected, visible photo (if not filtered out)."""
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.table.selectRow(index.row())
            self.table.scrollTo(index)

    def current_item(self) -> Prediction | None:
        row = self.current_row()
        return self.model.item(row) if row >= 0 else None

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.current_changed.emit(None)
            return
        self.current_changed.emit(self.model.item(self.proxy.mapToSource(current).row()))

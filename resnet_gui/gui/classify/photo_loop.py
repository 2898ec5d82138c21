"""The Classify page's part of the photo loop: results as a grid, a verdict on the shown photo
(it becomes training data), Retrain from the current model, and *Sort into folders…*.

The widgets live in ``gui/verdicts/``; this class builds them around the results panel and the
preview it is given, and connects them. The page places three of its containers:
``results_stack`` (the table or the grid) in the Results tab, ``preview_column`` (the preview
over the verdict bar) in the splitter, ``bar`` (sort, dataset, retrain) under it. The dataset
and the model in use come from the session state, which this observes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QHBoxLayout, QPushButton, QStackedWidget, QToolButton,
                               QVBoxLayout, QWidget)

from ...core.session import SessionState
from ..results_model import COL_GRID
from ..settings import AppSettings
from ..styles import MUTED_STYLE
from ..verdicts.grid import ResultsGrid
from ..verdicts.retrain import RetrainPanel
from ..verdicts.sort_dialog import SortDialog
from ..verdicts.verdict import VerdictBar
from ..widgets import ElidedLabel
from .preview import PreviewPane
from .results import ResultsPanel

TABLE, GRID = 0, 1


def trainable(weights: str) -> str:
    """``weights`` when a fine-tune can start from it, else '' (Retrain is then disabled): an
    ONNX file holds no trainable network."""
    return "" if Path(weights).suffix.lower() == ".onnx" else weights


class PhotoLoop(QObject):
    dataset_edited = Signal()  # a verdict added a photo to the dataset (the Label page refreshes)
    sortable = Signal(bool)  # there are classified photos to sort
    use_model_requested = Signal(str)  # Retrain's new model, to be opened
    view_shown = Signal()  # show_view switched the table or grid: its tab is to be shown

    def __init__(self, results: ResultsPanel, preview: PreviewPane, settings: AppSettings, state: SessionState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results, self.preview = results, preview
        self.settings, self.state = settings, state
        self.dialog_parent = parent
        self.data_dir = ""
        self.sort_dialog: SortDialog | None = None
        self._build()
        self._connect()
        self.set_dataset(state.data_dir)

    # ------------------------------------------------------------ building

    def _build(self) -> None:
        self.grid = ResultsGrid(self.results.model)  # a second view on the table's model
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(self.results)
        self.results_stack.addWidget(self.grid)
        # Table | Grid, at the right of the Results/Skipped tabs
        self.view_switch = QWidget()
        switch = QHBoxLayout(self.view_switch)
        switch.setContentsMargins(0, 0, 4, 0)
        switch.setSpacing(0)
        self.view_group = QButtonGroup(self)
        for mode, text, tip in ((TABLE, "Table", "Results as a table: filter, sort"),
                                (GRID, "Grid", "Results as large thumbnails with a confidence badge")):
            button = QToolButton(text=text, checkable=True, checked=mode == TABLE, toolTip=tip)
            button.setAutoRaise(True)
            self.view_group.addButton(button, mode)
            switch.addWidget(button)

        self.verdict = VerdictBar()
        self.preview_column = QWidget()
        column = QVBoxLayout(self.preview_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.preview, 1)
        column.addWidget(self.verdict)

        self.sort_button = QPushButton("Sort into folders…", enabled=False)
        self.sort_button.setToolTip("Copy (or move) the classified photos into one folder per class, with Undo")
        self.dataset_label = ElidedLabel(elide=Qt.TextElideMode.ElideRight)
        self.dataset_label.setStyleSheet(MUTED_STYLE)
        self.retrain = RetrainPanel()
        self.bar = QWidget()
        bar = QHBoxLayout(self.bar)
        bar.setContentsMargins(0, 2, 0, 2)
        bar.addWidget(self.sort_button)
        bar.addSpacing(12)
        bar.addWidget(self.dataset_label)
        bar.addWidget(self.retrain, 3)

    def _connect(self) -> None:
        model = self.results.model
        model.rowsInserted.connect(self._on_rows)
        model.modelReset.connect(self._on_reset)
        self.results.current_changed.connect(self._on_table_current)
        self.grid.selectionModel().currentChanged.connect(self._on_grid_current)
        self.view_group.idClicked.connect(self.show_view)
        self.sort_button.clicked.connect(self.open_sort_dialog)
        self.verdict.added.connect(self._on_added)
        self.retrain.use_model.connect(self.use_model_requested)
        self.state.events.model.connect(self._on_model)
        self.state.events.data_dir.connect(self.set_dataset)

    def _on_model(self, info) -> None:
        self.retrain.set_sources(self.data_dir, trainable(info.source) if info is not None else "")

    # ------------------------------------------------------------ dataset

    def set_dataset(self, data_dir: str) -> None:
        """The dataset verdicts go to and Retrain trains on ('' for none)."""
        self.data_dir = data_dir
        self.verdict.set_dataset(data_dir)
        self.retrain.set_sources(data_dir, trainable(self.state.model.source) if self.state.model else "")
        name = Path(data_dir).name if data_dir else "none"
        self.dataset_label.setText(f"Dataset: {name}")

    def refresh_dataset(self) -> None:
        """The dataset changed on disk (a Label page batch): classes and the count since training."""
        self.verdict.set_dataset(self.data_dir)
        self.retrain.refresh_count()

    def _on_added(self, _path: str, _class_name: str) -> None:
        self.retrain.refresh_count()
        self.dataset_edited.emit()

    # ------------------------------------------------------------ results: table or grid

    def show_view(self, mode: int) -> None:
        """TABLE or GRID, in the Results tab; the photo shown stays the current one."""
        self.view_group.button(mode).setChecked(True)
        if mode != self.results_stack.currentIndex():
            grid = self.results_stack.currentIndex() == GRID
            row = self.grid.currentIndex().row() if grid else self.results.current_row()
            if row >= 0 and mode == GRID:
                index = self.results.model.index(row, COL_GRID)
                self.grid.setCurrentIndex(index)
                self.grid.scrollTo(index)
            elif row >= 0:
                self.results.make_current(row)
        self.results_stack.setCurrentIndex(mode)
        self.view_shown.emit()
        self.show_current()

    def show_current(self) -> None:
        """The preview and the verdict follow the current photo of the view shown."""
        grid = self.results_stack.currentIndex() == GRID
        self._show(self.grid_item() if grid else self.results.current_item())

    def grid_item(self):
        return self.grid.current_item()

    def _on_rows(self, *_args) -> None:
        self.sort_button.setEnabled(True)
        self.sortable.emit(True)

    def _on_reset(self) -> None:
        self.sort_button.setEnabled(False)
        self.sortable.emit(False)
        self._show(None)

    def _on_table_current(self, item) -> None:
        if self.results_stack.currentIndex() == TABLE:
            self._show(item)

    def _on_grid_current(self, *_args) -> None:
        if self.results_stack.currentIndex() == GRID:
            self._show(self.grid_item())

    def _show(self, item) -> None:
        self.preview.show_item(item)
        ok = item is not None and item.ok
        self.verdict.set_photo(item.path if ok else "", item.label if ok else "")

    # ------------------------------------------------------------ sorting

    def sort_items(self) -> list[tuple[str, str, float, bool | None]]:
        return [(p.path, p.label, p.confidence, p.unknown) for p in self.results.model.items() if p.ok]

    def open_sort_dialog(self) -> SortDialog:
        if self.sort_dialog is not None:
            self.sort_dialog.deleteLater()
        self.sort_dialog = SortDialog(self.sort_items(), self.settings, self.dialog_parent)
        self.sort_dialog.open()  # window-modal; the event loop goes on
        return self.sort_dialog

    def shutdown(self) -> bool:
        ok = self.verdict.shutdown()
        ok = self.retrain.shutdown() and ok
        if self.sort_dialog is not None:
            ok = self.sort_dialog.runner.shutdown() and ok
        return ok

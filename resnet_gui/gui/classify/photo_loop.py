"""The Classify page's part of the photo loop: results as a grid, a verdict on the shown photo
(it becomes training data), Retrain from the current model, and *Sort into folders…*.

The widgets live in ``gui/verdicts/``; this class builds them around the page's own views and
connects them. The page places three of its containers: ``results_stack`` (the table or the
grid) in the Results tab, ``preview_column`` (the preview over the verdict bar) in the
splitter, ``bar`` (sort, dataset, retrain) under it. The dataset is the Label page's
(``settings.dataset``); the window calls :meth:`set_dataset` when the user picks another one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QHBoxLayout, QPushButton, QStackedWidget, QToolButton,
                               QVBoxLayout, QWidget)

from ..styles import MUTED_STYLE
from ..verdicts.grid import ResultsGrid
from ..verdicts.retrain import RetrainPanel
from ..verdicts.sort_dialog import SortDialog
from ..verdicts.verdict import VerdictBar
from ..widgets import ElidedLabel

TABLE, GRID = 0, 1


def trainable(weights: str) -> str:
    """``weights`` when a fine-tune can start from it, else '' (Retrain is then disabled): an
    ONNX file holds no trainable network."""
    return "" if Path(weights).suffix.lower() == ".onnx" else weights


class PhotoLoop(QObject):
    dataset_edited = Signal()  # a verdict added a photo to the dataset (the Label page refreshes)
    sortable = Signal(bool)  # there are classified photos to sort

    def __init__(self, page) -> None:
        super().__init__(page)
        self.page = page
        self.dataset = ""
        self.sort_dialog: SortDialog | None = None
        self._build()
        self._connect()
        self.set_dataset(page.settings.dataset)

    # ------------------------------------------------------------ building

    def _build(self) -> None:
        page = self.page
        self.grid = ResultsGrid(page.thumbnails)
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(page.results)
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
        column.addWidget(page.preview, 1)
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
        page = self.page
        model = page.results.model
        model.rowsInserted.connect(self._on_rows)
        model.modelReset.connect(self._on_reset)
        page.results.current_changed.connect(self._on_table_current)
        self.grid.selectionModel().currentChanged.connect(self._on_grid_current)
        self.view_group.idClicked.connect(self.show_view)
        self.sort_button.clicked.connect(self.open_sort_dialog)
        self.verdict.added.connect(self._on_added)
        self.retrain.use_model.connect(page.use_model)
        page.model_loaded.connect(lambda info, _device: self.retrain.set_sources(self.dataset, trainable(info.source)))

    # ------------------------------------------------------------ dataset

    def set_dataset(self, folder: str) -> None:
        """The dataset verdicts go to and Retrain trains on ('' for none)."""
        self.dataset = folder
        self.verdict.set_dataset(folder)
        self.retrain.set_sources(folder, trainable(self.page.model.source) if self.page.model else "")
        name = Path(folder).name if folder else "none"
        self.dataset_label.setText(f"Dataset: {name}")

    def refresh_dataset(self) -> None:
        """The dataset changed on disk (a Label page batch): classes and the count since training."""
        self.verdict.set_dataset(self.dataset)
        self.retrain.refresh_count()

    def _on_added(self, _path: str, _class_name: str) -> None:
        self.retrain.refresh_count()
        self.dataset_edited.emit()

    # ------------------------------------------------------------ results: table or grid

    def show_view(self, mode: int) -> None:
        """TABLE or GRID, in the Results tab."""
        self.view_group.button(mode).setChecked(True)
        self.results_stack.setCurrentIndex(mode)
        self.page.lists.setCurrentWidget(self.results_stack)
        self.show_current()

    def show_current(self) -> None:
        """The preview and the verdict follow the current photo of the view shown."""
        grid = self.results_stack.currentIndex() == GRID
        self._show(self.grid_item() if grid else self.page.results.current_item())

    def grid_item(self):
        index = self.grid.currentIndex()
        return self.grid.grid_model.items[index.row()] if index.isValid() else None

    def _on_rows(self, _parent, first: int, last: int) -> None:
        model = self.page.results.model
        self.grid.append([model.item(row) for row in range(first, last + 1)])
        if self.grid.grid_model.rowCount():
            self.sort_button.setEnabled(True)
            self.sortable.emit(True)

    def _on_reset(self) -> None:
        self.grid.clear()
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
        self.page.preview.show_item(item)
        ok = item is not None and item.ok
        self.verdict.set_photo(item.path if ok else "", item.label if ok else "")

    # ------------------------------------------------------------ sorting

    def sort_items(self) -> list[tuple[str, str, float, bool | None]]:
        return [(p.path, p.label, p.confidence, p.unknown) for p in self.page.result_items() if p.ok]

    def open_sort_dialog(self) -> SortDialog:
        if self.sort_dialog is not None:
            self.sort_dialog.deleteLater()
        self.sort_dialog = SortDialog(self.sort_items(), self.page.settings, self.page)
        self.sort_dialog.open()  # window-modal; the event loop goes on
        return self.sort_dialog

    def shutdown(self) -> bool:
        ok = self.verdict.shutdown()
        ok = self.retrain.shutdown() and ok
        if self.sort_dialog is not None:
            ok = self.sort_dialog.runner.shutdown() and ok
        return ok

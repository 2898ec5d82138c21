"""The Classify page: results | preview + chart. It composes two controllers on one
TaskRunner: ``model_control.py`` (open, download, reopen a model; the model bar) and
``run_control.py`` (classify, progress, cancel, results, CSV); the photo loop's widgets come
from ``photo_loop.py``, the preview's trust wiring (its model, *Calibrate…*) from
``trust_wiring.py``. The page sets the session state's model and observes its device.

Data flows one way: a user action -> a job (``jobs.py``, in the runner's thread) -> core ->
yielded dataclasses -> the views' setters, in the GUI thread. A new run or model replaces
the job before it; a replaced job never reaches the views.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ...constants import WEIGHT_SUFFIXES
from ...core.session import SessionState
from ..settings import AppSettings
from ..tasks import TaskRunner
from ..thumbnails import Thumbnails
from . import jobs
from .model_bar import ModelBar
from .model_control import ModelController
from .photo_loop import PhotoLoop
from .preview import PreviewPane
from .results import ResultsPanel
from .run_control import RunController
from .run_status import RunStatus
from .skipped import SkippedTable
from .topk_chart import fit_topk_spin
from .trust_wiring import TrustWiring


def is_weights_path(path: str) -> bool:
    return Path(path).suffix.lower() in WEIGHT_SUFFIXES


class ClassifyPage(QWidget):
    model_loaded = Signal(object, str)  # core ModelInfo, the device it runs on
    model_failed = Signal(str)  # one-line reason (the previous model, if any, stays)
    devices_found = Signal(list)  # ["cpu", "cuda", ...], once the first load has looked
    run_finished = Signal(object)  # jobs.RunSummary, after each classification (not a replaced one)
    rerun_available = Signal(bool)  # results were cleared by a model change: "Classify again" applies
    status_message = Signal(str, int)  # text, milliseconds to show it (0: until replaced)
    results_arrived = Signal()  # rows (results or skipped) were added: there is something to export
    error_occurred = Signal(str, str, str)  # title, message, details (a traceback, or ""): for a dialog
    dataset_edited = Signal()  # a verdict added a photo to the dataset (the Label page refreshes)
    sortable = Signal(bool)  # there are classified photos to sort into folders

    def __init__(self, settings: AppSettings, parent=None, state: SessionState | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        # shared with the other pages: this page sets the model, observes the device and the dataset
        self.state = state or SessionState(device=settings.device, data_dir=settings.data_dir)
        self.last_error = ""  # the last fatal error reported
        self.runner = TaskRunner(self, name="classify")
        self.thumbnails = Thumbnails(self)
        self._build()
        self._connect()

    # ================================================================ building

    def _build(self) -> None:
        self.topk_spin = QSpinBox(minimum=1, maximum=jobs.KEEP_TOPK, value=5)
        self.topk_spin.setToolTip("How many guesses the chart and the CSV show")
        self.model_bar = ModelBar(settings=self.settings)  # remembers the engine choice
        self.results = ResultsPanel(self.thumbnails)
        self.skipped = SkippedTable()
        self.preview = PreviewPane(self.thumbnails)
        self.run_status = RunStatus()  # the window puts it in the status bar
        session = jobs.ModelSession()  # touched only by the runner's jobs, one at a time
        self.models = ModelController(self.runner, session, self.model_bar, self.settings, self.state, self)
        self.runs = RunController(self.runner, session, self.models, self.results, self.skipped, self.run_status,
                                  self.settings, self.topk_spin.value, self)
        self.loop = PhotoLoop(self.results, self.preview, self.settings, self.state, self)
        self.trust = TrustWiring(self.preview, self.state, self)  # the preview's model, Calibrate…

        self.lists = QTabWidget()
        self.lists.setDocumentMode(True)
        self.lists.addTab(self.loop.results_stack, "Results")
        self.lists.addTab(self.skipped, "Skipped")
        self.lists.setCornerWidget(self.loop.view_switch, Qt.Corner.TopRightCorner)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.lists)
        self.splitter.addWidget(self.loop.preview_column)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([520, 640])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 0)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.loop.bar)

    def _connect(self) -> None:
        models, runs = self.models, self.runs
        for part in (models, runs):
            part.status_message.connect(self.status_message)
            part.error_occurred.connect(self._show_error)
        models.loaded.connect(self._on_model_loaded)
        models.failed.connect(self._on_model_failed)
        models.devices_found.connect(self.devices_found)
        runs.finished.connect(self.run_finished)
        runs.rerun_available.connect(self.rerun_available)
        runs.results_arrived.connect(self.results_arrived)
        runs.counts_changed.connect(self._update_tab_titles)
        runs.only_skipped.connect(lambda: self.lists.setCurrentWidget(self.skipped))
        self.state.events.device.connect(self.change_device)  # a loaded model moves there
        self.loop.use_model_requested.connect(self.use_model)
        self.loop.dataset_edited.connect(self.dataset_edited)
        self.loop.sortable.connect(self.sortable)
        self.loop.retrain.twin.made.connect(self.twin_made)
        self.loop.view_shown.connect(lambda: self.lists.setCurrentWidget(self.loop.results_stack))
        self.trust.use_requested.connect(self.use_model)
        self.results.low_spin.valueChanged.connect(self._on_low_changed)
        self.results.counts_changed.connect(self._update_tab_titles)
        self.topk_spin.valueChanged.connect(self._on_topk_changed)

    # ================================================================ what the window asks

    @property
    def model(self):
        """The core ModelInfo of the loaded model (None before one)."""
        return self.models.model

    @property
    def model_device(self) -> str:
        return self.models.device

    @property
    def model_busy(self) -> bool:
        """A load or download is in progress."""
        return self.models.busy

    @property
    def running(self) -> bool:
        """A classification is in progress (started and not yet finished)."""
        return self.runs.running

    @property
    def results_model(self) -> str:
        """The weights file that made the results on screen ("" when none)."""
        return self.runs.results_model

    def result_items(self):
        """The classified images' Predictions, in the order they arrived."""
        return self.results.model.items()

    def start(self, weights: str | None = None, images: list[str] | None = None) -> None:
        """First model and images: ``weights``, else the last used, else the shipped default."""
        self.models.start(weights)
        if images:
            self.classify(images)

    def use_model(self, path: str | os.PathLike) -> None:
        self.models.use_model(path)

    def download_imagenet(self, arch: str) -> None:
        self.models.download_imagenet(arch)

    def change_device(self, _device: str = "") -> None:
        """Open the model again on the device (and engine) chosen now; a run in progress starts again there."""
        if self.models.model is None and not self.models.busy:
            return
        self.runs.hold()
        self.models.reopen()

    def classify(self, paths: list[str | os.PathLike]) -> None:
        """Classify files and folders; replaces a run in progress."""
        self.runs.classify(paths)

    def classify_again(self) -> None:
        self.runs.classify_again()

    def cancel(self) -> None:
        self.runs.cancel()

    def open_paths(self, paths: list[str]) -> None:
        """What a drop does: weights files are loaded, images and folders classified."""
        weights = [p for p in paths if is_weights_path(p) and Path(p).is_file()]
        images = [p for p in paths if p not in weights]
        if weights:
            if len(weights) > 1:
                self.status_message.emit(f"Several weights files dropped: using {Path(weights[-1]).name}", 8000)
            self.use_model(weights[-1])
        if images:
            self.classify(images)

    def twin_made(self, weights: str) -> None:
        """A model's int8 twin was written (Retrain here, or Fine-tune): the model in use is opened
        again if it is that one, so it runs on the twin (what a later open would do anyway)."""
        model = self.models.model
        if model is not None and Path(model.source).resolve() == Path(weights).resolve():
            self.use_model(weights)

    def open_sort_dialog(self):
        """*Sort into folders…* for the classified photos (window-modal)."""
        return self.loop.open_sort_dialog()

    def refresh_dataset(self) -> None:
        """The dataset changed on disk (a Label page batch): the verdicts' classes, Retrain's count."""
        self.loop.refresh_dataset()

    def export_csv(self, path: str | os.PathLike) -> Path:
        return self.runs.export_csv(path)

    # ================================================================ between the parts

    def _on_model_loaded(self, info, device: str) -> None:
        self.preview.set_k(fit_topk_spin(self.topk_spin, info.num_classes, self.settings.topk, jobs.KEEP_TOPK))
        self.model_loaded.emit(info, device)
        self.state.model = info
        self.runs.model_ready(info)

    def _on_model_failed(self, message: str) -> None:
        self.runs.drop_pending()
        self.model_failed.emit(message)

    def _show_error(self, title: str, message: str, details: str = "") -> None:
        self.last_error = message
        self.status_message.emit(message, 30000)
        self.error_occurred.emit(title, message, details)

    # ================================================================ view state and settings

    def _update_tab_titles(self) -> None:
        self.lists.setTabText(0, self.results.count_text())
        made_by = self.runs.results_model
        for tab in (0, 1):
            self.lists.setTabToolTip(tab, f"Made by {Path(made_by).name}" if made_by else "")
        count = self.runs.skipped_count
        self.lists.setTabText(1, f"Skipped ({count})" if count else "Skipped")

    def _on_topk_changed(self, k: int) -> None:
        self.preview.set_k(k)
        self.settings.topk = k

    def _on_low_changed(self, percent: int) -> None:
        self.preview.low_threshold = percent / 100.0
        self.loop.show_current()
        self.settings.low_confidence = percent

    def restore_settings(self) -> None:
        s = self.settings
        for name, splitter in (("main", self.splitter), ("preview", self.preview.splitter)):
            if not (state := s.splitter(name)).isEmpty():
                splitter.restoreState(state)
        self.topk_spin.setValue(s.topk)
        self.preview.set_k(s.topk)
        self.results.low_spin.setValue(s.low_confidence)

    def save_settings(self) -> None:
        s = self.settings
        s.set_splitter("main", self.splitter.saveState())
        s.set_splitter("preview", self.preview.splitter.saveState())  # top-k and the threshold: saved as they change

    def shutdown(self) -> bool:
        """Cancel the run and wait for the threads: never leave one running. Safe to call twice."""
        self.runs.shutdown()
        self.models.shutdown()
        ended = [self.loop.shutdown(), self.trust.shutdown(), self.preview.shutdown(), self.runner.shutdown(),
                 self.thumbnails.shutdown()]
        return all(ended)

"""The Classify page: results | preview + chart, wired to jobs on the page's own TaskRunner;
the photo loop's widgets come from ``photo_loop.py``, unknown badges and heatmaps from
``trust_wiring.py``.

Data flows one way: a user action -> a job (``jobs.py``, in the runner's thread) -> core ->
yielded dataclasses -> the views' setters, in the GUI thread. A new run or model replaces
the job before it; a replaced job never reaches the views.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ...constants import WEIGHT_SUFFIXES
from ...core.session import SessionState
from ..settings import AppSettings
from ..tasks import Task, TaskRunner
from ..thumbnails import Thumbnails
from . import jobs
from .file_actions import FileActions
from .model_bar import ModelBar
from .photo_loop import PhotoLoop
from .preview import PreviewPane
from .results import ResultsPanel
from .skipped import SkippedTable
from .topk_chart import fit_topk_spin
from .trust_wiring import TrustWiring
from .run_status import RunStatus


AUTO_RERUN_LIMIT = 300  # after a model change, runs up to this many photos are classified again at once


def is_weights_path(path: str) -> bool:
    return Path(path).suffix.lower() in WEIGHT_SUFFIXES


class ClassifyPage(FileActions, QWidget):
    model_loaded = Signal(object, str)  # core ModelInfo, the device it runs on
    model_failed = Signal(str)  # one-line reason (the previous model, if any, stays)
    devices_found = Signal(list)  # ["cpu", "cuda", ...], once the first load has looked
    run_finished = Signal(object)  # jobs.RunSummary, after each classification (not a replaced one)
    rerun_available = Signal(bool)  # results were cleared by a model change: "Classify again" applies
    status_message = Signal(str, int)  # text, milliseconds to show it (0: until replaced)
    results_arrived = Signal()  # rows (results or skipped) were added: there is something to export
    error_occurred = Signal(str, str, str)  # title, message, details (a traceback, or ""): for a dialog

    def __init__(self, settings: AppSettings, parent=None, state: SessionState | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.state = state or SessionState()  # shared with the other pages: it sets the model, observes the rest
        self.model = None  # core ModelInfo of the loaded model
        self.model_device = ""
        self.last_error = ""  # the last fatal error reported
        self.session = jobs.ModelSession()  # touched only by the runner's jobs
        self.runner = TaskRunner(self, name="classify")
        self.thumbnails = Thumbnails(self)
        self._model_task: Task | None = None  # the load or download in progress
        self._run_task: Task | None = None  # the classification in progress
        self._downloading = ""  # the architecture being downloaded
        self._pending_paths: list[str] | None = None  # to classify once a model is ready
        self._last_paths: list[str] = []
        self.results_model = ""  # the weights file that made the results on screen ("" when none)
        self._total = 0
        self._skipped_count = 0
        self._run_started = 0.0
        self._build()

    # ================================================================ building

    def _build(self) -> None:
        self.topk_spin = QSpinBox(minimum=1, maximum=jobs.KEEP_TOPK, value=5)
        self.topk_spin.setToolTip("How many guesses the chart and the CSV show")

        self.model_bar = ModelBar(settings=self.settings)  # remembers the engine choice
        self.results = ResultsPanel(self.thumbnails)
        self.skipped = SkippedTable()
        self.lists = QTabWidget()
        self.lists.setDocumentMode(True)
        self.preview = PreviewPane(self.thumbnails)
        self.loop = PhotoLoop(self)  # places results and preview in its containers
        self.state.events.dataset.connect(self.loop.set_dataset)
        self.state.events.device.connect(self.change_device)  # a loaded model moves there
        self.trust = TrustWiring(self)  # the preview's model (heatmaps, the hint), Calibrate…
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

        self.run_status = RunStatus()  # the window puts it in the status bar
        self.run_status.cancel_requested.connect(self.cancel)

        self.model_bar.open_requested.connect(self.choose_weights)
        self.model_bar.download_requested.connect(self.choose_download)
        self.model_bar.cancel_download_requested.connect(self.cancel_download)
        self.results.low_spin.valueChanged.connect(self._on_low_changed)
        self.results.counts_changed.connect(self._update_tab_titles)
        self.topk_spin.valueChanged.connect(self._on_topk_changed)

    # ================================================================ state

    @property
    def running(self) -> bool:
        """A classification is in progress (started and not yet finished)."""
        return self._run_task is not None

    @property
    def model_busy(self) -> bool:
        """A load or download is in progress."""
        return self._model_task is not None

    def result_items(self):
        """The classified images' Predictions, in the order they arrived."""
        return self.results.model.items()

    # ================================================================ model

    def start(self, weights: str | None = None, images: list[str] | None = None) -> None:
        """First model and images: ``weights``, else the last used, else the shipped default."""
        from ...resources import default_weights

        chosen = weights or (self.settings.weights if Path(self.settings.weights or "").is_file() else None)
        if chosen is None:
            found = default_weights()
            chosen = str(found) if found else None
        if chosen:
            self.use_model(chosen)
        else:
            self.model_bar.show_none()
            self.status_message.emit("No model yet: open a weights file or download ImageNet weights.", 0)
        if images:
            self.classify(images)

    def use_model(self, path: str | os.PathLike) -> None:
        """Load a checkpoint (in the runner's thread); a failure keeps the model before."""
        path = str(Path(path).resolve()) if path else ""
        self.settings.weights_folder = str(Path(path).parent)
        self._start_model_job(jobs.open_model, path)

    def download_imagenet(self, arch: str) -> None:
        self._downloading = arch
        self.model_bar.show_download(arch)
        self._start_model_job(jobs.download_and_load, arch)

    def cancel_download(self) -> None:
        if self._downloading and self._model_task is not None:
            self._model_task.cancel()

    def change_device(self, device: str) -> None:
        """Move the model to ``device``; a run in progress starts again there."""
        if self.model is None and not self.model_busy:
            return
        if self.running:
            self._pending_paths = self._last_paths
        self._start_model_job(jobs.open_model, self.model.source if self.model else self.settings.weights)

    def _start_model_job(self, job, *args) -> None:
        self._cancel_run()  # its summary still comes, marked cancelled
        if self._model_task is not None:
            self._model_task.detach()
        if job is not jobs.download_and_load:
            self._downloading = ""
        # not replace=True: the cancelled run must still report its end
        task = self.runner.start(job, self.session, *args, self.state.device, self.model_bar.engine(), replace=False)
        task.yielded.connect(self._on_event)
        task.returned.connect(self._on_model_result)
        task.errored.connect(lambda exc, _details: self._on_model_result(jobs.ModelFailed(f"{type(exc).__name__}: {exc}")))
        self._model_task = task

    def _on_model_result(self, result) -> None:
        self._model_task = None
        self._downloading = ""
        if isinstance(result, jobs.ModelReady):
            self.model_bar.describe_engine(result.description, result.notes)
            self._on_model_loaded(result.info, result.device)
        elif isinstance(result, jobs.ModelFailed):
            self._on_model_failed(result.message)

    def _on_model_loaded(self, info, device: str) -> None:
        self.model, self.model_device = info, device
        self.model_bar.show_model(info, device)
        self.preview.set_k(fit_topk_spin(self.topk_spin, info.num_classes, self.settings.topk, jobs.KEEP_TOPK))
        self.settings.weights = info.source
        self.settings.add_recent_weights(info.source)
        note = f" (note: {info.notes[0]})" if info.notes else ""
        self.status_message.emit(f"Model ready: {info.arch}, {info.num_classes} classes, "
                                 f"on {device.upper()}{note}", 10000)
        self.model_loaded.emit(info, device)
        self.state.model = info
        if self._pending_paths:
            self.classify(self._pending_paths)
        elif self.results_model and self.results_model != info.source:
            self._results_outdated(info)

    def _results_outdated(self, info) -> None:
        """The results on screen came from another model: small runs are classified again at
        once; bigger ones are cleared, with "Classify again" offered."""
        old, new = Path(self.results_model).name, Path(info.source).name
        shown = self.results.model.rowCount() + self._skipped_count
        if shown <= AUTO_RERUN_LIMIT:
            self.status_message.emit(f"Classifying again with {new} (the results were from {old})…", 0)
            self.classify(self._last_paths)
            return
        self.results.clear()
        self.skipped.clear_rows()
        self._skipped_count = 0
        self.results_model = ""
        self._update_tab_titles()
        self.rerun_available.emit(True)
        self.status_message.emit(f"The {shown} results of {old} were cleared: "
                                 f"Classify again (Ctrl+R) to see {new}'s.", 0)

    def classify_again(self) -> None:
        """The last files and folders, with the current model."""
        if self._last_paths:
            self.classify(self._last_paths)

    def _on_model_failed(self, message: str) -> None:
        self._pending_paths = None
        if message == "Download cancelled.":
            self.status_message.emit(message, 8000)
        else:
            self._show_error(message, title="Cannot load the model")
        if self.model is not None and message:
            # the jobs keep the previous model when a new one fails
            self.model_bar.show_model(self.model, self.model_device)
            self.status_message.emit(f"{message} — still using {Path(self.model.source).name}", 15000)
        else:
            self.model_bar.show_error(message)
        self.model_failed.emit(message)

    # ================================================================ classification

    def classify(self, paths: list[str | os.PathLike]) -> None:
        """Classify files and folders; replaces a run in progress."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        self._last_paths = paths
        self._remember_image_folder(paths[0])
        if self.model is None or self.model_busy:
            self._pending_paths = paths
            if self.model_busy:
                self.status_message.emit("Waiting for the model to load…", 0)
            else:
                self.status_message.emit("Choose a model first: open a weights file or download ImageNet weights.", 0)
                if self.model_bar.state != "error":
                    self.model_bar.show_none()
            return
        self._pending_paths = None
        self.results.clear()
        self.skipped.clear_rows()
        self._skipped_count = self._total = 0
        self.results_model = self.model.source  # each run is tagged with the model that makes it
        self.rerun_available.emit(False)
        self._update_tab_titles()
        self.run_status.set_running(True)
        self.status_message.emit("Looking for images…", 0)
        self._run_started = time.perf_counter()
        if self._run_task is not None:
            self._run_task.detach()
        task = self.runner.start(jobs.classify, self.session, paths, replace=False)
        task.yielded.connect(self._on_event)
        task.returned.connect(self._on_run_finished)
        task.errored.connect(self._on_run_errored)
        self._run_task = task

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

    def cancel(self) -> None:
        self._pending_paths = None
        self._cancel_run()
        # the job ends after the image it is on; the window says so at once
        self.run_status.set_running(False)

    def _cancel_run(self) -> None:
        if self._run_task is not None and not self._run_task.should_stop():
            self._run_task.cancel()
            self.status_message.emit("Cancelling…", 8000)

    def _on_event(self, event) -> None:
        if isinstance(event, jobs.Results):
            self._on_results(event)
        elif isinstance(event, jobs.Started):
            self._on_started(event.total)
        elif isinstance(event, jobs.Notice):
            self.status_message.emit(event.text, 8000)
        elif isinstance(event, jobs.Loading):
            self.model_bar.show_loading(event.path)
            self.status_message.emit(f"Loading {Path(event.path).name}…", 0)
        elif isinstance(event, jobs.DownloadProgress):
            self.model_bar.show_download(self._downloading, event.done, event.total)
        elif isinstance(event, jobs.Devices):
            self.devices_found.emit(event.devices)

    def _on_started(self, total: int) -> None:
        if total == 0:
            self.status_message.emit("No image files found in " + ", ".join(Path(p).name for p in self._last_paths), 0)
        self._total = total
        self.run_status.show_progress(0, total)
        if total:  # the count itself is the bar's text, so the two never disagree
            self.status_message.emit(f"Classifying {total:,} images…", 0)

    def _on_results(self, report: jobs.Results) -> None:
        if report.predictions:
            self.results.append(report.predictions)
        if report.skipped:
            self.skipped.append(report.skipped)
            self._skipped_count += len(report.skipped)
        if report.predictions or report.skipped:
            self._update_tab_titles()
            self.results_arrived.emit()
        self.run_status.show_progress(report.done, report.total, report.rate)

    def _on_run_errored(self, exc: Exception, details: str) -> None:
        self._show_error(f"Classification stopped: {type(exc).__name__}: {exc}", details, title="Classification failed")
        self._on_run_finished(jobs.RunSummary(
            total=self._total, classified=self.results.model.rowCount(), skipped=self._skipped_count,
            cancelled=self._run_task is not None and self._run_task.should_stop(),
            seconds=time.perf_counter() - self._run_started, device=self.model_device, failed=True))

    def _on_run_finished(self, summary: jobs.RunSummary) -> None:
        self._run_task = None
        self.run_status.set_running(False)
        self.results.resort()
        self.status_message.emit(summary.describe(self.last_error), 0)
        self.rerun_available.emit(bool(self._last_paths))
        if summary.skipped and not summary.classified:
            self.lists.setCurrentWidget(self.skipped)
        self.run_finished.emit(summary)

    def _show_error(self, message: str, details: str = "", title: str = "Error") -> None:
        self.last_error = message
        self.status_message.emit(message, 30000)
        self.error_occurred.emit(title, message, details)

    # ================================================================ view state and settings
    def _update_tab_titles(self) -> None:
        self.lists.setTabText(0, self.results.count_text())
        for tab in (0, 1):
            self.lists.setTabToolTip(tab, f"Made by {Path(self.results_model).name}" if self.results_model else "")
        self.lists.setTabText(1, f"Skipped ({self._skipped_count})" if self._skipped_count else "Skipped")

    def _on_topk_changed(self, k: int) -> None:
        self.preview.set_k(k)
        self.settings.topk = k

    def _on_low_changed(self, percent: int) -> None:
        self.preview.low_threshold = percent / 100.0
        self.loop.show_current()
        self.settings.low_confidence = percent

    def _remember_image_folder(self, path: str) -> None:
        self.settings.image_folder = str(path if Path(path).is_dir() else Path(path).parent)

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
        self._pending_paths = None
        self._run_task = self._model_task = None
        ended = [self.loop.shutdown(), self.trust.shutdown(), self.runner.shutdown(), self.thumbnails.shutdown()]
        return all(ended)

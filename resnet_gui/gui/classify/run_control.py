"""The Classify page's runs: classify files and folders with the model controller's model,
show the progress, cancel, fill the results and the skipped table, export them as CSV. A run
asked for before a model is ready waits for it; a new model makes the results on screen
outdated (small runs are classified again, bigger ones cleared)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ..settings import AppSettings
from ..tasks import Task, TaskRunner
from . import dialogs, jobs
from .model_control import ModelController
from .results import ResultsPanel
from .run_status import RunStatus
from .skipped import SkippedTable

AUTO_RERUN_LIMIT = 300  # after a model change, runs up to this many photos are classified again at once


class RunController(QObject):
    finished = Signal(object)  # jobs.RunSummary, after each run (not a replaced one)
    rerun_available = Signal(bool)  # "Classify again" applies
    results_arrived = Signal()  # rows (results or skipped) were added
    counts_changed = Signal()  # the results' or the skipped files' count, or the model that made them
    only_skipped = Signal()  # a run ended with every file skipped
    status_message = Signal(str, int)
    error_occurred = Signal(str, str, str)  # title, message, details

    def __init__(self, runner: TaskRunner, session: jobs.ModelSession, models: ModelController,
                 results: ResultsPanel, skipped: SkippedTable, run_status: RunStatus, settings: AppSettings,
                 topk: Callable[[], int], dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.runner, self.session, self.models = runner, session, models
        self.results, self.skipped, self.run_status = results, skipped, run_status
        self.settings, self.topk, self.dialog_parent = settings, topk, dialog_parent
        self.results_model = ""  # the weights file that made the results on screen ("" when none)
        self.last_paths: list[str] = []
        self.skipped_count = 0
        self._pending: list[str] | None = None  # to classify once a model is ready
        self._task: Task | None = None
        self._total = 0
        self._started = 0.0
        self._error = ""  # why the last failed run stopped
        run_status.cancel_requested.connect(self.cancel)
        models.loading.connect(self._cancel)  # its summary still comes, marked cancelled

    @property
    def running(self) -> bool:
        """A classification is in progress (started and not yet finished)."""
        return self._task is not None

    def classify(self, paths: list[str | os.PathLike]) -> None:
        """Classify files and folders; replaces a run in progress."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        self.last_paths = paths
        self.settings.image_folder = str(paths[0] if Path(paths[0]).is_dir() else Path(paths[0]).parent)
        model = self.models.model
        if model is None or self.models.busy:
            self._pending = paths
            self.models.note_waiting()
            return
        self._pending = None
        self._clear()
        self.results_model = model.source  # each run is tagged with the model that makes it
        self.rerun_available.emit(False)
        self.counts_changed.emit()
        self.run_status.set_running(True)
        self.status_message.emit("Looking for images…", 0)
        self._started = time.perf_counter()
        if self._task is not None:
            self._task.detach()
        task = self.runner.start(jobs.classify, self.session, paths, replace=False)
        task.yielded.connect(self._on_event)
        task.returned.connect(self._on_finished)
        task.errored.connect(self._on_errored)
        self._task = task

    def classify_again(self) -> None:
        """The last files and folders, with the current model."""
        if self.last_paths:
            self.classify(self.last_paths)

    def cancel(self) -> None:
        self._pending = None
        self._cancel()
        # the job ends after the image it is on; the window says so at once
        self.run_status.set_running(False)

    def hold(self) -> None:
        """The model is opened again (another device or engine): a run in progress starts again once it is back."""
        if self.running:
            self._pending = self.last_paths

    def drop_pending(self) -> None:
        self._pending = None

    def model_ready(self, info) -> None:
        """Runs that waited start; results of another model are outdated."""
        if self._pending:
            self.classify(self._pending)
        elif self.results_model and self.results_model != info.source:
            self._outdated(info)

    def _outdated(self, info) -> None:
        """The results on screen came from another model: small runs are classified again at
        once; bigger ones are cleared, with "Classify again" offered."""
        old, new = Path(self.results_model).name, Path(info.source).name
        shown = self.results.model.rowCount() + self.skipped_count
        if shown <= AUTO_RERUN_LIMIT:
            self.status_message.emit(f"Classifying again with {new} (the results were from {old})…", 0)
            self.classify(self.last_paths)
            return
        self._clear()
        self.results_model = ""
        self.counts_changed.emit()
        self.rerun_available.emit(True)
        self.status_message.emit(f"The {shown} results of {old} were cleared: "
                                 f"Classify again (Ctrl+R) to see {new}'s.", 0)

    def _clear(self) -> None:
        self.results.clear()
        self.skipped.clear_rows()
        self.skipped_count = self._total = 0

    def _cancel(self) -> None:
        if self._task is not None and not self._task.should_stop():
            self._task.cancel()
            self.status_message.emit("Cancelling…", 8000)

    def _on_event(self, event) -> None:
        if isinstance(event, jobs.Results):
            self._on_results(event)
        elif isinstance(event, jobs.Started):
            self._on_started(event.total)
        elif isinstance(event, jobs.Notice):
            self.status_message.emit(event.text, 8000)

    def _on_started(self, total: int) -> None:
        if total == 0:
            self.status_message.emit("No image files found in " + ", ".join(Path(p).name for p in self.last_paths), 0)
        self._total = total
        self.run_status.show_progress(0, total)
        if total:  # the count itself is the bar's text, so the two never disagree
            self.status_message.emit(f"Classifying {total:,} images…", 0)

    def _on_results(self, report: jobs.Results) -> None:
        if report.predictions:
            self.results.append(report.predictions)
        if report.skipped:
            self.skipped.append(report.skipped)
            self.skipped_count += len(report.skipped)
        if report.predictions or report.skipped:
            self.counts_changed.emit()
            self.results_arrived.emit()
        self.run_status.show_progress(report.done, report.total, report.rate)

    def _on_errored(self, exc: Exception, details: str) -> None:
        self._error = f"Classification stopped: {type(exc).__name__}: {exc}"
        self.error_occurred.emit("Classification failed", self._error, details)
        self._on_finished(jobs.RunSummary(
            total=self._total, classified=self.results.model.rowCount(), skipped=self.skipped_count,
            cancelled=self._task is not None and self._task.should_stop(),
            seconds=time.perf_counter() - self._started, device=self.models.device, failed=True))

    def _on_finished(self, summary: jobs.RunSummary) -> None:
        self._task = None
        self.run_status.set_running(False)
        self.results.resort()
        self.status_message.emit(summary.describe(self._error), 0)
        self.rerun_available.emit(bool(self.last_paths))
        if summary.skipped and not summary.classified:
            self.only_skipped.emit()
        self.finished.emit(summary)

    # ------------------------------------------------------------ files in and out

    def choose_folder(self) -> None:
        folder = dialogs.ask_folder(self.dialog_parent, self.settings.image_folder)
        if folder:
            self.classify([folder])

    def choose_images(self) -> None:
        files = dialogs.ask_images(self.dialog_parent, self.settings.image_folder)
        if files:
            self.classify(files)

    def export_csv(self, path: str | os.PathLike) -> Path:
        """Write every result (input order) and every skipped file, with the chosen k."""
        from ...core.results_csv import write_predictions_csv

        rows = sorted(self.results.model.items(), key=lambda p: p.index) + self.skipped.predictions()
        return write_predictions_csv(path, rows, self.topk())

    def choose_export(self) -> None:
        path = dialogs.ask_export_path(self.dialog_parent, self.settings.export_folder or self.settings.image_folder)
        if not path:
            return
        try:
            written = self.export_csv(path)
        except OSError as exc:
            self.error_occurred.emit("Error", f"Could not write {path}: {exc}", "")
            return
        self.settings.export_folder = str(Path(path).parent)
        self.status_message.emit(f"Wrote {written}", 8000)

    def shutdown(self) -> None:
        self._pending = None
        self._task = None

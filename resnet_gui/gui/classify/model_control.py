"""The Classify page's model: open a weights file, download ImageNet weights, reopen it on
another device or engine; the model bar shows each step. Loads run on the page's runner (the
one the runs use, so its ModelSession is touched by one job at a time); a failure keeps the
model before. The page composes this with the run controller (``run_control.py``)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ...core.session import SessionState
from ..settings import AppSettings
from ..tasks import Task, TaskRunner
from . import dialogs, jobs
from .model_bar import ModelBar


class ModelController(QObject):
    loading = Signal()  # a load or download starts (a run in progress is to be cancelled)
    loaded = Signal(object, str)  # core ModelInfo, the device it runs on
    failed = Signal(str)  # one-line reason (the previous model, if any, stays)
    devices_found = Signal(list)  # ["cpu", "cuda", ...], once the first load has looked
    status_message = Signal(str, int)  # text, milliseconds to show it
    error_occurred = Signal(str, str, str)  # title, message, details

    def __init__(self, runner: TaskRunner, session: jobs.ModelSession, bar: ModelBar, settings: AppSettings,
                 state: SessionState, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.runner, self.session, self.bar = runner, session, bar
        self.settings, self.state, self.dialog_parent = settings, state, dialog_parent
        self.model = None  # core ModelInfo of the loaded model
        self.device = ""  # where it runs
        self._task: Task | None = None  # the load or download in progress
        self._downloading = ""  # the architecture being downloaded
        bar.open_requested.connect(self.choose_weights)
        bar.download_requested.connect(self.choose_download)
        bar.cancel_download_requested.connect(self.cancel_download)

    @property
    def busy(self) -> bool:
        """A load or download is in progress."""
        return self._task is not None

    def start(self, weights: str | None = None) -> None:
        """The first model: ``weights``, else the last used, else the shipped default."""
        from ...resources import default_weights

        chosen = weights or (self.settings.weights if Path(self.settings.weights or "").is_file() else None)
        if chosen is None:
            found = default_weights()
            chosen = str(found) if found else None
        if chosen:
            self.use_model(chosen)
        else:
            self.bar.show_none()
            self.status_message.emit("No model yet: open a weights file or download ImageNet weights.", 0)

    def use_model(self, path: str | os.PathLike) -> None:
        """Load a checkpoint (in the runner's thread); a failure keeps the model before."""
        path = str(Path(path).resolve()) if path else ""
        self.settings.weights_folder = str(Path(path).parent)
        self._start(jobs.open_model, path)

    def reopen(self) -> None:
        """The same model again, on the device and engine chosen now."""
        self._start(jobs.open_model, self.model.source if self.model else self.settings.weights)

    def download_imagenet(self, arch: str) -> None:
        self._downloading = arch
        self.bar.show_download(arch)
        self._start(jobs.download_and_load, arch)

    def cancel_download(self) -> None:
        if self._downloading and self._task is not None:
            self._task.cancel()

    def choose_weights(self) -> None:
        path = dialogs.ask_weights(self.dialog_parent, self.settings.weights_folder)
        if path:
            self.use_model(path)

    def choose_download(self) -> None:
        arch = dialogs.ask_architecture(self.dialog_parent)
        if arch:
            self.download_imagenet(arch)

    def note_waiting(self) -> None:
        """Photos came before a model: say what they wait for."""
        if self.busy:
            self.status_message.emit("Waiting for the model to load…", 0)
            return
        self.status_message.emit("Choose a model first: open a weights file or download ImageNet weights.", 0)
        if self.bar.state != "error":
            self.bar.show_none()

    def shutdown(self) -> None:
        self._task = None

    def _start(self, job, *args) -> None:
        self.loading.emit()
        if self._task is not None:
            self._task.detach()
        if job is not jobs.download_and_load:
            self._downloading = ""
        # not replace=True: a cancelled run on the same runner must still report its end
        task = self.runner.start(job, self.session, *args, self.state.device, self.bar.engine(), replace=False)
        task.yielded.connect(self._on_event)
        task.returned.connect(self._on_result)
        task.errored.connect(lambda exc, _details: self._on_result(jobs.ModelFailed(f"{type(exc).__name__}: {exc}")))
        self._task = task

    def _on_event(self, event) -> None:
        if isinstance(event, jobs.Loading):
            self.bar.show_loading(event.path)
            self.status_message.emit(f"Loading {Path(event.path).name}…", 0)
        elif isinstance(event, jobs.DownloadProgress):
            self.bar.show_download(self._downloading, event.done, event.total)
        elif isinstance(event, jobs.Devices):
            self.devices_found.emit(event.devices)
        elif isinstance(event, jobs.Notice):
            self.status_message.emit(event.text, 8000)

    def _on_result(self, result) -> None:
        self._task = None
        self._downloading = ""
        if isinstance(result, jobs.ModelReady):
            self.bar.describe_engine(result.description, result.notes)
            self._on_loaded(result.info, result.device)
        elif isinstance(result, jobs.ModelFailed):
            self._on_failed(result.message)

    def _on_loaded(self, info, device: str) -> None:
        self.model, self.device = info, device
        self.bar.show_model(info, device)
        self.settings.weights = info.source
        self.settings.add_recent_weights(info.source)
        note = f" (note: {info.notes[0]})" if info.notes else ""
        self.status_message.emit(f"Model ready: {info.arch}, {info.num_classes} classes, "
                                 f"on {device.upper()}{note}", 10000)
        self.loaded.emit(info, device)

    def _on_failed(self, message: str) -> None:
        if message == "Download cancelled.":
            self.status_message.emit(message, 8000)
        else:
            self.error_occurred.emit("Cannot load the model", message, "")
        if self.model is not None and message:
            # the jobs keep the previous model when a new one fails
            self.bar.show_model(self.model, self.device)
            self.status_message.emit(f"{message} — still using {Path(self.model.source).name}", 15000)
        else:
            self.bar.show_error(message)
        self.failed.emit(message)

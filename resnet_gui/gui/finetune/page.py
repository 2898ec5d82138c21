"""The Fine-tune page: choose a labeled folder, see its classes, train, watch, use the model.

Data flows one way: :class:`TrainForm` builds a ``TrainConfig`` -> the training runner runs
``jobs.train`` (the core's ``fine_tune``) -> each event -> a :class:`RunView` setter. A second
runner scans folders and probes the ImageNet cache, so a scan never waits behind a run.
Nothing here imports torch.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from ...core.train.events import BatchProgress, DataReady, Done, EpochEnd, PhaseProgress, Stage
from ...core.session import SessionState
from ..tasks import Task, TaskRunner
from ..twin_panel import TwinPanel
from ..wheel_guard import WheelGuard, no_sideways_scroll
from . import jobs
from .estimate import RunEstimate
from .form import TrainForm
from .leakage import LeakWarning
from .resume import output_base, remove_superseded, resumable
from .run_view import RunView


class FinetunePage(QWidget):
    """``set_folder(path)``, ``start()`` / ``cancel()``; ``training_finished(done)`` says a run
    ended (Done, or None after an error); ``use_model_requested(path)`` asks the window to
    classify with the new checkpoint; ``show_leaks_requested(folder, groups)`` asks it to show
    the duplicate groups split across train and validation (the Review page)."""

    use_model_requested = Signal(str)
    training_finished = Signal(object)  # Done, or None after an error
    folder_scanned = Signal(object)  # jobs.FolderScan
    show_leaks_requested = Signal(str, object)  # the folder, list of core DuplicateGroups

    def __init__(self, settings=None, parent=None, state: SessionState | None = None) -> None:
        super().__init__(parent)
        self.settings = settings  # AppSettings or None
        self.state = state or SessionState()  # the window's: the model in use and the device chosen
        self.train_runner = TaskRunner(self, name="fine-tune")
        self.scan_runner = TaskRunner(self, name="folder scan")
        self.estimate_runner = TaskRunner(self, name="estimate")
        self.leak_runner = TaskRunner(self, name="leak check")
        self.last_error = ""
        self._task: Task | None = None  # the training job until it has finished
        self._scan_task: Task | None = None
        self._probing = False  # an ImageNet-cache probe is on its way
        self._done: Done | None = None
        self._config = None  # the TrainConfig of the last run started (its split makes the int8 twin)

        self.form = TrainForm(settings)
        self.state.events.model.connect(self.set_current_model)  # the model in use: a "Start from" choice
        self.estimate = RunEstimate(self.estimate_runner)
        self.leak_warning = LeakWarning(self.leak_runner, busy=lambda: self.estimate.measuring)
        self.run_view = RunView()
        self.twin = TwinPanel()  # the trained model's int8 twin, made once the run has ended
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        no_sideways_scroll(scroll)
        WheelGuard.install(self.form)  # the wheel scrolls the options; it changes one only once clicked
        left = QWidget()
        left.setMinimumWidth(250)
        left.setMaximumWidth(430)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(self.estimate)
        left_layout.addWidget(self.leak_warning)
        self.resume_button = QPushButton("Resume", clicked=lambda: self.start(resume=True))
        self.resume_button.hide()
        self.form.buttons.insertWidget(0, self.resume_button)
        left_layout.addLayout(self.form.buttons)  # a fixed footer: Start is always in view
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(left, 2)  # a share of the width (250-430 px), not its narrowest: names and paths fit
        right = QVBoxLayout()
        right.addWidget(self.run_view, 1)
        right.addWidget(self.twin)
        layout.addLayout(right, 5)
        self.setAcceptDrops(True)

        self.form.folder_chosen.connect(self.set_folder)
        self.form.start_button.clicked.connect(self.start)
        self.form.cancel_button.clicked.connect(self.cancel)
        self.run_view.use_model_requested.connect(self.use_model_requested)
        self.leak_warning.show_requested.connect(self.show_leaks_requested)
        self._views = {Stage: self.run_view.show_stage, BatchProgress: self.run_view.show_progress,
                       EpochEnd: self.run_view.show_epoch, DataReady: self._on_data_ready,
                       PhaseProgress: self.run_view.show_phase}
        form = self.form
        for combo in (form.arch_combo, form.start_combo, form.mode_combo):
            combo.currentIndexChanged.connect(self.update_estimate)
        form.arch_combo.currentIndexChanged.connect(self.update_resume)
        form.out_edit.editingFinished.connect(self.update_resume)
        for spin in (form.epochs_spin, form.size_spin, form.batch_spin, form.val_spin):
            spin.valueChanged.connect(self.update_estimate)
        form.val_spin.valueChanged.connect(lambda _: self.update_leak_check())

    # ================================================================ public API

    @property
    def running(self) -> bool:
        """A run was started and has not finished yet (also while it is cancelling)."""
        return self._task is not None

    def set_folder(self, path: str | os.PathLike) -> None:
        """Scan ``path`` in the background; the class table and Start follow."""
        path = str(path)
        self.form.set_folder(path)
        self.update_estimate()  # hidden until the new folder is scanned
        self.update_leak_check()
        if self._scan_task is not None:
            self._scan_task.detach()  # the latest folder wins
            self._scan_task = None
        if not path:
            return
        # not replace=True: that would also drop a probe still on its way
        self._scan_task = self.scan_runner.start(jobs.scan_folder, path, replace=False)
        self._scan_task.returned.connect(self._on_scanned)
        if not self.form.imagenet_cached and not self._probing:
            self._probing = True
            probe = self.scan_runner.start(jobs.probe_imagenet, replace=False)
            probe.returned.connect(self.form.set_imagenet_cached)
            probe.finished.connect(lambda: setattr(self, "_probing", False))

    def set_current_model(self, info) -> None:
        """The window's loaded model (a core ModelInfo, or None) becomes a "Start from" choice."""
        self.form.set_model(info)

    def config(self):
        """The TrainConfig the form describes (what Start runs)."""
        return self.form.config(self.state.device)

    def resume_target(self) -> Path | None:
        """The model whose cancelled run *Resume* would continue (None: nothing to resume)."""
        folder = self.form.folder_edit.text()
        if not folder or self.form.scan is None or self.form.scan.error:
            return None
        return resumable(output_base(folder, self.form.arch_combo.currentText()), self.form.out_edit.text())

    def update_resume(self, *_) -> None:
        target = None if self.running else self.resume_target()
        self.resume_button.setVisible(target is not None)
        if target is not None:
            self.resume_button.setText(f"Resume {target.stem}")
            self.resume_button.setToolTip(f"Continue the stopped run of {target} from its last finished epoch, "
                                          "up to the Epochs above (Start begins a new model)")

    def start(self, resume: bool = False) -> bool:
        """Start training with the chosen options (``resume``: continue the stopped run that
        *Resume* names); False (and nothing started) if it cannot."""
        target = self.resume_target() if resume else None
        if self.running or not self.form.can_start or (resume and target is None):
            return False
        cfg = self.config()
        if target is not None:
            cfg = replace(cfg, out=str(target), resume=True)
        self._config = cfg
        self.last_error = ""
        self._done = None
        self.run_view.begin(self.form.scan.classes, cfg.epochs)
        self._task = task = self.train_runner.start(jobs.train, cfg)
        task.yielded.connect(self._on_event)
        task.returned.connect(lambda done: setattr(self, "_done", done))
        task.errored.connect(self._on_errored)
        task.finished.connect(self._on_finished)
        self.form.set_running(True)
        self.resume_button.hide()
        self.estimate.pause()
        self.leak_warning.pause()
        return True

    def cancel(self) -> None:
        """Stop after the current batch; ``training_finished`` follows (the best model is kept)."""
        if self._task is not None and not self._task.should_stop():
            self._task.cancel()
            self.form.cancel_button.setEnabled(False)
            self.run_view.show_cancelling()

    def shutdown(self) -> bool:
        """Cancel any run and wait for the threads (the window calls this when closing)."""
        self._task = None
        self.estimate.pause()
        self.leak_warning.pause()
        ok = self.train_runner.shutdown()
        ok = self.estimate_runner.shutdown() and ok
        ok = self.leak_runner.shutdown() and ok
        ok = self.run_view.shutdown() and ok
        ok = self.twin.shutdown() and ok
        return self.scan_runner.shutdown() and ok

    def update_estimate(self, *_) -> None:
        """The form changed: the estimate of the run's time follows (measured in the background)."""
        if not self.running:
            self.estimate.request(self.config(), self.form.arch_combo.currentText(), self.form.scan)

    def update_leak_check(self, force: bool = False) -> None:
        """The folder or its split changed: look for duplicates the split would cut in two
        (``force``: the folder's files may have changed)."""
        if not self.running:
            self.leak_warning.request(self.config(), self.form.scan, force=force)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.update_estimate()  # the window's device may have changed meanwhile
        # back from the Review page, where the duplicates may have been removed
        self.update_leak_check(force=bool(self.leak_warning.leaks))

    # ================================================================ what the tests read

    def points(self) -> dict[str, dict[str, list[tuple[float, float]]]]:
        return self.run_view.points()

    def class_counts(self) -> dict[str, int]:
        return self.form.class_counts()

    # ================================================================ job results

    def _on_scanned(self, scan: jobs.FolderScan) -> None:
        self._scan_task = None
        self.form.show_scan(scan)
        self.update_resume()
        self.update_estimate()
        self.update_leak_check(force=True)  # the files may have changed since the last check
        self.folder_scanned.emit(scan)

    def _on_event(self, event) -> None:
        view = self._views.get(type(event))
        if view is not None:
            view(event)

    def _on_data_ready(self, event: DataReady) -> None:
        self.form.show_split(event)
        self.run_view.show_data(event)

    def _on_errored(self, exc: BaseException, details: str) -> None:
        self.last_error = jobs.error_message(exc)
        self.run_view.show_error(self.last_error, details)

    def _on_finished(self) -> None:
        done, self._task = self._done, None
        self.form.set_running(False)
        self.run_view.show_done(done)
        self.form.refresh_output()  # the next run does not replace this model
        if done is not None and done.reason in ("completed", "early_stopping") and done.checkpoint:  # older stopped runs are superseded
            remove_superseded(output_base(self.form.folder_edit.text(), self.form.arch_combo.currentText()),
                              done.checkpoint)
        self.update_resume()
        self.update_estimate()
        self.update_leak_check()
        self.training_finished.emit(done)
        if done is not None and done.checkpoint and done.reason in ("completed", "early_stopping"):
            cfg = self._config
            val_split = 0.2 if cfg.val_split is None else cfg.val_split  # TrainConfig.resolve's default
            self.twin.start(done.checkpoint, cfg.data_dir, cfg.split_csv, val_split, cfg.seed)

    # ================================================================ drops

    def dragEnterEvent(self, event) -> None:
        self._accept_folder(event)

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:
        folder = self._accept_folder(event)
        if folder:
            self.set_folder(folder)

    def _accept_folder(self, event) -> str:
        """The one local folder being dropped (accepting the drop), else "" (ignoring it)."""
        mime = event.mimeData()
        urls = [u for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        folder = urls[0].toLocalFile() if len(urls) == 1 and Path(urls[0].toLocalFile()).is_dir() else ""
        if folder and not self.running:
            event.acceptProposedAction()
            return folder
        event.ignore()
        return ""

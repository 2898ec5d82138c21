"""Before Start: about how long the run will take, from a short measurement on this machine.

When the folder or an option that changes the speed (architecture, mode, image size, batch
size, device) changes, :class:`RunEstimate` waits for the form to settle (``DEBOUNCE_MS``),
then times a few batches in the background (``jobs.measure_speed`` on its own runner); a
newer change cancels a measurement on its way. Epochs and the validation share only change
the arithmetic (``core.train.estimate.estimate_run``), so they update the text at once.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel

from ...core.train.estimate import estimate_run  # plain arithmetic: no torch
from ..styles import MUTED_STYLE, plain_tooltip
from ..tasks import Task, TaskRunner
from . import jobs

DEBOUNCE_MS = 800


class RunEstimate(QLabel):
    """``request(config, arch, scan)`` after any change of the form; ``pause()`` while a run goes."""

    def __init__(self, runner: TaskRunner, parent=None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setStyleSheet(MUTED_STYLE)
        self.runner = runner
        self.speed = None  # the core Speed measured for ``_measured``
        self.estimate = None  # the core Estimate shown
        self._measured: tuple | None = None  # what the speed was measured for
        self._wanted: tuple | None = None  # (key, config, arch, scan) to measure after the debounce
        self._task: Task | None = None
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self._measure)
        self.hide()

    @staticmethod
    def key(config, arch: str) -> tuple:
        """What the speed depends on (not the epochs, not the split)."""
        return (config.data_dir, arch, config.mode, config.image_size, config.batch_size, config.device,
                str(config.start) == "scratch")

    def request(self, config, arch: str, scan) -> None:
        """The form changed: show the estimate again, measuring first when the speed may differ."""
        if scan is None or scan.error or not scan.counts:
            self._cancel()
            self.hide()
            return
        key = self.key(config, arch)
        self._wanted = (key, config, arch, scan)
        if key == self._measured and self.speed is not None:
            self._show()
            return
        self._cancel()
        self.setText("Estimated time: measuring on this machine…")
        self.setToolTip("")
        self.show()
        self._timer.start()

    def pause(self) -> None:
        """A run starts: no measurement competes with it (the last estimate stays in view)."""
        self._timer.stop()
        self._cancel()

    @property
    def measuring(self) -> bool:
        return self._timer.isActive() or self._task is not None

    # ================================================================ internals

    def _cancel(self) -> None:
        self._timer.stop()
        if self._task is not None:
            self._task.detach()
            self._task = None

    def _measure(self) -> None:
        if self._wanted is None:
            return
        key, config, arch, _scan = self._wanted
        self._task = task = self.runner.start(jobs.measure_speed, config, arch)
        task.returned.connect(lambda speed: self._on_speed(key, speed))
        task.errored.connect(lambda exc, _details: self._on_failed(exc))

    def _on_speed(self, key: tuple, speed) -> None:
        self._task = None
        if speed is None:
            self.hide()  # cancelled or the folder went away: no number is better than a wrong one
            return
        self.speed, self._measured = speed, key
        if self._wanted is not None and self._wanted[0] == key:
            self._show()

    def _on_failed(self, exc: BaseException) -> None:
        self._task = None
        self.setText("Estimated time: unknown (the measurement failed)")
        self.setToolTip(plain_tooltip(f"{type(exc).__name__}: {exc}"))

    def _show(self) -> None:
        _key, config, _arch, scan = self._wanted
        images = sum(scan.counts)
        if scan.split_from == "folder":
            n_val = sum(max(1, round(n * (config.val_split or 0.2))) for n in scan.counts)
        else:  # train/ and val/ folders: the scan cannot tell them apart; training shows the split
            n_val = round(images * 0.2)
        self.estimate = estimate_run(self.speed, config.mode, config.epochs, images - n_val, n_val)
        self.setText(f"Estimated time: {self.estimate.describe()} (measured on this machine, "
                     f"{self.speed.device.upper()})")
        self.setToolTip(plain_tooltip(self.estimate.breakdown() + "\nEarly stopping can end the run sooner."))
        self.show()

"""Before Start: duplicate photos that the split would put on both sides of train and validation.

After a folder scan, and when the validation share (or the seed, or a split CSV) changes,
:class:`LeakWarning` waits for the form to settle (``DEBOUNCE_MS``) and for the time estimate
to finish measuring (two measurements at once would slow each other down and skew the
estimate), then runs the core's ``check_leakage`` on its own runner: hashes and small grey
thumbnails, no model. A newer change cancels a check on its way; a run's Start pauses it.
No leak: nothing is shown. Training is never blocked: it is a warning, with "Show them".
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from ..styles import MUTED_STYLE, WARN_STYLE, plain_tooltip
from ..tasks import Task, TaskRunner
from . import jobs

DEBOUNCE_MS = 1000
BUSY_RETRY_MS = 500  # how often a waiting check looks whether the estimate has finished
CHECKING_TEXT = "Checking for duplicate photos across train and validation…"


class LeakWarning(QWidget):
    """``request(config, scan)`` after a scan or a change of the split; ``pause()`` while a run
    goes. ``show_requested(folder, groups)``: the user asked to see the leaking groups."""

    show_requested = Signal(str, object)  # the folder, list of core DuplicateGroups

    def __init__(self, runner: TaskRunner, busy=lambda: False, parent=None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.busy = busy  # True while another measurement runs (the check waits for it)
        self.result = None  # the core LeakageCheck of ``_checked``
        self._checked: tuple | None = None  # what ``result`` was checked for
        self._wanted: tuple | None = None  # what to check (after the debounce)
        self._running: tuple | None = None  # what the task on its way checks
        self._task: Task | None = None
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        # wraps to the column's width instead of widening the column (and the page jumping) when shown
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.show_button = QPushButton("Show them")
        self.show_button.setToolTip("Open these groups in the Review page's Duplicates tab")
        self.show_button.clicked.connect(self._on_show_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.show_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self._check)
        self.hide()

    @staticmethod
    def key(config, scan) -> tuple:
        """What the split depends on (train/ and val/ folders: not the share, not the seed)."""
        if scan.split_from != "folder" or config.split_csv:
            return (config.data_dir, None, None, config.split_csv)
        return (config.data_dir, round(config.val_split or 0.2, 4), config.seed, None)

    @property
    def leaks(self) -> list:
        return list(self.result.leaks) if self.result is not None else []

    @property
    def checking(self) -> bool:
        return self._timer.isActive() or self._task is not None

    def request(self, config, scan, force: bool = False) -> None:
        """The folder or its split changed: check again unless this split was checked already
        (``force``: the folder's files may have changed)."""
        if scan is None or scan.error or not scan.counts:
            self._wanted = None
            self._cancel()
            self.hide()
            return
        key = self.key(config, scan)
        self._wanted = key
        if not force and key == self._checked:
            self._show()
            return
        if not force and key == self._running and self.checking:
            return  # another option changed (architecture, epochs...): the check on its way stands
        self._cancel()
        self.result, self._checked, self._running = None, None, key
        self._say(CHECKING_TEXT)
        self._timer.start(DEBOUNCE_MS)

    def pause(self) -> None:
        """A run starts: no check competes with it (a warning already shown stays)."""
        self._cancel()
        if self.result is None:
            self.hide()

    # ================================================================ internals

    def _cancel(self) -> None:
        self._timer.stop()
        self._running = None
        if self._task is not None:
            self._task.detach()
            self._task = None

    def _check(self) -> None:
        if self._wanted is None or self._wanted != self._running:
            return
        if self.busy():
            self._timer.start(BUSY_RETRY_MS)
            return
        key = self._wanted
        data_dir, val_split, seed, split_csv = key
        self._task = task = self.runner.start(jobs.check_leakage, data_dir, val_split or 0.2, seed or 0, split_csv)
        task.yielded.connect(self._on_stage)
        task.returned.connect(lambda check: self._on_checked(key, check))
        task.errored.connect(lambda exc, _details: self._on_failed(exc))

    def _on_stage(self, stage) -> None:
        if stage.total:
            self._say(f"{CHECKING_TEXT} {stage.done:,} / {stage.total:,}")

    def _on_checked(self, key: tuple, check) -> None:
        self._task, self._running = None, None
        if check is None:  # cancelled
            self.hide()
            return
        self.result, self._checked = check, key
        if self._wanted == key:
            self._show()

    def _on_failed(self, exc: BaseException) -> None:
        self._task, self._running = None, None
        if type(exc).__name__ == "TrainingError":
            self.hide()  # the folder cannot be trained on: the form already says why
            return
        self._say(f"Could not check for duplicate photos: {type(exc).__name__}: {exc}")

    def _say(self, text: str) -> None:
        """A muted line (checking, or a failed check), without the button."""
        self.label.setStyleSheet(MUTED_STYLE)
        self.label.setText(text)
        self.label.setToolTip("")
        self.show_button.hide()
        self.show()

    def _show(self) -> None:
        leaks = self.leaks
        if not leaks:
            self.hide()
            return
        n = len(leaks)
        groups = f"{n} groups of duplicate photos are" if n != 1 else "1 group of duplicate photos is"
        self.label.setStyleSheet(WARN_STYLE)
        # short: it shares a narrow column with the options; the advice is in the tooltip and on the Review page
        self.label.setText(f"⚠ {groups} split across train and validation: validation would measure "
                           "memory, not skill.")
        self.label.setToolTip(plain_tooltip(self._details(leaks)))
        self.show_button.show()
        self.show()

    def _details(self, leaks: list) -> str:
        """The first groups (a blank line between them: a long one wraps), then what to do."""
        groups = [" = ".join(f"{Path(path).parent.name}/{Path(path).name}" for path in group.paths)
                  for group in leaks[:5]]
        more = f"\n\n… and {len(leaks) - 5} more" if len(leaks) > 5 else ""
        return ("\n\n".join(groups) + more + "\n\nKeep one photo of each group before training (Show them "
                "opens them on the Review page).\n" + self.result.summary())

    def _on_show_clicked(self) -> None:
        if self.result is not None and self._checked is not None:
            self.show_requested.emit(self._checked[0], self.leaks)

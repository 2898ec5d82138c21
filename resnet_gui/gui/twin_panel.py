"""One line under a finished training run (Fine-tune page, Retrain, Calibrate, *Make fast int8
copy…*): the model's int8 twin being made in the background (core/engines/twin.py), a Cancel
button, then the twin's result line: what it cost and what it gained, or why there is none.

Shared by the pages (which do not import each other); nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from .widgets import ElidedLabel
from .styles import MUTED_STYLE, OK, box_style
from .tasks import Task, TaskRunner


def twin_job(weights: str, data_dir: str, split_csv: str | None, val_split: float, seed: int, *, should_stop):
    """The core's twin of a run as a TaskRunner job: its progress lines, then its TwinResult."""
    from ..core.engines.twin import twin_of_run

    return (yield from twin_of_run(weights, data_dir, split_csv, val_split, seed, should_stop=should_stop))


class TwinPanel(QWidget):
    """``start(weights, data_dir, ...)``; ``made(path)`` when a twin was written (the window may
    reopen that model to use it). Hidden until a twin is started."""

    made = Signal(str)  # the weights whose twin was just written

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(self, name="int8 twin")
        self.task: Task | None = None
        self.result = None  # the core's TwinResult of the last twin that finished
        self.weights = ""
        self.line = ElidedLabel("", elide=Qt.TextElideMode.ElideRight)  # a long note never widens the window
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel)
        self.cancel_button.setToolTip("Stop making the int8 copy; the trained model is saved already")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.cancel_button)
        self.hide()

    @property
    def running(self) -> bool:
        return self.task is not None

    def text(self) -> str:
        return self.line.text()

    def start(self, weights: str, data_dir: str, split_csv: str | None = None, val_split: float = 0.2,
              seed: int = 0) -> None:
        self.weights, self.result = str(weights), None
        self._say("Making the fast int8 copy of the model in the background…")
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.show()
        self.task = task = self.runner.start(twin_job, self.weights, str(data_dir), split_csv, val_split, seed)
        task.yielded.connect(lambda line: self._say(f"Fast int8 copy: {line}…"))
        task.returned.connect(self._on_returned)
        task.errored.connect(lambda exc, _d: self._say(f"int8 twin not made: {type(exc).__name__}: {exc}"))
        task.finished.connect(lambda: self._on_finished(task))

    def cancel(self) -> None:
        if self.task is not None and not self.task.should_stop():
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self._say("Cancelling the int8 copy… (after the current step; nothing is written)")

    def _on_returned(self, result) -> None:
        self.result = result
        if result is None:
            return
        self._say(result.note, box_style(OK, padding=1) if result.out else MUTED_STYLE)
        if result.out:
            self.made.emit(self.weights)

    def _on_finished(self, task: Task) -> None:
        if task is self.task:  # not an earlier twin that a newer run replaced
            self.task = None
            self.cancel_button.hide()

    def _say(self, text: str, style: str = MUTED_STYLE) -> None:
        self.line.setStyleSheet(style)
        self.line.setText(text)

    def shutdown(self) -> bool:
        self.task = None
        return self.runner.shutdown()


class TwinDialog(QDialog):
    """*Make fast int8 copy…* for a model without a twin (plain weights, or trained before
    twins): a labeled folder of its classes, split as ``train`` splits it (80 % calibrate,
    20 % check), then the same twin as after training. ``made(weights)`` when written."""

    made = Signal(str)

    def __init__(self, weights: str, parent=None) -> None:
        super().__init__(parent)
        self.weights = str(weights)
        self.setWindowTitle("Make fast int8 copy")
        intro = QLabel(f"An int8 copy of {Path(self.weights).name} runs about 2x faster on the CPU; classify then "
                       "uses it by default. Give a labeled folder of the model's classes (one subfolder per class): "
                       "80 % of it calibrates int8, 20 % checks it. The copy is refused when it agrees with the "
                       "model on fewer than 99 % of those photos or loses more than 1 point of accuracy.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.folder_edit = QLineEdit(str(Path(self.weights).parent))
        browse = QPushButton("Browse…", clicked=self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        self.panel = TwinPanel()
        self.panel.made.connect(self.made)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("&Make", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.clicked.connect(self.start)
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.panel)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Labeled folder of the model's classes", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _update(self) -> None:
        self.start_button.setEnabled(not self.panel.running)

    def start(self) -> bool:
        folder = self.folder_edit.text().strip()
        if self.panel.running or not folder:
            return False
        self.panel.start(self.weights, folder)
        self.start_button.setEnabled(False)
        self.panel.task.finished.connect(self._update)
        return True

    def reject(self) -> None:
        self.panel.cancel()  # closing stops it: nothing is written
        super().reject()

    def shutdown(self) -> bool:
        return self.panel.shutdown()


def add_twin_action(menu, window) -> QAction:
    """*Make fast int8 copy…* in ``menu``, for the model of ``window.classify_page``: enabled while
    it is PyTorch weights that run without an int8 copy. A copy made is used at once."""
    from .export_dialog import exportable

    page = window.classify_page
    action = QAction("Make fast int8 &copy…", window)
    action.setToolTip("Make an int8 copy of these weights, checked on your photos, that classify uses by default "
                      "(about 2x faster on the CPU)")
    action.setStatusTip(action.toolTip())

    def update(*_args) -> None:
        action.setEnabled(exportable(page.model) and " int8 " not in f" {page.model_bar.engine_text} ")

    update()
    page.model_loaded.connect(update)
    dialogs: list[TwinDialog] = []

    def open_dialog() -> None:
        if not action.isEnabled():
            return
        if dialogs and (dialogs[-1].isVisible() or dialogs[-1].panel.running):
            dialogs[-1].show()
            dialogs[-1].raise_()
            return
        for old in dialogs:
            old.deleteLater()
        dialog = TwinDialog(page.model.source, window)
        dialog.made.connect(page.use_model)  # reopened, the weights find their twin
        dialogs[:] = [dialog]
        QApplication.instance().aboutToQuit.connect(dialog.shutdown)
        dialog.open()

    action.triggered.connect(open_dialog)
    action.dialogs = dialogs
    menu.addAction(action)
    return action

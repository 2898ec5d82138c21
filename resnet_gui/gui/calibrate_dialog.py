"""*Calibrate…*: add "not one of my classes" and honest confidence to a model, from a labeled
folder of its classes. Runs the core's ``calibrate_model`` (what ``resnet-gui calibrate`` runs)
on a TaskRunner, with progress and Cancel; writes a NEW checkpoint beside the model (the model
itself is never touched, nor an earlier calibration), then offers to use it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from .styles import ERROR_STYLE, MUTED_STYLE, OK, box_style, plain_tooltip
from .tasks import Task, TaskRunner
from .twin_panel import TwinPanel

# the core's refusals, already one clear line each (others get their type in front)
ONE_LINE_ERRORS = {"CalibrationError", "WeightsError", "OutputError", "DeviceError"}
CALIBRATED_SUFFIX = ".calibrated"  # as core.trust.calibrate's default_out: model.pt -> model.calibrated.pt


def free_calibrated_path(weights: str | Path) -> Path:
    """``model.calibrated.pt`` beside ``weights``, else ``model.calibrated-2.pt``, ...: a name
    no file has yet (never the model, never an earlier calibration)."""
    from ..core.paths import first_free

    weights = Path(weights)
    return first_free(lambda n: weights.with_name(f"{weights.stem}{CALIBRATED_SUFFIX}{'' if n == 1 else f'-{n}'}.pt"))


class CalibrateDialog(QDialog):
    """``CalibrateDialog(weights, data_dir, device)``; ``use_requested(path)`` when the user
    takes the calibrated model."""

    use_requested = Signal(str)

    def __init__(self, weights: str, data_dir: str = "", device: str = "auto", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibrate the model")
        self.weights = str(weights)
        self.device = device
        self.out: Path | None = None  # the file written, once done
        self.runner = TaskRunner(self, name="calibrate")
        self._task: Task | None = None

        intro = QLabel("Adds \u201cnot one of my classes\u201d (an out-of-class threshold that 95 % of held-out "
                       "photos of its classes pass) and confidence that means what it says (a temperature) to the "
                       "model, from a labeled folder of its classes: one subfolder per class, or train/ and val/.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        model = QLabel(Path(self.weights).name)
        model.setTextFormat(Qt.TextFormat.PlainText)
        model.setToolTip(plain_tooltip(self.weights))
        self.folder_edit = QLineEdit(data_dir, placeholderText="a folder with one subfolder per class")
        self.folder_edit.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QWidget()
        row = QHBoxLayout(folder_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        self.out_label = QLabel()
        self.out_label.setTextFormat(Qt.TextFormat.PlainText)
        self.out_label.setStyleSheet(MUTED_STYLE)
        form = QFormLayout()
        form.addRow("Model", model)
        form.addRow("Labeled &folder", folder_row)
        form.addRow("Writes", self.out_label)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # folder and class names are shown as they are
        self.message.setWordWrap(True)
        self.message.hide()

        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("&Calibrate", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button = self.buttons.addButton("&Use it", QDialogButtonBox.ButtonRole.ApplyRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.use_button.hide()
        self.start_button.clicked.connect(self.start)
        self.use_button.clicked.connect(self._use)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.folder_edit.textChanged.connect(self._update)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        self.twin = TwinPanel()  # the calibrated model's int8 twin (closing the dialog stops it)
        layout.addWidget(self.twin)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())
        self._update()

    @property
    def running(self) -> bool:
        return self._task is not None

    def _update(self) -> None:
        self.start_button.setEnabled(not self.running and bool(self.folder_edit.text().strip()))
        if self.out is None:
            self.out_label.setText(f"{free_calibrated_path(self.weights).name}, beside the model (the model itself "
                                   "stays as it is)")

    def _browse(self) -> None:
        data_dir = QFileDialog.getExistingDirectory(self, "Labeled folder of the model's classes",
                                                    self.folder_edit.text() or str(Path(self.weights).parent))
        if data_dir:
            self.folder_edit.setText(data_dir)

    def start(self) -> None:
        from ..core.trust.calibrate import calibrate_model

        data_dir = self.folder_edit.text().strip()
        if self.running or not data_dir:
            return
        self.out = None
        out = free_calibrated_path(self.weights)
        self._say("Starting…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.use_button.hide()
        self.cancel_button.setText("Cancel")
        self._task = self.runner.start(calibrate_model, self.weights, data_dir, str(out), device=self.device)
        self._task.yielded.connect(self._on_stage)
        self._task.returned.connect(self._on_done)
        self._task.errored.connect(self._on_error)
        self._update()

    def _on_stage(self, stage) -> None:
        message, done, total = getattr(stage, "message", str(stage)), getattr(stage, "done", 0), getattr(stage, "total", 0)
        self._say(message)
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"{done} / {total}")
        else:
            self.progress.setRange(0, 0)

    def _on_done(self, result) -> None:
        self._finish()
        if result is None:
            self._say("Cancelled: nothing was written.")
            return
        self.out = Path(result.out)
        skipped = f"; {len(result.skipped)} unreadable photos skipped" if result.skipped else ""
        names = f"\n{result.names_note[0].upper()}{result.names_note[1:]}." if result.names_note else ""
        self._say(f"Wrote {self.out.name}{skipped}.{names}\n{result.trust.describe()}", box_style(OK))
        self.out_label.setText(str(self.out))
        self.use_button.show()
        self.use_button.setDefault(True)
        self.cancel_button.setText("Close")
        # the split calibrate_model made (its defaults: 10 % held out, seed 0)
        self.twin.start(str(self.out), self.folder_edit.text().strip(), None, 0.1, 0)

    def _on_error(self, exc: Exception, _details: str) -> None:
        self._finish()
        one_line = type(exc).__name__ in ONE_LINE_ERRORS and str(exc)
        self._say(f"Cannot calibrate: {one_line or f'{type(exc).__name__}: {exc}'}", ERROR_STYLE)

    def _finish(self) -> None:
        self._task = None
        self.progress.hide()
        self.cancel_button.setText("Close")
        self._update()

    def _say(self, text: str, style: str = "") -> None:
        self.message.setText(text)
        self.message.setStyleSheet(style)
        self.message.show()
        # grow to fit a long message rather than squash the form above it
        layout = self.layout()
        width = self.width()
        needed = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
        if needed > self.height():
            self.resize(width, needed)

    def _use(self) -> None:
        if self.out is not None:
            self.use_requested.emit(str(self.out))
            self.accept()

    def _cancel_or_close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._say("Cancelling…")
        else:
            self.reject()

    def reject(self) -> None:
        if self._task is not None:  # Esc or the title bar's close while it runs: stop it first
            self._task.cancel()
        super().reject()

    def shutdown(self) -> bool:
        self._task = None
        ok = self.twin.shutdown()
        return self.runner.shutdown() and ok

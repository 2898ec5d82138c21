"""*File > Export model…*: the loaded weights written as a self-describing ONNX file (fp32, or
int8 calibrated on the user's photos), through the core's ``export_model`` generator on a
TaskRunner: its lines appear as they come, Cancel stops it between steps and then nothing is
written, and a refusal or a failure is one line.

The window adds the action with :func:`add_export_action`; nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QApplication, QButtonGroup, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QProgressBar, QPushButton,
                               QRadioButton, QVBoxLayout, QWidget)

from ..core.stop import StopFlag
from .styles import ERROR_STYLE, MUTED_STYLE, OK, box_style, plain_tooltip
from .tasks import Task, TaskRunner

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors")  # what can be exported (not an .onnx)
PHOTOS_HINT = {
    "fp32": "Optional: photos to check the export on (else generated noise images).",
    "int8": "Needed: 100–300 of the photos the model will see, to calibrate int8 on (class subfolders "
            "also give an accuracy check; int8 is refused when it costs more than 1 point).",
}


def export_job(weights: str, out: str, int8: bool, photos: str, *, should_stop: StopFlag):
    """The core's export as a TaskRunner job (no Qt): its progress lines, then its ExportResult."""
    from ..core.engines.pipeline import export_model

    return (yield from export_model(weights, out, int8=int8, calibrate=photos if int8 else None,
                                    check=(photos or None) if not int8 else None, should_stop=should_stop))


def default_out(weights: str, int8: bool) -> str:
    """Named as ``resnet-gui export`` names it (model.onnx, model.int8.onnx), beside the weights,
    or in the user's models folder for a shipped model (never inside the install)."""
    from ..resources import output_folder_for

    path = Path(weights)
    return str(output_folder_for(path) / (path.stem + (".int8.onnx" if int8 else ".onnx")))


class ExportDialog(QDialog):
    """Export ``weights`` (a .pt / .pth / .safetensors file); ``use_model`` opens the result in the window."""

    def __init__(self, weights: str, parent: QWidget | None = None,
                 use_model: Callable[[str], None] | None = None) -> None:
        super().__init__(parent)
        self.weights = str(weights)
        self.use_model = use_model
        self.runner: TaskRunner | None = None  # one per export: no idle thread outlives it
        self.task: Task | None = None
        self.result = None  # the core's ExportResult of the last export that finished
        self.error = ""  # the last one-line error
        self._out_custom = False
        self.setWindowTitle("Export model")
        self._build()
        self._on_precision_changed()

    # ================================================================ building

    def _build(self) -> None:
        model = QLabel(Path(self.weights).name)
        model.setTextFormat(Qt.TextFormat.PlainText)
        model.setToolTip(plain_tooltip(self.weights))
        self.fp32_radio = QRadioButton("fp32: the same numbers as PyTorch")
        self.int8_radio = QRadioButton("int8: about 2x faster on the CPU, calibrated on your photos")
        self.fp32_radio.setChecked(True)
        self.precision = QButtonGroup(self)
        for radio in (self.fp32_radio, self.int8_radio):
            self.precision.addButton(radio)
            radio.toggled.connect(self._on_precision_changed)
        self.out_edit = QLineEdit()
        self.out_edit.textEdited.connect(lambda _text: setattr(self, "_out_custom", True))
        out_button = QPushButton("Browse…")
        out_button.clicked.connect(self._choose_out)
        self.photos_edit = QLineEdit()
        self.photos_edit.setPlaceholderText("a folder of photos")
        photos_button = QPushButton("Browse…")
        photos_button.clicked.connect(self._choose_photos)
        self.photos_hint = QLabel()
        self.photos_hint.setWordWrap(True)
        self.photos_hint.setStyleSheet(MUTED_STYLE)

        form = QFormLayout()
        form.addRow("Model", model)
        form.addRow("Precision", self.fp32_radio)
        form.addRow("", self.int8_radio)
        form.addRow("Photos", _row(self.photos_edit, photos_button))
        form.addRow("", self.photos_hint)
        form.addRow("Save as", _row(self.out_edit, out_button))

        self.log = QPlainTextEdit()  # plain text: the lines carry file and class names
        self.log.setReadOnly(True)
        self.log.setMinimumHeight(110)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("&Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button = self.buttons.addButton("&Use in the window", QDialogButtonBox.ButtonRole.ActionRole)
        self.use_button.setToolTip("Classify with the exported file")
        self.use_button.setVisible(False)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.use_button.clicked.connect(self._use_exported)
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(620, 420)

    # ================================================================ state

    @property
    def running(self) -> bool:
        return self.task is not None

    def int8(self) -> bool:
        return self.int8_radio.isChecked()

    def _on_precision_changed(self, *_args) -> None:
        self.photos_hint.setText(PHOTOS_HINT["int8" if self.int8() else "fp32"])
        if not self._out_custom:
            self.out_edit.setText(default_out(self.weights, self.int8()))

    def _choose_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export model as", self.out_edit.text(), "ONNX model (*.onnx)")
        if path:
            self.out_edit.setText(path)
            self._out_custom = True

    def _choose_photos(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Photos", self.photos_edit.text() or str(Path(self.weights).parent))
        if folder:
            self.photos_edit.setText(folder)

    # ================================================================ the export

    def problem(self) -> str:
        """Why the export cannot start, in one line ("" when it can); checked before any work."""
        from ..core.atomic import output_file_problem

        out, photos = self.out_edit.text().strip(), self.photos_edit.text().strip()
        if not out:
            return "Choose where to save the .onnx file."
        if Path(out).suffix.lower() != ".onnx":
            return f"{Path(out).name}: the file name must end in .onnx"
        if Path(out).resolve() == Path(self.weights).resolve():
            return "The export would replace the weights it is made from: choose another file name."
        if self.int8() and not photos:
            return "int8 needs a folder of photos to calibrate on (100–300 of the photos the model will see)."
        if photos and not Path(photos).is_dir():
            return f"{photos}: no such folder"
        return output_file_problem(out, example="model.onnx")

    def start(self) -> bool:
        """Start the export (False, with the reason shown, when it cannot start)."""
        if self.running:
            return False
        problem = self.problem()
        if problem:
            self._show_message(problem, error=True)
            return False
        self.error, self.result = "", None
        self.log.clear()
        self._show_message("")
        self.use_button.setVisible(False)
        self._set_running(True)
        out = self.out_edit.text().strip()
        self.runner = TaskRunner(self, name="export")
        task = self.runner.start(export_job, self.weights, out, self.int8(), self.photos_edit.text().strip())
        task.yielded.connect(self.log.appendPlainText)
        task.returned.connect(self._on_returned)
        task.errored.connect(self._on_errored)
        task.finished.connect(self.shutdown)
        self.task = task
        return True

    def cancel(self) -> None:
        """Stop between steps; a step under way (an int8 calibration) finishes first."""
        if self.task is not None and not self.task.should_stop():
            self.task.cancel()
            self._show_message("Cancelling… (after the current step; nothing is written)")

    def _on_returned(self, result) -> None:
        self._set_running(False)
        if result is None:  # the core stopped before writing
            self._show_message("Cancelled: nothing was written.")
            return
        self.result = result
        self.use_button.setVisible(self.use_model is not None)
        self._show_message(f"Exported {result.precision} to {result.out}", ok=True)

    def _on_errored(self, exc: Exception, _details: str) -> None:
        from ..core.atomic import OutputError
        from ..core.engines.pipeline import ExportError
        from ..core.engines.quantize import QuantizeError
        from ..core.model.checkpoint import WeightsError

        self._set_running(False)
        expected = isinstance(exc, (WeightsError, ExportError, QuantizeError, OutputError))
        text = " ".join(str(exc).split()) if expected else f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        self.error = f"Export failed: {text}"
        self._show_message(self.error, error=True)

    def _set_running(self, running: bool) -> None:
        if not running:
            self.task = None
        self.busy.setVisible(running)
        self.export_button.setEnabled(not running)
        self.close_button.setText("Cancel" if running else "Close")
        for widget in (self.fp32_radio, self.int8_radio, self.out_edit, self.photos_edit):
            widget.setEnabled(not running)

    def _show_message(self, text: str, error: bool = False, ok: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else box_style(OK) if ok else MUTED_STYLE)
        self.message.setVisible(bool(text))

    def _use_exported(self) -> None:
        if self.result is not None and self.use_model is not None:
            self.use_model(str(self.result.out))
            self.accept()

    def reject(self) -> None:
        """Close, or while exporting: cancel (the dialog stays until the export has stopped)."""
        if self.running:
            self.cancel()
            return
        super().reject()

    def shutdown(self) -> bool:
        """End the export's thread: at once after an export, or cancel and wait (the app quits)."""
        runner, self.runner = self.runner, None
        if runner is None:
            return True
        ended = runner.shutdown()
        runner.deleteLater()
        return ended


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
    return row


def exportable(info) -> bool:
    """A loaded model (core ModelInfo) whose weights the export can read (not already an .onnx)."""
    return info is not None and Path(info.source).suffix.lower() in TORCH_SUFFIXES and Path(info.source).is_file()


def add_export_action(menu, window) -> QAction:
    """*Export model…* in ``menu``, exporting the model of ``window.classify_page``; enabled
    while that model's weights can be exported."""
    page = window.classify_page
    action = QAction("Export &model…", window)
    action.setToolTip("Write the loaded weights as an ONNX file (fp32, or int8 calibrated on your photos)")
    action.setStatusTip(action.toolTip())
    action.setEnabled(exportable(page.model))
    page.model_loaded.connect(lambda info, _device: action.setEnabled(exportable(info)))
    dialogs: list[ExportDialog] = []  # the open dialog, kept alive while it runs

    def open_dialog() -> None:
        if not exportable(page.model):
            return
        if dialogs and (dialogs[-1].isVisible() or dialogs[-1].running):
            dialogs[-1].show()
            dialogs[-1].raise_()
            return
        for old in dialogs:
            old.deleteLater()  # its export has ended, and with it its thread
        dialog = ExportDialog(page.model.source, window, page.use_model)
        dialogs[:] = [dialog]
        QApplication.instance().aboutToQuit.connect(dialog.shutdown)
        dialog.open()

    action.triggered.connect(open_dialog)
    action.dialogs = dialogs  # for tests and for the window: the dialog last opened
    menu.addAction(action)
    return action

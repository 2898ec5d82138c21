"""The strip under the toolbar saying which model is in use, or what to do without one."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton

from ..styles import plain_tooltip

if TYPE_CHECKING:
    from ...core.model.checkpoint import ModelInfo

_STYLES = {
    "ok": "QFrame#modelBar { background: palette(alternate-base); border-bottom: 1px solid palette(mid); }",
    "busy": "QFrame#modelBar { background: #eef4fc; border-bottom: 1px solid #b9cfee; }",
    "none": "QFrame#modelBar { background: #fff4e0; border-bottom: 1px solid #f0c987; }",
    "error": "QFrame#modelBar { background: #fde8e8; border-bottom: 1px solid #eeb0b0; }",
}


class ModelBar(QFrame):
    open_requested = Signal()
    download_requested = Signal()
    cancel_download_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBar")
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setWordWrap(True)
        self.open_button = QPushButton("Open weights…")
        self.open_button.clicked.connect(self.open_requested)
        self.download_button = QPushButton("Download ImageNet weights…")
        self.download_button.clicked.connect(self.download_requested)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.cancel_download_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.text, 1)
        for widget in (self.progress, self.cancel_button, self.open_button, self.download_button):
            layout.addWidget(widget)
        self.state = ""
        self.show_none()

    def _set(self, state: str, html: str, buttons: bool = False, progress: bool = False) -> None:
        self.state = state
        self.setStyleSheet(_STYLES[state])
        self.text.setText(html)
        self.open_button.setVisible(buttons)
        self.download_button.setVisible(buttons)
        self.progress.setVisible(progress)
        self.cancel_button.setVisible(progress)

    def show_none(self) -> None:
        self._set("none", "<b>No model loaded.</b> Open a weights file (.pt, .pth, .safetensors), drop one on the "
                  "window, or download ImageNet weights (needs internet, about 45–100 MB).", buttons=True)

    def show_loading(self, path: str) -> None:
        self._set("busy", f"Loading <b>{_esc(os.path.basename(path))}</b>… "
                  "<span style='color:gray'>(the first load also starts PyTorch)</span>")

    def show_download(self, arch: str, done: int = 0, total: int = 0) -> None:
        if self.state != "busy" or not self.progress.isVisible():
            self._set("busy", f"Downloading <b>{_esc(arch)}</b> ImageNet weights…", progress=True)
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(f"{done / 1e6:.1f} / {total / 1e6:.1f} MB")
        else:
            self.progress.setRange(0, 0)

    def show_model(self, info: ModelInfo, device: str) -> None:
        """``device``: where it actually runs ("cpu", "cuda", "mps")."""
        names = info.class_names
        shown = ", ".join(names[:6]) + (f", … ({len(names) - 6} more)" if len(names) > 6 else "")
        self._set("ok", f"<b>{_esc(info.arch)}</b> · {info.num_classes} classes "
                  f"<span style='color:gray'>({_esc(shown)})</span> · "
                  f"<b>{_esc(os.path.basename(info.source))}</b> · on {device.upper()}")
        self.text.setToolTip(plain_tooltip(f"{info.source}\nclass names from: {info.class_names_from}"
                                           + "".join(f"\nnote: {n}" for n in info.notes)))

    def show_error(self, message: str) -> None:
        self._set("error", f"<b>Could not load the model:</b> {_esc(message)}", buttons=True)



def _esc(text: str) -> str:
    return html.escape(text, quote=False)

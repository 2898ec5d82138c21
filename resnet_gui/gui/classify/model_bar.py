"""The strip under the toolbar saying which model is in use and which engine runs it, with the
engine choice, or what to do without one."""

from __future__ import annotations

import html
import os
import re
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton

from ...constants import WEIGHT_SUFFIXES
from ...core.text import display_safe
from ..styles import plain_tooltip
from .engine_choice import EngineCombo

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
    engine_changed = Signal(str)  # the user chose another engine: the model is to be opened again

    def __init__(self, parent=None, settings=None) -> None:
        """``settings``: the window's AppSettings, where the engine choice is remembered."""
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
        self.engine_combo = EngineCombo(settings)
        self.engine_combo.engine_changed.connect(self.engine_changed)
        self.engine_label = QLabel("&Engine")
        self.engine_label.setBuddy(self.engine_combo)
        layout = QHBoxLayout(self)
        # thin margins: the combo and the buttons set the height, which small screens need
        layout.setContentsMargins(10, 2, 10, 2)
        layout.addWidget(self.text, 1)
        for widget in (self.progress, self.cancel_button, self.open_button, self.download_button,
                       self.engine_label, self.engine_combo):
            layout.addWidget(widget)
        self.state = ""
        self.engine_text = ""  # what runs the model, in words (the core's Opened.description)
        self.engine_notes: list[str] = []
        self.show_none()

    def _set(self, state: str, html: str, buttons: bool = False, progress: bool = False) -> None:
        self.state = state
        self.setStyleSheet(_STYLES[state])
        self.text.setText(html)
        self.open_button.setVisible(buttons)
        self.download_button.setVisible(buttons)
        self.progress.setVisible(progress)
        self.cancel_button.setVisible(progress)

    def engine(self) -> str:
        """The chosen engine: one of constants.ENGINE_CHOICES."""
        return self.engine_combo.engine()

    def describe_engine(self, description: str, notes: list[str] | None = None) -> None:
        """What runs the model now (the load job's ModelReady.description and .notes); shown
        by the next :meth:`show_model`."""
        self.engine_text, self.engine_notes = description, list(notes or [])

    def show_none(self) -> None:
        self._set("none", f"<b>No model loaded.</b> Open a weights file ({', '.join(WEIGHT_SUFFIXES)}), drop one on "
                  "the window, or download ImageNet weights (needs internet, about 45–100 MB).", buttons=True)

    def show_loading(self, path: str) -> None:
        self._set("busy", f"Loading <b>{_esc(os.path.basename(path))}</b>…")

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
        """``device``: where it actually runs ("cpu", "cuda", "mps"); the engine as last described."""
        names = info.class_names
        # each name isolated on its own: an override in one cannot reorder the next
        shown = ", ".join(map(display_safe, names[:6])) + (f", … ({len(names) - 6} more)" if len(names) > 6 else "")
        # the engine and where it runs; which file it runs from is in the tooltip
        runs = _esc(_device_upper(self.engine_text.split(" (")[0])) if self.engine_text else f"on {device.upper()}"
        notes = [n for n in dict.fromkeys(list(info.notes) + self.engine_notes)]  # each note once
        note = f" · <span style='color:#8a5a00'>note: {_esc(_short(notes[0]))}</span>" if notes else ""
        self._set("ok", f"<b>{_esc(info.arch)}</b> · {info.num_classes} classes "
                  f"<span style='color:gray'>({html.escape(shown, quote=False)})</span> · "
                  f"<b>{_esc(os.path.basename(info.source))}</b> · {runs}{note}")
        engine = f"\nengine: {self.engine_text}" if self.engine_text else ""
        self.text.setToolTip(plain_tooltip(f"{info.source}\nclass names from: {info.class_names_from}{engine}"
                                           + "".join(f"\nnote: {n}" for n in notes)))

    def show_error(self, message: str) -> None:
        self._set("error", f"<b>Could not load the model:</b> {_esc(message)}", buttons=True)


def _device_upper(description: str) -> str:
    """"onnxruntime int8 on cpu (…)" -> "… on CPU (…)", as the window names devices."""
    return re.sub(r"\bon (cpu|cuda(?::\d+)?|mps)\b", lambda m: "on " + m.group(1).upper(), description)


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _esc(text: str) -> str:
    """Names from files, isolated: a bidi override in a class name cannot reverse the bar."""
    return html.escape(display_safe(text), quote=False)

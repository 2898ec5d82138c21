"""The engine choice (Auto / PyTorch / ONNX Runtime / OpenVINO), remembered in the settings.

An engine that is not installed stays listed, greyed out, with a tooltip saying how to get
it. Nothing is imported to find out: the window starts before any runtime loads.
"""

from __future__ import annotations

import importlib.util

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox

from ...constants import ENGINE_CHOICES

ENGINE_LABELS = {"auto": "Auto", "torch": "PyTorch", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}
ENGINE_TIPS = {
    "auto": "PyTorch on a GPU; on the CPU ONNX Runtime (the shipped int8 model, or a cached conversion "
            "of your weights, made once)",
    "torch": "PyTorch: .pt / .pth / .safetensors weights, on the CPU or a GPU",
    "onnxruntime": "ONNX Runtime on the CPU: .onnx files, and .pt weights converted once (cached)",
    "openvino": "OpenVINO on the CPU: .onnx files, and .pt weights converted once (cached)",
}
PACKAGES = {"onnxruntime": "onnxruntime", "openvino": "openvino"}  # engine -> the module it needs


def installed(engine: str) -> bool:
    """Whether ``engine``'s runtime can be imported (found, not imported: that costs seconds)."""
    module = PACKAGES.get(engine)
    return module is None or importlib.util.find_spec(module) is not None


class EngineCombo(QComboBox):
    engine_changed = Signal(str)  # a user's choice (not a restore from the settings)

    def __init__(self, settings=None, parent=None) -> None:
        """``settings``: the window's AppSettings (None: the choice is not remembered)."""
        super().__init__(parent)
        self.settings = settings
        self.setToolTip("Which engine classifies (see the tooltip of each choice)")
        for value in ENGINE_CHOICES:
            self.addItem(ENGINE_LABELS[value], value)
            index = self.count() - 1
            tip = ENGINE_TIPS[value]
            if not installed(value):
                self.model().item(index).setEnabled(False)
                tip = f"{ENGINE_LABELS[value]} is not installed here (pip install {PACKAGES[value]})"
            self.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        self.set_engine(self.saved())
        self.currentIndexChanged.connect(self._on_changed)

    def engine(self) -> str:
        return self.currentData() or "auto"

    def saved(self) -> str:
        """The remembered choice; "auto" when none, unknown or no longer installed."""
        if self.settings is None:
            return "auto"
        value = (self.settings.engine or "auto").lower()
        return value if value in ENGINE_CHOICES and installed(value) else "auto"

    def set_engine(self, engine: str) -> None:
        """Select ``engine`` without announcing it (a restore, not a user's choice)."""
        index = self.findData(engine if engine in ENGINE_CHOICES and installed(engine) else "auto")
        self.blockSignals(True)
        self.setCurrentIndex(index)
        self.blockSignals(False)

    def _on_changed(self, _index: int) -> None:
        if self.settings is not None:
            self.settings.engine = self.engine()
        self.engine_changed.emit(self.engine())

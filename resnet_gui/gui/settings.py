"""What the window remembers between runs, over QSettings.

``AppSettings()`` uses the organisation/application names set on the QApplication;
tests pass ``AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))``.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "ResNetClassifier"
APPLICATION = "ResNet Classifier"
MAX_RECENT = 8
DEFAULT_TOPK = 5
DEVICE_VALUES = ("auto", "cpu", "cuda", "mps")


class AppSettings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qs = qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)

    # ------------------------------------------------------------ helpers

    def _str(self, key: str, default: str = "") -> str:
        value = self.qs.value(key, default)
        return str(value) if value is not None else default

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self.qs.value(key, default))
        except (TypeError, ValueError):
            return default

    def _bytes(self, key: str) -> QByteArray:
        value = self.qs.value(key)
        return value if isinstance(value, QByteArray) else QByteArray()

    def sync(self) -> None:
        self.qs.sync()

    # ------------------------------------------------------------ values

    @property
    def geometry(self) -> QByteArray:
        return self._bytes("window/geometry")

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self.qs.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray:
        return self._bytes("window/state")

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self.qs.setValue("window/state", value)

    def splitter(self, name: str) -> QByteArray:
        return self._bytes(f"window/splitter_{name}")

    def set_splitter(self, name: str, value: QByteArray) -> None:
        self.qs.setValue(f"window/splitter_{name}", value)

    @property
    def image_folder(self) -> str:
        return self._str("paths/image_folder")

    @image_folder.setter
    def image_folder(self, value: str) -> None:
        self.qs.setValue("paths/image_folder", str(value))

    @property
    def weights_folder(self) -> str:
        return self._str("paths/weights_folder")

    @weights_folder.setter
    def weights_folder(self, value: str) -> None:
        self.qs.setValue("paths/weights_folder", str(value))

    @property
    def export_folder(self) -> str:
        return self._str("paths/export_folder")

    @export_folder.setter
    def export_folder(self, value: str) -> None:
        self.qs.setValue("paths/export_folder", str(value))

    @property
    def train_folder(self) -> str:
        """Where the Fine-tune panel's folder dialog opens."""
        return self._str("paths/train_folder")

    @train_folder.setter
    def train_folder(self, value: str) -> None:
        self.qs.setValue("paths/train_folder", str(value))

    @property
    def weights(self) -> str:
        """The weights file last loaded ('' if none)."""
        return self._str("model/weights")

    @weights.setter
    def weights(self, value: str) -> None:
        self.qs.setValue("model/weights", str(value))

    @property
    def recent_weights(self) -> list[str]:
        value = self.qs.value("model/recent", [])
        if isinstance(value, str):  # QSettings gives a lone string for a one-item list
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent_weights(self, path: str) -> list[str]:
        recent = [str(path)] + [p for p in self.recent_weights if p != str(path)]
        recent = recent[:MAX_RECENT]
        self.qs.setValue("model/recent", recent)
        return recent

    def clear_recent_weights(self) -> None:
        self.qs.setValue("model/recent", [])

    @property
    def topk(self) -> int:
        return max(1, min(20, self._int("view/topk", DEFAULT_TOPK)))

    @topk.setter
    def topk(self, value: int) -> None:
        self.qs.setValue("view/topk", int(value))

    @property
    def low_confidence(self) -> int:
        """Percent below which a top-1 is marked."""
        return max(0, min(100, self._int("view/low_confidence", 50)))

    @low_confidence.setter
    def low_confidence(self, value: int) -> None:
        self.qs.setValue("view/low_confidence", int(value))

    @property
    def device(self) -> str:
        value = self._str("model/device", "auto").lower()
        return value if value in DEVICE_VALUES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self.qs.setValue("model/device", str(value))

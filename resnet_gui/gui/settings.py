"""What the window remembers between runs, over QSettings.

``AppSettings()`` uses the organisation/application names set on the QApplication;
tests pass ``AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))``.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from ..constants import APP_ID, APP_TITLE, DEVICE_CHOICES

# where the settings live: these two values must never change, or users lose their settings
ORGANIZATION = APP_ID  # "ResNetClassifier"
APPLICATION = APP_TITLE  # "ResNet Classifier"
MAX_RECENT = 8
DEFAULT_TOPK = 5


class _Text:
    """A string value stored under ``key`` ('' when unset)."""

    def __init__(self, key: str, doc: str = "") -> None:
        self.key, self.__doc__ = key, doc

    def __get__(self, settings: AppSettings | None, owner=None):
        return self if settings is None else settings._str(self.key)

    def __set__(self, settings: AppSettings, value: str) -> None:
        settings.qs.setValue(self.key, str(value))


class _Bytes(_Text):
    """Saved window state (geometry, toolbars): an empty QByteArray when unset."""

    def __get__(self, settings: AppSettings | None, owner=None):
        return self if settings is None else settings._bytes(self.key)

    def __set__(self, settings: AppSettings, value: QByteArray) -> None:
        settings.qs.setValue(self.key, value)


class _Int(_Text):
    """A whole number kept within ``low..high`` (a hand-edited file cannot break the window)."""

    def __init__(self, key: str, default: int, low: int, high: int, doc: str = "") -> None:
        super().__init__(key, doc)
        self.default, self.low, self.high = default, low, high

    def __get__(self, settings: AppSettings | None, owner=None):
        return self if settings is None else max(self.low, min(self.high, settings._int(self.key, self.default)))

    def __set__(self, settings: AppSettings, value: int) -> None:
        settings.qs.setValue(self.key, int(value))


class _Flag(_Text):
    """True or False, stored as "true" / "false" (``default`` while unset)."""

    def __init__(self, key: str, doc: str = "", default: bool = False) -> None:
        super().__init__(key, doc)
        self.default = default

    def __get__(self, settings: AppSettings | None, owner=None):
        if settings is None:
            return self
        return settings._str(self.key, "true" if self.default else "false").lower() == "true"

    def __set__(self, settings: AppSettings, value: bool) -> None:
        settings.qs.setValue(self.key, "true" if value else "false")


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

    geometry = _Bytes("window/geometry")
    window_state = _Bytes("window/state")

    def splitter(self, name: str) -> QByteArray:
        return self._bytes(f"window/splitter_{name}")

    def set_splitter(self, name: str, value: QByteArray) -> None:
        self.qs.setValue(f"window/splitter_{name}", value)

    image_folder = _Text("paths/image_folder")
    weights_folder = _Text("paths/weights_folder")
    export_folder = _Text("paths/export_folder")
    train_folder = _Text("paths/train_folder", "Where the Fine-tune page's folder dialog opens.")
    weights = _Text("model/weights", "The weights file last loaded ('' if none).")
    engine = _Text("model/engine", "The engine chosen ('' when none: auto).")
    data_dir = _Text("label/dataset", "The dataset (one subfolder per class) the Label page, the photo loop "
                                      "and the Review page work on.")
    label_photos = _Text("label/photos", "The folder of photos the Label page shows.")
    label_move = _Flag("label/move", "The Label page moves photos instead of copying them.")
    review_folder = _Text("review/folder", "The folder the Review page checked last.")
    sort_destination = _Text("review/sort_destination", "The last *Sort into folders* destination.")
    sort_unknown = _Flag("review/sort_unknown", "*Sort into folders* puts the photos marked ? in _unknown/.",
                         default=True)

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

    topk = _Int("view/topk", DEFAULT_TOPK, 1, 20)
    low_confidence = _Int("view/low_confidence", 50, 0, 100, "Percent below which a top-1 is marked.")

    @property
    def device(self) -> str:
        value = self._str("model/device", "auto").lower()
        return value if value in DEVICE_CHOICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self.qs.setValue("model/device", str(value))

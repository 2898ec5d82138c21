"""The preview's heatmap: a *Heatmap* toggle and an opacity slider (:class:`HeatmapBar`), and the
background work behind them (:class:`Heatmaps`): one Grad-CAM per (photo, class), computed on a
TaskRunner of its own (``heatmap_jobs.heatmap``), kept in a small cache, and blended over the
photo in the GUI thread with QPainter (cheap: the slider never waits for the background)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

from ..styles import MUTED_STYLE, plain_tooltip
from ..tasks import TaskRunner
from .heatmap_jobs import HeatmapModels, HeatmapReady, HeatmapUnavailable, heatmap

CACHE_SIZE = 24  # heatmaps kept (a 1024 px photo and its map: ~4 MB each)
DEFAULT_OPACITY = 50


@dataclass
class HeatmapImages:
    photo: QImage
    heat: QImage  # over ``box`` only
    box: tuple[int, int, int, int]

    @classmethod
    def of(cls, ready: HeatmapReady) -> "HeatmapImages":
        left, top, right, bottom = ready.box
        # .copy(): the QImages own their pixels (the bytes they were made from go away)
        photo = QImage(ready.photo_rgb, ready.width, ready.height, 3 * ready.width, QImage.Format.Format_RGB888).copy()
        w, h = right - left, bottom - top
        heat = QImage(ready.heat_rgb, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        return cls(photo, heat, ready.box)

    def blended(self, opacity: float) -> QPixmap:
        """The photo with the heatmap over the model's crop at ``opacity`` (0..1)."""
        out = self.photo.convertToFormat(QImage.Format.Format_RGB32)
        painter = QPainter(out)
        painter.setOpacity(min(1.0, max(0.0, opacity)))
        painter.drawImage(self.box[0], self.box[1], self.heat)
        painter.end()
        return QPixmap.fromImage(out)


class Heatmaps(QObject):
    """``request(source, path, class_name)``; ``ready(path, class_name)`` or ``failed(path,
    class_name, message)`` follow, from the cache at once or from the background later. A newer
    request replaces one still waiting: only the photo on screen is worked on."""

    ready = Signal(str, str)
    failed = Signal(str, str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._runner: TaskRunner | None = None  # its thread starts with the first heatmap asked for
        self.models = HeatmapModels()  # touched only by the runner's jobs
        self._cache: OrderedDict[tuple[str, str, str], HeatmapImages | str] = OrderedDict()
        self._source = ""
        self.pending: tuple[str, str] | None = None  # (path, class) being computed

    @property
    def runner(self) -> TaskRunner:
        if self._runner is None:
            self._runner = TaskRunner(self, name="heatmap")
        return self._runner

    def set_source(self, source: str) -> None:
        """The weights the heatmaps come from (the model in use); a new one forgets the old maps."""
        if source != self._source:
            self._source = source
            self._cache.clear()
            self.cancel()

    def get(self, path: str, class_name: str) -> HeatmapImages | str | None:
        """The cached maps, or why there are none (a message), or None when not computed yet."""
        key = (self._source, path, class_name)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        return found

    def request(self, path: str, class_name: str) -> None:
        found = self.get(path, class_name)
        if isinstance(found, HeatmapImages):
            self.ready.emit(path, class_name)
            return
        if isinstance(found, str):
            self.failed.emit(path, class_name, found)
            return
        if self.pending == (path, class_name):
            return
        self.pending = (path, class_name)
        task = self.runner.start(heatmap, self.models, self._source, path, class_name)
        source = self._source
        task.returned.connect(lambda result: self._on_result(source, result))
        task.errored.connect(lambda exc, _details: self._on_result(
            source, HeatmapUnavailable(path, class_name, f"no heatmap: {type(exc).__name__}: {exc}")))

    def waiting_for(self, class_name: str) -> str:
        """What a heatmap not computed yet waits for, in words: the first one imports PyTorch
        (seconds on the CPU engines, which never load it) and reads the weights."""
        import sys

        if "torch" not in sys.modules:
            return f"loading PyTorch for the heatmap of {class_name} (the first takes several seconds)…"
        if self.models.key is None or self.models.key[0] != self._source:
            return f"reading the weights for the heatmap of {class_name}…"
        return f"computing the heatmap of {class_name}…"

    def cancel(self) -> None:
        self.pending = None
        if self._runner is not None:
            self._runner.cancel(detach=True)

    def _on_result(self, source: str, result) -> None:
        if result is None:
            return
        if self.pending == (result.path, result.class_name):
            self.pending = None
        if source != self._source:
            return
        key = (source, result.path, result.class_name)
        if isinstance(result, HeatmapReady):
            self._cache[key] = HeatmapImages.of(result)
        else:
            self._cache[key] = result.message
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if isinstance(result, HeatmapReady):
            self.ready.emit(result.path, result.class_name)
        else:
            self.failed.emit(result.path, result.class_name, result.message)

    def shutdown(self) -> bool:
        self.pending = None
        return self._runner.shutdown() if self._runner is not None else True


class HeatmapBar(QWidget):
    """[x] Heatmap  opacity ----o---  "for daisy" / "computing…" / why not."""

    toggled = Signal(bool)
    opacity_changed = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.toggle = QCheckBox("&Heatmap")
        self.toggle.setToolTip("Colour the parts of the photo that made the model say the class chosen in the "
                               "chart (Grad-CAM; red: decided it). Click a bar to choose another class.")
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=DEFAULT_OPACITY)
        self.slider.setToolTip("Heatmap opacity")
        self.slider.setMaximumWidth(140)
        self.slider.setEnabled(False)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # class names and errors are shown as they are
        self.status.setStyleSheet(MUTED_STYLE)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(QLabel("Opacity"))
        layout.addWidget(self.slider)
        layout.addWidget(self.status, 1)
        self.toggle.toggled.connect(self._on_toggled)
        self.slider.valueChanged.connect(lambda value: self.opacity_changed.emit(value / 100.0))

    @property
    def on(self) -> bool:
        return self.toggle.isChecked()

    def opacity(self) -> float:
        return self.slider.value() / 100.0

    def say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(plain_tooltip(text))

    def _on_toggled(self, on: bool) -> None:
        self.slider.setEnabled(on)
        if not on:
            self.say("")
        self.toggled.emit(on)

"""The selected image shown large, with its top-k bar chart; "not one of this model's classes"
in the title (or, for a model without that data, a hint with *Calibrate…*), and the Grad-CAM
heatmap of the class chosen in the chart over the photo (``heatmap.py``)."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from ...core.text import display_safe
from ..styles import MUTED_STYLE, plain_tooltip
from ..unknown_badge import UNKNOWN_COLOUR, score_note
from ..thumbnails import Thumbnails
from .heatmap import HeatmapBar, HeatmapImages, Heatmaps
from .topk_chart import TopKChart

if TYPE_CHECKING:
    from ...core.infer import Prediction
    from ...core.model.checkpoint import ModelInfo

PREVIEW_SIZE = 900  # longest side decoded for the large view


NEAREST_ABOVE = 4.0  # enlarged more than this (an 8x8 digit), pixels stay sharp squares, not a blur


def scaling_mode(picture: QSize, room: QSize) -> Qt.TransformationMode:
    """Smooth, except nearest-neighbour when a tiny picture is enlarged more than 4x."""
    if picture.isEmpty():
        return Qt.TransformationMode.SmoothTransformation
    factor = min(room.width() / picture.width(), room.height() / picture.height())
    return Qt.TransformationMode.FastTransformation if factor > NEAREST_ABOVE else Qt.TransformationMode.SmoothTransformation


class ScaledImage(QLabel):
    """A picture that keeps its aspect ratio as the label is resized."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 96)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_pixmap(self, pixmap: QPixmap | None, text: str = "") -> None:
        self._pixmap = pixmap
        if pixmap is None:
            self.setPixmap(QPixmap())
            self.setText(text)
        else:
            self._rescale()

    def has_picture(self) -> bool:
        return self._pixmap is not None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is not None:
            self.setPixmap(self._pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                               scaling_mode(self._pixmap.size(), self.size())))

    def sizeHint(self) -> QSize:
        return QSize(420, 320)


class PreviewPane(QWidget):
    """``show_item(item, k)``: big picture, file name, top-1 (or "not one of this model's
    classes") and the top-k chart; ``set_model(info)`` says which model made the results."""

    calibrate_requested = Signal()  # the hint's Calibrate… link: add out-of-class detection to the model

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._item: Prediction | None = None
        self._k = 5
        self._photo: QPixmap | None = None  # the item's photo, once decoded
        self._chosen = ""  # the class whose heatmap is shown ("": the item's top-1)
        self._threshold: float | None = None  # the model's out-of-class limit, when it has one
        self.low_threshold = 0.5
        thumbnails.loaded.connect(self._on_image)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)  # the names in it are escaped
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setStyleSheet("font-size: 14px;")
        self.title.setWordWrap(True)
        self.trust_hint = QLabel()
        self.trust_hint.setTextFormat(Qt.TextFormat.RichText)  # fixed text and a link, nothing from a file
        self.trust_hint.setStyleSheet(MUTED_STYLE)
        self.trust_hint.setWordWrap(True)  # wraps on a narrow pane: adds nothing to the window's minimum width
        self.trust_hint.linkActivated.connect(lambda _link: self.calibrate_requested.emit())
        self.trust_hint.hide()
        self.image = ScaledImage()
        self.chart = TopKChart()
        self.chart.class_chosen.connect(self.choose_class)
        self.heatmap_bar = HeatmapBar()
        self.heatmaps = Heatmaps(self)
        self.heatmaps.ready.connect(self._on_heatmap_ready)
        self.heatmaps.failed.connect(self._on_heatmap_failed)
        self.heatmap_bar.toggled.connect(lambda _on: self._refresh_heatmap())
        self.heatmap_bar.opacity_changed.connect(lambda _value: self._show_picture())
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.image)
        splitter.addWidget(self.chart)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([380, 280])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 0, 0)
        layout.setSpacing(2)  # the hint's row costs no height that a 520 px window needs
        layout.addWidget(self.title)
        layout.addWidget(self.trust_hint)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.heatmap_bar)
        self.show_item(None)

    # ------------------------------------------------------------ the model

    def set_model(self, info: ModelInfo | None) -> None:
        """The model in use: its weights make the heatmaps; a model without out-of-class data
        gets the hint (with Calibrate… where its weights can be calibrated)."""
        self.heatmaps.set_source(info.source if info is not None else "")
        available = info is None or info.trust is not None
        self._threshold = info.trust.threshold if info is not None and info.trust is not None else None
        self.trust_hint.setVisible(not available)
        if not available:
            onnx = os.path.splitext(info.source)[1].lower() == ".onnx"
            action = ("calibrate the .pt weights it was exported from, then export again" if onnx
                      else "<a href='calibrate'>Calibrate…</a>")
            self.trust_hint.setText(f"Out-of-class detection not available for this model · {action}")
            self.trust_hint.setToolTip("Calibrate adds \u201cnot one of my classes\u201d and honest confidence "
                                       "from a labeled folder of the model's classes (a new file beside the model)")
        self._refresh_heatmap()

    # ------------------------------------------------------------ the photo

    def set_k(self, k: int) -> None:
        self._k = k
        self._refresh_chart()

    def show_item(self, item: Prediction | None) -> None:
        same_photo = item is not None and self._item is not None and item.path == self._item.path
        self._item = item
        if not same_photo:
            self._photo, self._chosen = None, ""
        if item is None:
            self.title.setText("<span style='color: gray'>No image selected</span>")
            self.image.set_pixmap(None, "")
        else:
            self.title.setText(title_html(item, self.low_threshold, self._threshold))
            self.title.setToolTip(plain_tooltip(item.path))
            if self._photo is None:
                self.image.set_pixmap(None, "Loading…")
                self._thumbnails.request(item.path, PREVIEW_SIZE)
        self._refresh_chart()
        self._refresh_heatmap()

    def _refresh_chart(self) -> None:
        self.chart.set_predictions(self._item.topk[: self._k] if self._item else [])
        self.chart.set_chosen(self.heatmap_class() if self.heatmap_bar.on else "")

    def _on_image(self, path: str, size: int, image: QImage) -> None:
        if size != PREVIEW_SIZE or self._item is None or path != self._item.path:
            return
        if image.isNull():
            self.image.set_pixmap(None, "Cannot show this image")
        else:
            self._photo = QPixmap.fromImage(image)
            self._show_picture()

    # ------------------------------------------------------------ the heatmap

    def heatmap_class(self) -> str:
        """The class the heatmap is for: the bar clicked last, else the top-1."""
        return self._chosen or (self._item.label if self._item is not None else "")

    def choose_class(self, class_name: str) -> None:
        """A bar was clicked: its class's heatmap (turning the heatmap on)."""
        self._chosen = class_name
        if not self.heatmap_bar.on:
            self.heatmap_bar.toggle.setChecked(True)  # refreshes
        else:
            self._refresh_heatmap()

    def heatmap_images(self) -> HeatmapImages | None:
        """The maps on screen now (None: the plain photo is shown)."""
        if not self.heatmap_bar.on or self._item is None:
            return None
        found = self.heatmaps.get(self._item.path, self.heatmap_class())
        return found if isinstance(found, HeatmapImages) else None

    def _refresh_heatmap(self) -> None:
        self.chart.set_chosen(self.heatmap_class() if self.heatmap_bar.on else "")
        item = self._item
        if not self.heatmap_bar.on or item is None or not item.ok or not item.topk:
            self.heatmaps.cancel()
            if self.heatmap_bar.on:
                self.heatmap_bar.say("")
            self._show_picture()
            return
        self._show_picture()  # the plain photo (or the cached map) until the map comes
        if self.heatmap_images() is None:
            self.heatmap_bar.say(self.heatmaps.waiting_for(self.heatmap_class()))
        self.heatmaps.request(item.path, self.heatmap_class())

    def _on_heatmap_ready(self, path: str, class_name: str) -> None:
        if self._item is not None and (path, class_name) == (self._item.path, self.heatmap_class()):
            self.heatmap_bar.say(f"what made it say {class_name}")
            self._show_picture()

    def _on_heatmap_failed(self, path: str, class_name: str, message: str) -> None:
        if self._item is not None and (path, class_name) == (self._item.path, self.heatmap_class()):
            self.heatmap_bar.say(message)
            self._show_picture()

    def _show_picture(self) -> None:
        maps = self.heatmap_images()
        if maps is not None:
            self.image.set_pixmap(maps.blended(self.heatmap_bar.opacity()))
        elif self._photo is not None:
            self.image.set_pixmap(self._photo)

    def shutdown(self) -> bool:
        return self.heatmaps.shutdown()


def title_html(item: Prediction, low_threshold: float, ood_threshold: float | None = None) -> str:
    """The file name and the answer: top-1 with its probability (as the model reports it: at
    its temperature), or "not one of this model's classes" when the model says so."""
    name = f"<b>{html.escape(display_safe(os.path.basename(item.path)))}</b>"
    if not item.ok:
        return f"{name} — <span style='color:#8a1c1c'>{html.escape(display_safe(item.error or ''))}</span>"
    if item.unknown:
        score = html.escape(score_note(item, ood_threshold), quote=False)
        return (f"{name} — <span style='color:{UNKNOWN_COLOUR}'><b>?</b> not one of this model's classes{score}</span>"
                f" <span style='color:gray'>· closest: {html.escape(display_safe(item.label))} {item.confidence:.1%}</span>")
    low = "" if item.topk and item.confidence >= low_threshold else \
        " <span style='color:#b35c00'>⚠ low confidence</span>"
    return f"{name} — {html.escape(display_safe(item.label))} {item.confidence:.1%}{low}"

"""The selected image shown large, with its top-k bar chart."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from ..styles import plain_tooltip
from ..thumbnails import Thumbnails
from .topk_chart import TopKChart

if TYPE_CHECKING:
    from ...core.infer import Prediction

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
    """``show_item(item, k)``: big picture, file name, top-1 and the top-k chart."""

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._item: Prediction | None = None
        self._k = 5
        self.low_threshold = 0.5
        thumbnails.loaded.connect(self._on_image)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)  # the names in it are escaped
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setStyleSheet("font-size: 14px;")
        self.title.setWordWrap(True)
        self.image = ScaledImage()
        self.chart = TopKChart()
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
        layout.addWidget(self.title)
        layout.addWidget(splitter, 1)
        self.show_item(None)

    def set_k(self, k: int) -> None:
        self._k = k
        self._refresh_chart()

    def show_item(self, item: Prediction | None) -> None:
        self._item = item
        if item is None:
            self.title.setText("<span style='color: gray'>No image selected</span>")
            self.image.set_pixmap(None, "")
        else:
            low = "" if item.topk and item.confidence >= self.low_threshold else " <span style='color:#b35c00'>⚠ low confidence</span>"
            self.title.setText(f"<b>{html.escape(os.path.basename(item.path))}</b> — {html.escape(item.label)} "
                               f"{item.confidence:.1%}{low}")
            self.title.setToolTip(plain_tooltip(item.path))
            self.image.set_pixmap(None, "Loading…")
            self._thumbnails.request(item.path, PREVIEW_SIZE)
        self._refresh_chart()

    def _refresh_chart(self) -> None:
        self.chart.set_predictions(self._item.topk[: self._k] if self._item else [])

    def _on_image(self, path: str, size: int, image: QImage) -> None:
        if size != PREVIEW_SIZE or self._item is None or path != self._item.path:
            return
        if image.isNull():
            self.image.set_pixmap(None, "Cannot show this image")
        else:
            self.image.set_pixmap(QPixmap.fromImage(image))


"""A bounded cache of thumbnail pixmaps in front of :class:`Thumbnails`, for item models.

``get(path)`` returns a pixmap, or None after asking for one; ``ready(path)`` follows when
it is there (unreadable files are remembered and not asked for again). The least recently
shown pixmaps go first beyond ``limit``, so memory stays bounded however many items.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from .thumbnails import Thumbnails


class PixmapCache(QObject):
    ready = Signal(str)

    def __init__(self, thumbnails: Thumbnails, size: int, limit: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size, self.limit = size, limit
        self._thumbnails = thumbnails
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._unreadable: set[str] = set()
        thumbnails.loaded.connect(self._on_loaded)

    def get(self, path: str) -> QPixmap | None:
        pixmap = self._pixmaps.get(path)
        if pixmap is not None:
            self._pixmaps.move_to_end(path)
        elif path not in self._unreadable:
            self._thumbnails.request(path, self.size)
        return pixmap

    def clear(self) -> None:
        self._pixmaps.clear()

    def __len__(self) -> int:
        return len(self._pixmaps)

    def _on_loaded(self, path: str, size: int, image: QImage) -> None:
        if size != self.size:
            return
        if image.isNull():
            self._unreadable.add(path)
            return
        self._pixmaps[path] = QPixmap.fromImage(image)
        while len(self._pixmaps) > self.limit:
            self._pixmaps.popitem(last=False)
        self.ready.emit(path)

"""Thumbnails and previews decoded off the GUI thread, on demand.

Views ask for ``(path, size)``; a small thread pool decodes with the core's robust image
reader and hands back a ``QImage`` (safe to make off the GUI thread; the receiver turns it
into a ``QPixmap``). Only what is on screen is requested, so 100k results cost nothing
until scrolled to; the newest requests run first, and a backlog is dropped.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

MAX_BACKLOG = 300  # requests waiting; beyond this the old ones are dropped (fast scrolling)


def load_qimage(path: str, max_side: int) -> QImage:
    """Decode ``path`` upright (EXIF), scaled to fit ``max_side``. Raises core ImageError."""
    from PIL import Image

    from ..core.images import load_image

    img = load_image(path, min_side=max_side)
    img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    data = img.tobytes()
    return QImage(data, img.width, img.height, 3 * img.width, QImage.Format.Format_RGB888).copy()


class _Emitter(QObject):
    loaded = Signal(str, int, QImage)  # path, size asked for, image (null if unreadable)


class _Task(QRunnable):
    def __init__(self, path: str, size: int, emitter: _Emitter) -> None:
        super().__init__()
        self.path, self.size, self.emitter = path, size, emitter

    def run(self) -> None:
        try:
            image = load_qimage(self.path, self.size)
        except Exception:  # noqa: BLE001 - an unreadable file just has no picture
            image = QImage()
        self.emitter.loaded.emit(self.path, self.size, image)


class ImageLoader(QObject):
    """``request(path, size)`` -> later ``loaded(path, size, QImage)`` in the GUI thread."""

    loaded = Signal(str, int, QImage)
    dropped = Signal()  # the backlog was dropped: views may ask again for what they show

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(threads)
        self._emitter = _Emitter()
        self._emitter.loaded.connect(self._on_loaded)
        self._pending: set[tuple[str, int]] = set()
        self._priority = 0

    def request(self, path: str, size: int) -> None:
        key = (path, size)
        if key in self._pending:
            return
        if len(self._pending) >= MAX_BACKLOG:
            self._pool.clear()  # tasks not started yet
            self._pending.clear()
            self.dropped.emit()
        self._pending.add(key)
        self._priority = (self._priority + 1) % 1_000_000
        self._pool.start(_Task(path, size, self._emitter), self._priority)

    def _on_loaded(self, path: str, size: int, image: QImage) -> None:
        self._pending.discard((path, size))
        self.loaded.emit(path, size, image)

    def idle(self) -> bool:
        return not self._pending

    def shutdown(self) -> None:
        self._pool.clear()
        self._pending.clear()
        self._pool.waitForDone()

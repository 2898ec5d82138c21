"""Thumbnails and previews decoded off the GUI thread, on demand.

Views ask for ``(path, size)``; jobs on a TaskRunner of two threads decode with the core's
robust image reader and hand back a ``QImage`` (safe to make off the GUI thread; the
receiver turns it into a ``QPixmap``). Only what is on screen is requested, so 100k results
cost nothing until scrolled to; the newest requests run first, and the runner drops the
oldest waiting ones beyond a backlog (fast scrolling).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from .tasks import Task, TaskRunner

MAX_BACKLOG = 300  # requests waiting; beyond this the oldest are dropped


def load_qimage(path: str, max_side: int) -> QImage:
    """Decode ``path`` upright (EXIF), scaled to fit ``max_side``. Raises core ImageError."""
    from PIL import Image

    from ..core.data.images import load_image

    img = load_image(path, min_side=max_side)
    img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    data = img.tobytes()
    return QImage(data, img.width, img.height, 3 * img.width, QImage.Format.Format_RGB888).copy()


def decode(path: str, size: int, *, should_stop) -> tuple[str, int, QImage]:
    """The job: a null QImage for a file that cannot be read (it just has no picture)."""
    try:
        image = QImage() if should_stop() else load_qimage(path, size)
    except Exception:  # noqa: BLE001
        image = QImage()
    return path, size, image


class Thumbnails(QObject):
    """``request(path, size)`` -> later ``loaded(path, size, QImage)`` in the GUI thread."""

    loaded = Signal(str, int, QImage)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = TaskRunner(self, name="thumbnails", threads=2, newest_first=True, max_pending=MAX_BACKLOG)
        self._tasks: dict[tuple[str, int], Task] = {}

    def request(self, path: str, size: int) -> None:
        key = (path, size)
        task = self._tasks.get(key)
        if task is not None and not task.detached:
            return
        if len(self._tasks) > MAX_BACKLOG:
            self._forget_dropped()
        task = self._runner.start(decode, path, size, replace=False)
        task.returned.connect(self._on_loaded)
        self._tasks[key] = task

    def _on_loaded(self, result: tuple[str, int, QImage]) -> None:
        path, size, image = result
        self._tasks.pop((path, size), None)
        self.loaded.emit(path, size, image)

    def _forget_dropped(self) -> None:
        # the runner detaches what it drops: those will never report, and may be asked for again
        self._tasks = {key: task for key, task in self._tasks.items() if not task.detached}

    def idle(self) -> bool:
        self._forget_dropped()
        return not self._tasks

    def shutdown(self) -> bool:
        self._tasks.clear()
        return self._runner.shutdown()

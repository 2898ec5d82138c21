"""A bounded cache of thumbnail pixmaps in front of :class:`Thumbnails`, for item models.

``get(path)`` returns a pixmap, or None after asking for one; ``ready(path)`` follows when
it is there (unreadable files are remembered and not asked for again). The least recently
shown pixmaps go first beyond ``limit``, so memory stays bounded however many items.
``square``: each thumbnail centred in a size x size square, so the captions under tall and
wide photos line up in an icon grid.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap

from .thumbnails import Thumbnails


class PixmapCache(QObject):
    ready = Signal(str)

    def __init__(self, thumbnails: Thumbnails, size: int, limit: int, parent: QObject | None = None,
                 square: bool = False) -> None:
        super().__init__(parent)
        self.size, self.limit, self.square = size, limit, square
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

    def peek(self, path: str) -> QPixmap | None:
        """The pixmap if it is here, without asking for it or counting it as shown."""
        return self._pixmaps.get(path)

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
        pixmap = QPixmap.fromImage(image)
        self._pixmaps[path] = _centred(pixmap, self.size) if self.square else pixmap
        while len(self._pixmaps) > self.limit:
            self._pixmaps.popitem(last=False)
        self.ready.emit(path)


def _centred(pixmap: QPixmap, side: int) -> QPixmap:
    padded = QPixmap(side, side)
    padded.fill(Qt.GlobalColor.transparent)
    painter = QPainter(padded)
    painter.drawPixmap((side - pixmap.width()) // 2, (side - pixmap.height()) // 2, pixmap)
    painter.end()
    return padded


class ThumbnailListModel(QAbstractListModel):
    """A flat list of photos with thumbnails from a :class:`PixmapCache`: the Label page's
    photos, the Review page's list (the results grid is a view on the results' own model).
    Subclasses keep ``_rows`` (path -> row) and ``items`` (objects with a ``path``; or override
    ``path_at`` and ``row_count``), and say what a row shows besides its thumbnail (``row_data``)."""

    def __init__(self, thumbnails: Thumbnails, size: int, limit: int, parent: QObject | None = None,
                 square: bool = False) -> None:
        super().__init__(parent)
        self.items: list = []
        self._rows: dict[str, int] = {}
        self._thumbs = PixmapCache(thumbnails, size, limit, self, square=square)
        self._thumbs.ready.connect(self._on_ready)

    def reset_items(self, items: list) -> None:
        """Show ``items`` instead of what was there (one model reset)."""
        self.beginResetModel()
        self.items = list(items)
        self._rows = {item.path: row for row, item in enumerate(self.items)}
        self.endResetModel()

    def path_at(self, row: int) -> str:
        return self.items[row].path

    def row_count(self) -> int:
        return len(self.items)

    def row_data(self, row: int, role):
        return None

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self.row_count()

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbs.get(self.path_at(index.row()))
        return self.row_data(index.row(), role)

    def _on_ready(self, path: str) -> None:
        row = self._rows.get(path)
        if row is not None and row < self.row_count():
            self.dataChanged.emit(self.index(row), self.index(row), [Qt.ItemDataRole.DecorationRole])

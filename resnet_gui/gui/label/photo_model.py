"""The photos to label: a flat list model (thumbnails on demand) and its filter/sort proxy."""

from __future__ import annotations

import os
from PySide6.QtCore import QModelIndex, QSize, QSortFilterProxyModel, Qt

from ...constants import NONE_FOLDER, NONE_TEXT
from ..styles import plain_tooltip
from ..thumb_cache import ThumbnailListModel
from ..thumbnails import Thumbnails

THUMB_SIZE = 128
ITEM_SIZE = QSize(THUMB_SIZE + 20, THUMB_SIZE + 40)  # thumbnail and two lines of caption
THUMB_CACHE = 600  # pixmaps kept (about 40 MB at 128 px); older ones are decoded again when scrolled back
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
SURE_ROLE = Qt.ItemDataRole.UserRole + 2  # confidence of the suggestion; 2.0 when there is none


class PhotoModel(ThumbnailListModel):
    """Paths, the ones already labeled, and the model's suggestions."""

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(thumbnails, THUMB_SIZE, THUMB_CACHE, parent)
        self._paths: list[str] = []
        self.labeled: dict[str, str] = {}  # source path -> class name
        self.suggestions: dict[str, tuple[str, float]] = {}

    def clear(self) -> None:
        self.beginResetModel()
        self._paths, self._rows = [], {}
        self.suggestions.clear()
        self._thumbs.clear()
        self.endResetModel()

    def append(self, paths: list[str]) -> None:
        paths = [p for p in paths if p not in self._rows]
        if not paths:
            return
        first = len(self._paths)
        self.beginInsertRows(QModelIndex(), first, first + len(paths) - 1)
        for offset, path in enumerate(paths):
            self._rows[path] = first + offset
        self._paths.extend(paths)
        self.endInsertRows()

    def path(self, row: int) -> str:
        return self._paths[row]

    def paths(self) -> list[str]:
        return list(self._paths)

    def set_labeled(self, labeled: dict[str, str]) -> None:
        self.labeled = labeled
        self._changed_all()

    def add_suggestions(self, items: list[tuple[str, str, float]]) -> None:
        for path, label, confidence in items:
            self.suggestions[path] = (label, confidence)
        self._changed_all()

    def _changed_all(self) -> None:
        if self._paths:
            self.dataChanged.emit(self.index(0), self.index(len(self._paths) - 1))

    def path_at(self, row: int) -> str:
        return self._paths[row]

    def row_count(self) -> int:
        return len(self._paths)

    def row_data(self, row: int, role):
        path = self._paths[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._caption(path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(path + "\n" + self._caption(path))
        if role == Qt.ItemDataRole.SizeHintRole:
            return ITEM_SIZE  # every cell the same, known before any thumbnail is decoded
        if role == PATH_ROLE:
            return path
        if role == SURE_ROLE:
            return self.suggestions.get(path, ("", 2.0))[1]
        return None

    def _caption(self, path: str) -> str:
        name = os.path.basename(path)
        if path in self.labeled:
            folder = os.path.basename(os.path.dirname(self.labeled[path]))
            return f"{name}\n✓ {NONE_TEXT if folder == NONE_FOLDER else folder}"
        if path in self.suggestions:
            label, confidence = self.suggestions[path]
            return f"{name}\n{label} {confidence:.0%}?"
        return name

    def thumbnails_kept(self) -> int:
        return len(self._thumbs)


class PhotoFilter(QSortFilterProxyModel):
    """Hides labeled photos unless ``show_labeled``; sorts by name or least sure first."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.show_labeled = False
        self.setDynamicSortFilter(False)  # re-sorting 20k rows on every change would stall

    def set_show_labeled(self, show: bool) -> None:
        self.show_labeled = show
        self.invalidate()

    def sort_least_sure(self, on: bool) -> None:
        self.setSortRole(SURE_ROLE if on else PATH_ROLE)
        self.sort(0 if on else -1)
        self.invalidate()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        model: PhotoModel = self.sourceModel()
        return self.show_labeled or model.path(source_row) not in model.labeled

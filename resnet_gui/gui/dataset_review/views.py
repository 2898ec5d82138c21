"""The Review page's lists: likely mislabeled photos (thumbnails, given -> suggested, score),
photos unlike any class (thumbnails, their folder, the closest class) and duplicate groups
(leakage across train and validation flagged). All show what the core's ReviewReport holds;
names from the folder are plain text (captions, tooltips, tree cells)."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QListView, QTreeWidget, QTreeWidgetItem

from ..styles import ERROR, plain_tooltip
from ..thumb_cache import PixmapCache, ThumbnailListModel
from ..thumbnails import Thumbnails
from ..widgets import icon_grid

THUMB = 128
CACHE = 400
CELL = QSize(THUMB + 40, THUMB + 52)
LEAK_TEXT = "LEAKAGE: across train and validation"


class MislabeledModel(ThumbnailListModel):
    """Rows of the core's ReviewItems (most likely mislabeled first; ``unlike``: most unlike
    any class first, captioned with the folder and the closest class)."""

    def __init__(self, thumbnails: Thumbnails, parent=None, unlike: bool = False) -> None:
        super().__init__(thumbnails, THUMB, CACHE, parent, square=True)  # captions line up
        self.unlike = unlike

    def remove_paths(self, paths) -> None:
        """Photos acted on leave the list (the review was of the folder before the move)."""
        gone = set(paths)
        self.reset_items([item for item in self.items if item.path not in gone])

    def row_data(self, row: int, role):
        item = self.items[row]
        if self.unlike and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if role == Qt.ItemDataRole.DisplayRole:
                return f"in {item.given}\nclosest: {item.suggested}"  # a raw score means nothing to a user
            return plain_tooltip(f"{item.path}\nin {item.given}, but looks like none of the classes: out-of-class "
                                 f"score {item.ood_score:.4g}, above the model's threshold\n"
                                 f"closest class: {item.suggested}\n{item.split} split")
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{item.given} \u2192 {item.suggested}\nscore {item.score:.3f}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(f"{item.path}\nin {item.given}, looks like {item.suggested}\n"
                                 f"score {item.score:.3f}: the out-of-fold probability of {item.given} "
                                 f"(low: likely mislabeled)\n{item.split} split")
        if role == Qt.ItemDataRole.UserRole:
            return item.path
        if role == Qt.ItemDataRole.SizeHintRole:
            return CELL
        return None


class MislabeledList(QListView):
    def __init__(self, thumbnails: Thumbnails, parent=None, unlike: bool = False) -> None:
        super().__init__(parent)
        self.model_ = MislabeledModel(thumbnails, self, unlike=unlike)
        self.setModel(self.model_)
        icon_grid(self, THUMB, CELL)
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)

    def selected_items(self) -> list:
        rows = sorted({index.row() for index in self.selectionModel().selectedIndexes()})
        return [self.model_.items[row] for row in rows]


class DuplicatesTree(QTreeWidget):
    """One top-level row per group (kind, size, similarity, leakage), its photos below."""

    def __init__(self, thumbnails: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Photo", "Class", "Split"])
        self.setIconSize(QSize(48, 48))
        self.setUniformRowHeights(False)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # file names and group titles
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._thumbs = PixmapCache(thumbnails, 48, CACHE, self)
        self._thumbs.ready.connect(self._on_ready)
        self._by_path: dict[str, list[QTreeWidgetItem]] = {}

    def set_groups(self, groups: list) -> None:
        self.clear()
        self._by_path = {}
        leak_brush = QBrush(QColor(ERROR[0]))
        for number, group in enumerate(sorted(groups, key=lambda g: not g.leaks), 1):
            kind = "exact copies" if group.kind == "exact" else f"near copies (similarity {group.similarity:.3f})"
            title = f"Group {number}: {len(group.paths)} {kind}" + (f" \u2014 {LEAK_TEXT}" if group.leaks else "")
            top = QTreeWidgetItem([title, "", ""])
            if group.leaks:
                top.setForeground(0, QBrush(QColor(ERROR[2])))
                top.setBackground(0, leak_brush)
            for path, split in zip(group.paths, group.splits or [""] * len(group.paths)):
                child = QTreeWidgetItem([os.path.basename(path), os.path.basename(os.path.dirname(path)), split])
                child.setToolTip(0, plain_tooltip(path))
                child.setData(0, Qt.ItemDataRole.UserRole, path)
                pixmap = self._thumbs.get(path)
                if pixmap is not None:
                    child.setIcon(0, pixmap)
                self._by_path.setdefault(path, []).append(child)
                top.addChild(child)
            self.addTopLevelItem(top)
            top.setFirstColumnSpanned(True)  # only once in the tree
            top.setExpanded(True)

    def group_titles(self) -> list[str]:
        return [self.topLevelItem(i).text(0) for i in range(self.topLevelItemCount())]

    def _on_ready(self, path: str) -> None:
        pixmap = self._thumbs.get(path)
        for child in self._by_path.get(path, []):
            if pixmap is not None:
                child.setIcon(0, pixmap)

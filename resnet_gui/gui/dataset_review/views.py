"""The Review page's lists: likely mislabeled photos (thumbnails, given -> suggested, score),
photos unlike any class (thumbnails, their folder, the closest class) and duplicate groups
(leakage across train and validation flagged). All show what the core's ReviewReport holds;
names from the folder are plain text (captions, tooltips, tree cells)."""

from __future__ import annotations

import os
import time
from dataclasses import replace

from typing import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QListView, QMenu, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from ..styles import ERROR, MUTED_STYLE, plain_tooltip
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
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self._thumbs = PixmapCache(thumbnails, 48, CACHE, self)
        self._thumbs.ready.connect(self._on_ready)
        self._by_path: dict[str, list[QTreeWidgetItem]] = {}
        self.groups: list = []  # the core's DuplicateGroups shown, leaking ones first

    def set_groups(self, groups: list) -> None:
        self.clear()
        self._by_path = {}
        self.groups = sorted(groups, key=lambda g: not g.leaks)
        leak_brush = QBrush(QColor(ERROR[0]))
        for number, group in enumerate(self.groups, 1):
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

    def selected_paths(self) -> list[str]:
        """The selected photos (a selected group row stands for none: acting on all the copies
        of a picture at once would lose it)."""
        return [item.data(0, Qt.ItemDataRole.UserRole) for item in self.selectedItems() if item.parent() is not None]

    def all_but_first(self) -> list[str]:
        """Every photo of every group except the first one shown (what *Keep the first* removes)."""
        return [path for group in self.groups for path in group.paths[1:]]

    def remove_paths(self, paths) -> None:
        """Photos moved away leave their group; a group of one is no group."""
        gone = set(paths)
        kept = []
        for group in self.groups:
            pairs = [(p, s) for p, s in zip(group.paths, group.splits or [None] * len(group.paths)) if p not in gone]
            if len(pairs) > 1:
                splits = [s for _, s in pairs] if group.splits is not None else None
                kept.append(replace(group, paths=[p for p, _ in pairs], splits=splits))
        self.set_groups(kept)

    def group_titles(self) -> list[str]:
        return [self.topLevelItem(i).text(0) for i in range(self.topLevelItemCount())]

    def _on_ready(self, path: str) -> None:
        pixmap = self._thumbs.get(path)
        for child in self._by_path.get(path, []):
            if pixmap is not None:
                child.setIcon(0, pixmap)


def add_photo_actions(view: QAbstractItemView, remove: Callable[[], None], menu: Callable[[QWidget], QMenu]) -> None:
    """The Delete key removes the selected photos of ``view``; a right click opens ``menu(view)``."""
    view.addAction(QAction("Remove from dataset", view, shortcut=QKeySequence.StandardKey.Delete,
                           shortcutContext=Qt.ShortcutContext.WidgetShortcut, triggered=remove))
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.customContextMenuRequested.connect(lambda pos: menu(view).popup(view.viewport().mapToGlobal(pos)))


def photo_menu(view: QAbstractItemView, ready: bool, classes: list[str], move_to: Callable[[str], None],
               to_suggested: Callable[[], None] | None, remove: Callable[[], None]) -> QMenu:
    """Move to suggested class (lists only), Move to ▸ a class, Remove from dataset (Del)."""
    menu = QMenu(view)
    if to_suggested is not None:
        menu.addAction("Move to suggested class", to_suggested).setEnabled(ready)
    to = menu.addMenu("Move to")
    for name in classes:
        to.addAction(name, lambda n=name: move_to(n))
    to.setEnabled(ready and bool(classes))
    key = QKeySequence(QKeySequence.StandardKey.Delete).toString(QKeySequence.SequenceFormat.NativeText)
    menu.addAction(f"Remove from dataset\t{key}", remove).setEnabled(ready)
    return menu


def note(text: str, style: str = MUTED_STYLE) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setStyleSheet(style)
    label.setWordWrap(True)
    return label


def tab(note: QLabel, body: QWidget, button: QPushButton | None = None) -> QWidget:
    """A tab: a note (and a button) above its list, table or panel."""
    tab = QWidget()
    column = QVBoxLayout(tab)
    column.setContentsMargins(0, 4, 0, 0)
    column.addWidget(note)
    if button is not None:
        column.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
    column.addWidget(body, 1)
    return tab


class PhaseEta:
    """``text(stage)``: "1,234 / 5,000 · 0:40 left" for a core Stage; the ETA from the rate of
    the phase so far (a phase: the same message up to its colon, and the same total)."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.key: tuple | None = None
        self.started = 0.0
        self.first = 0

    def text(self, stage) -> str:
        from ...core.train.events import format_duration

        key, now = (stage.message.split(":")[0], stage.total), self.clock()
        if key != self.key:
            self.key, self.started, self.first = key, now, stage.done
        text = f"{stage.done:,} / {stage.total:,}"
        done, elapsed = stage.done - self.first, now - self.started
        if done > 0 and elapsed > 0.5 and stage.done < stage.total:
            text += f" \u00b7 {format_duration(elapsed / done * (stage.total - stage.done))} left"
        return text

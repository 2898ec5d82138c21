"""The Label page: open a folder of photos, select some, press a class key; undo and redo.

Wiring (the main window)::

    from .label.page import LabelPage
    self.label_page = LabelPage(self.settings, state=self.state)
    self.tabs.addTab(self.label_page, "Label")
    # on close, before the window goes: self.label_page.shutdown()

It remembers ``settings.data_dir``, ``label_photos`` and ``label_move``. When the user picks
another dataset it sets the session state's ``data_dir``, which the Classify page's photo loop
and the Review page observe (and emits ``dataset_changed``); it observes the state's model
(suggestions, see below). The dataset is a plain folder with
one subfolder per class; every labeling is a journaled batch
(``<dataset>/.resnet-gui/journal.jsonl``), so Undo/Redo (Ctrl+Z / Ctrl+Shift+Z, the buttons,
the window's Edit menu through ``undo_action``/``redo_action``) work across restarts. A right
click on a class renames, merges or removes it, as journaled batches too. ``set_model(weights)`` adds suggestions; ``offer_model(weights, class_names)`` does
so only for a model trained on this dataset (each model the Classify page loads is offered).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel,
                               QListView, QMenu, QMessageBox, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from ...core.text import counted
from ...core.session import SessionState
from ..settings import AppSettings
from ..styles import ERROR_STYLE, MUTED_STYLE, WARN_STYLE
from ..tasks import TaskRunner
from ..thumbnails import Thumbnails
from ..widgets import ElidedLabel, icon_grid
from . import jobs
from .class_bar import ClassBar
from .photo_model import ITEM_SIZE, THUMB_SIZE, PhotoFilter, PhotoModel



class LabelPage(QWidget):
    dataset_changed = Signal(str)  # the user chose another dataset folder
    dataset_edited = Signal()  # a batch (label, undo, redo, finish) ended: classes or counts may differ

    def __init__(self, settings: AppSettings, parent=None, state: SessionState | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.state = state or SessionState()  # the window's: it sets the dataset, observes the model
        self.state.events.model.connect(lambda info: info and self.offer_model(info.source, info.class_names))
        self.dataset = None  # core Dataset
        self.weights = ""
        self._offered: tuple[str, list[str]] | None = None  # the window's model: (weights, class names)
        self.thumbnails = Thumbnails(self)
        self.model = PhotoModel(self.thumbnails, self)
        self.proxy = PhotoFilter(self)
        self.proxy.setSourceModel(self.model)
        self.files_runner = TaskRunner(self, name="label files")  # one batch at a time, never replaced
        self.scan_runner = TaskRunner(self, name="label scan")
        self.suggest_runner = TaskRunner(self, name="label suggestions")
        self._accept_queue: list[tuple[str, list[str]]] = []
        self._build()
        self.setAcceptDrops(True)
        if settings.data_dir:
            self.open_dataset(settings.data_dir)
        if settings.label_photos:
            self.open_photos(settings.label_photos)
        else:
            self._say("Open a folder of photos (or drop one here) and choose a dataset; then select photos "
                      "and press 1-9 or a class button (0: none of these). Labeled photos are copied, never changed.")

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        self.dataset_label = ElidedLabel("No dataset: choose a folder (one subfolder per class)")
        choose_dataset = QPushButton("Dataset…", clicked=self.choose_dataset)
        choose_photos = QPushButton("Open photos…", clicked=self.choose_photos)
        self.move_box = QCheckBox("Move instead of copy")
        self.move_box.setChecked(self.settings.label_move)
        self.move_box.toggled.connect(lambda on: setattr(self.settings, "label_move", on))
        self.show_labeled = QCheckBox("Show labeled", toggled=self.proxy.set_show_labeled)
        self.least_sure = QCheckBox("Least sure first", toggled=self.proxy.sort_least_sure)
        self.accept_percent = QSpinBox(minimum=50, maximum=100, value=90, suffix=" %")
        self.accept_button = QPushButton("Accept suggestions above", clicked=self.accept_suggestions)
        top = QHBoxLayout()  # what goes where; then, over the grid, how it shows
        for w in (choose_dataset, self.dataset_label, choose_photos, self.move_box):
            top.addWidget(w, 1 if w is self.dataset_label else 0)
        self.undo_button = QPushButton("Undo", clicked=lambda: self._journal_action("undo"), enabled=False)
        self.redo_button = QPushButton("Redo", clicked=lambda: self._journal_action("redo"), enabled=False)
        options = QHBoxLayout()
        for w in (self.show_labeled, self.least_sure, self.accept_button, self.accept_percent):
            options.addWidget(w)
        options.addStretch(1)
        options.addWidget(self.undo_button)
        options.addWidget(self.redo_button)
        self.classes = ClassBar(self)
        self.classes.chosen.connect(self.label_selected)
        self.classes.menu_requested.connect(lambda name, pos: self.class_menu(name).popup(pos))
        self.view = QListView(self)
        self.classes.add_field.returnPressed.connect(self.view.setFocus)  # back to the grid: keys 1-9 work again
        icon_grid(self.view, THUMB_SIZE, ITEM_SIZE + QSize(6, 6))  # uniform cells: 20k items stay cheap
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(1000)
        self.view.setWordWrap(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # click, shift/ctrl, rubber band
        self.view.setModel(self.proxy)
        self.status = QLabel("", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.interrupted_bar = QWidget()
        bar = QHBoxLayout(self.interrupted_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        self.interrupted_label = QLabel(styleSheet=WARN_STYLE)
        bar.addWidget(self.interrupted_label, 1)
        bar.addWidget(QPushButton("Finish it", clicked=lambda: self._journal_action("finish")))
        bar.addWidget(QPushButton("Undo it", clicked=lambda: self._journal_action("undo")))
        self.interrupted_bar.hide()
        layout = QVBoxLayout(self)
        for item in (top, self.classes, self.interrupted_bar, options, self.view, self.status):
            layout.addLayout(item) if isinstance(item, QHBoxLayout) else layout.addWidget(item)
        self.undo_action = self._action("Undo", QKeySequence.StandardKey.Undo, lambda: self._journal_action("undo"))
        self.redo_action = self._action("Redo", QKeySequence("Ctrl+Shift+Z"), lambda: self._journal_action("redo"))
        for key in range(0, 10):  # 0: none of these
            self._action(f"Class {key}", QKeySequence(str(key)), lambda _=False, k=key: self._label_key(k))

    def _action(self, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(shortcut)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # ------------------------------------------------------------ dataset and photos

    def choose_dataset(self) -> None:
        from .dataset_dialog import DatasetFolderDialog

        dialog = DatasetFolderDialog(self, str(self.dataset.data_dir) if self.dataset else str(Path.home()))
        if dialog.exec() and dialog.chosen():
            self.open_dataset(dialog.chosen())

    def choose_photos(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of photos to label")
        if folder:
            self.open_photos(folder)

    def open_dataset(self, data_dir: str) -> None:
        from ...core.files.dataset import Dataset
        from ...core.files.plan import FilesError

        try:
            self.dataset = Dataset.shared(data_dir)
            self.dataset.journal  # noqa: B018 - read now: a bad journal is reported here, once
        except (FilesError, OSError) as exc:
            self.dataset = None
            self._say(f"Cannot use {data_dir} as a dataset: {exc}", ERROR_STYLE)
            return
        self.settings.data_dir = data_dir
        self.refresh()
        self.state.data_dir = data_dir  # the Classify page's photo loop and the Review page follow
        self.dataset_changed.emit(data_dir)

    def open_photos(self, folder: str) -> None:
        self.settings.label_photos = folder
        self.model.clear()
        task = self.scan_runner.start(jobs.scan, folder)
        task.yielded.connect(lambda found: self.model.append(found.paths))
        task.finished.connect(lambda: self._on_listed(folder))

    def _on_listed(self, folder: str) -> None:
        waiting = sum(1 for path in self.model.paths() if path not in self.model.labeled)
        self._say(f"{counted(self.model.rowCount(), 'photo')} in {folder}, {waiting} to label")
        if self.weights:  # new photos: suggestions for them too
            self.set_model(self.weights)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        folders = [u.toLocalFile() for u in event.mimeData().urls() if os.path.isdir(u.toLocalFile())]
        if folders:
            self.open_photos(folders[0])

    def refresh(self) -> None:
        """Classes, counts, labeled photos and Undo/Redo from the dataset and its journal."""
        if self.dataset is None:
            return
        self.dataset_label.setText(f"Dataset: {self.dataset.data_dir}")
        self.classes.set_classes([(c.name, c.count) for c in self.dataset.classes()])
        self.classes.set_none_count(self.dataset.none_count())
        journal = self.dataset.journal
        self.model.set_labeled(self.dataset.labeled())
        self.proxy.invalidate()
        undo, redo, broken = journal.can_undo, journal.can_redo, journal.interrupted
        for action, button, batch, verb in ((self.undo_action, self.undo_button, undo, "Undo"),
                                            (self.redo_action, self.redo_button, redo, "Redo")):
            action.setEnabled(batch is not None)
            action.setText(f"{verb} {batch.title}" if batch else verb)
            button.setEnabled(batch is not None)
            button.setText(verb)  # short: the whole batch name is in the tooltip and the Edit menu
            button.setToolTip(f"{verb} {batch.title}" if batch else f"Nothing to {verb.lower()}")
        self.interrupted_bar.setVisible(broken is not None)
        self._suggest_if_it_fits()
        if broken is not None:
            self.interrupted_label.setText(f"“{broken.title}” was interrupted (the app closed mid-way): "
                                           "finish it or undo it; every photo is in one place or both.")

    # ------------------------------------------------------------ labeling

    def selected_paths(self) -> list[str]:
        rows = self.view.selectionModel().selectedIndexes()
        return [self.proxy.mapToSource(i).data(Qt.ItemDataRole.UserRole + 1) for i in rows]

    def _label_key(self, key: int) -> None:
        name = self.classes.name_for_key(key)
        if name is not None:
            self.label_selected(name)

    def label_selected(self, class_name: str) -> None:
        """Label the selection; a new name first becomes an (empty) class folder."""
        from ...core.files.plan import FilesError

        if self.dataset is not None and class_name not in self.classes.names:  # _none too, the first time
            try:
                self.dataset.add_class(class_name)
            except FilesError as exc:
                self._say(str(exc), ERROR_STYLE)
                return
            self.refresh()
        self.label_paths(self.selected_paths(), class_name)

    def label_paths(self, paths: list[str], class_name: str) -> None:
        """Copy (or move) ``paths`` into ``<dataset>/<class_name>/`` as one undoable batch."""
        if self.dataset is None:
            self._say("Choose a dataset folder first (Dataset…).", WARN_STYLE)
            return
        if not paths:
            return
        if self.files_runner.busy:  # the selection moves on when the batch ends: a second copy now would relabel it
            self._say("Still copying the last photos: press the key again in a moment.", WARN_STYLE)
            return
        self._run_files(jobs.label, self.dataset, paths, class_name, self.move_box.isChecked())

    # ------------------------------------------------------------ the classes themselves

    def class_menu(self, name: str) -> QMenu:
        """Rename, merge into another class, or remove ``name`` (each one undoable batch)."""
        menu = QMenu(self)
        idle = self.dataset is not None and not self.files_runner.busy
        menu.addAction("Rename class…", lambda: self._ask_rename(name)).setEnabled(idle)
        merge = menu.addMenu("Merge into")
        for other in self.classes.names:
            if other != name:
                merge.addAction(other, lambda o=other: self.edit_class("merge", name, o))
        merge.setEnabled(idle and not merge.isEmpty())
        menu.addAction("Remove class…", lambda: self._ask_remove(name)).setEnabled(idle)
        return menu

    def _ask_rename(self, name: str) -> None:
        new, ok = QInputDialog.getText(self, "Rename class", f"New name for the class {name}:", text=name)
        if ok and new.strip() and new.strip() != name:
            self.edit_class("rename", name, new.strip())

    def _ask_remove(self, name: str) -> None:
        count = next((c.count for c in self.dataset.classes() if c.name == name), 0) if self.dataset else 0
        where = (f"Its {counted(count, 'photo')} move to the dataset's hidden .resnet-gui/removed folder; "
                 "Undo brings them back." if count else "It holds no photos; Undo brings the folder back.")
        answer = QMessageBox.question(self, "Remove class", f"Remove the class {name} from the dataset?\n\n{where}")
        if answer == QMessageBox.StandardButton.Yes:
            self.edit_class("remove", name)

    def edit_class(self, kind: str, name: str, other: str = "") -> None:
        """``rename`` (to ``other``), ``merge`` (into ``other``) or ``remove`` the class ``name``."""
        if self.dataset is None or self.files_runner.busy:
            return
        self._run_files(jobs.edit_class, self.dataset, kind, name, other)

    def accept_suggestions(self) -> None:
        """Label every unlabeled photo whose suggestion is at least the percentage, by class."""
        threshold = self.accept_percent.value() / 100
        by_class: dict[str, list[str]] = {}
        for path, (label, confidence) in self.model.suggestions.items():
            if confidence >= threshold and path not in self.model.labeled:
                by_class.setdefault(label, []).append(path)
        if by_class:  # one batch per class: each its own Undo step
            self._accept_queue = list(by_class.items())
            self._next_accept()

    def _next_accept(self) -> None:
        if self._accept_queue:
            name, paths = self._accept_queue.pop(0)
            self.label_paths(paths, name)

    def _journal_action(self, action: str) -> None:
        if self.dataset is not None and not self.files_runner.busy:
            self._run_files(jobs.journal_action, self.dataset, action)

    def _run_files(self, job, *args) -> None:
        task = self.files_runner.start(job, *args, replace=False)
        task.yielded.connect(lambda p: self._say(f"{p.done} of {p.total}: {p.name}"))
        task.returned.connect(self._on_batch_done)
        task.errored.connect(lambda exc, _details: self._say(str(exc).splitlines()[0] if str(exc) else repr(exc),
                                                             ERROR_STYLE))
        task.finished.connect(self._after_batch)

    def _on_batch_done(self, done: jobs.BatchDone) -> None:
        words = {"label": "labeled", "undo": "undone", "redo": "redone", "finish": "finished",
                 "rename": "class renamed", "merge": "classes merged", "remove": "class removed"}
        problems = [why for _, why in done.failed] + done.notes + ([done.stopped] if done.stopped else [])
        self._say(f"{words[done.action]}: {counted(done.done, 'photo')}" + ("; " + "; ".join(problems) if problems else ""),
                  WARN_STYLE if problems else MUTED_STYLE)
        if done.action != "label":
            self._accept_queue = []

    def _after_batch(self) -> None:
        self.refresh()
        self.dataset_edited.emit()
        self._next_accept()  # the runner is free again only now

    # ------------------------------------------------------------ suggestions

    def set_model(self, weights: str) -> None:
        """Suggest a class for each photo with this model (a checkpoint trained on the dataset)."""
        self.weights = weights
        paths = self.model.paths()
        if weights and paths:
            task = self.suggest_runner.start(jobs.suggest, weights, paths)
            task.yielded.connect(lambda s: self.model.add_suggestions(s.items))
            task.errored.connect(lambda exc, _d: self._say(f"No suggestions: {exc}", ERROR_STYLE))

    def offer_model(self, weights: str, class_names: list[str]) -> None:
        """Suggest with this model once it fits the dataset: every class it knows is a class
        folder here (an ImageNet or other dataset's model would suggest classes that are not)."""
        self._offered = (weights, list(class_names))
        self._suggest_if_it_fits()

    def _suggest_if_it_fits(self) -> None:
        if self._offered is None or self.dataset is None:
            return
        weights, names = self._offered
        if weights != self.weights and names and set(names) <= set(self.classes.names):
            self.set_model(weights)

    # ------------------------------------------------------------ misc

    def _say(self, text: str, style: str = MUTED_STYLE) -> None:
        self.status.setStyleSheet(style)
        self.status.setText(text)

    def select_all(self) -> None:
        self.view.selectAll()

    def select_rows(self, rows: list[int]) -> None:
        selection = self.view.selectionModel()
        selection.clearSelection()
        for row in rows:
            selection.select(self.proxy.index(row, 0), QItemSelectionModel.SelectionFlag.Select)

    def shutdown(self) -> bool:
        ok = self.files_runner.shutdown()  # a batch in flight ends at a file boundary, journaled
        for runner in (self.scan_runner, self.suggest_runner):
            ok = runner.shutdown() and ok
        return self.thumbnails.shutdown() and ok

"""The Review page: pick a training folder (default: the Label page's dataset), review it in the
background with progress and Cancel (the core's ``review_folder``, what ``resnet-gui review``
runs), then see the likely mislabeled photos, the photos unlike any class and the duplicate
groups, and act on the photos of any of them (buttons, context menu, Delete key): move a photo
to its suggested class, to another class, or out of the dataset, or keep the first photo of
each duplicate group, as journaled batches of the dataset's own journal (Undo / Redo here, or
on the Label page).

Wiring (the window)::

    self.review_page = DatasetReviewPage(self.settings, state=self.state)  # model, device, dataset: observed
    self.tabs.addTab(self.review_page, "Review")
    self.review_page.dataset_edited.connect(self.label_page.refresh)
    # on close: self.review_page.shutdown()
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QMenu, QProgressBar, QPushButton,
                               QTabWidget, QVBoxLayout, QWidget)

from ...core.text import counted
from ...core.session import SessionState
from ..confusion import ConfusionPanel
from ..settings import AppSettings
from ..styles import ERROR_STYLE, MUTED_STYLE, WARN_STYLE, plain_tooltip
from ..tasks import Task, TaskRunner
from ..thumbnails import Thumbnails
from ..widgets import ElidedLabel
from . import jobs
from .views import DuplicatesTree, MislabeledList, PhaseEta, add_photo_actions, note as _note, photo_menu, tab as _tab

UNLIKE_HINT = ("Photos the model finds unlike all of its classes (not a flower in a flowers folder, a screenshot): "
               "its out-of-class score, as Classify's \u201c?\u201d badge.")


class DatasetReviewPage(QWidget):
    dataset_edited = Signal()  # photos moved (or a move undone): the Label page refreshes
    status_message = Signal(str, int)

    def __init__(self, settings: AppSettings, parent=None, state: SessionState | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.state = state or SessionState()  # the window's: the model in use, the device, the dataset
        # the model in use ("" -> the shipped default) and the device: the state's, unless a test says
        self.weights_provider: Callable[[], str] = lambda: self.state.model.source if self.state.model else ""
        self.report = None  # the core's ReviewReport shown
        self.data_dir = ""
        self.runner = TaskRunner(self, name="review")
        self.files_runner = TaskRunner(self, name="review files")
        self.thumbnails = Thumbnails(self)
        self.saved_runner = TaskRunner(self, name="review saved")  # the last review of a folder, read back
        self._task: Task | None = None
        self._files_task: Task | None = None
        self._eta = PhaseEta()
        self._build()
        start = settings.review_folder or settings.data_dir
        self.set_folder(start)
        self.state.events.data_dir.connect(self.set_folder)  # the Label page's choice

    # ------------------------------------------------------------ building

    def _build(self) -> None:
        self.folder_label = ElidedLabel()
        self.choose_button = QPushButton("Choose folder…", clicked=self.choose_folder)
        self.review_button = QPushButton("&Review", clicked=self.start)
        self.review_button.setToolTip("Rank the photos by how strongly out-of-fold predictions disagree with their "
                                      "folder, and find exact and near duplicates (photos are only read)")
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel, visible=False)
        top = QHBoxLayout()
        top.addWidget(QLabel("Folder:"))
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.choose_button)
        top.addWidget(self.review_button)
        top.addWidget(self.cancel_button)
        self.progress = QProgressBar(visible=False)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)

        self.mislabeled = MislabeledList(self.thumbnails)
        self.unlike = MislabeledList(self.thumbnails, unlike=True)
        for photos in (self.mislabeled, self.unlike):
            photos.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.to_suggested = QPushButton("Move to suggested class", clicked=self.move_to_suggested)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Another class for the selected photos")
        self.to_class = QPushButton("Move to", clicked=lambda: self.move_to_class(self.class_combo.currentText()))
        self.remove_button = QPushButton("Remove from dataset", clicked=self.remove_selected)
        self.remove_button.setToolTip("Move the selected photos out of the dataset, into its hidden "
                                      ".resnet-gui/removed folder (the trainer skips it; Undo brings them back)")
        self.undo_button = QPushButton("Undo", clicked=lambda: self._journal("undo"))
        self.redo_button = QPushButton("Redo", clicked=lambda: self._journal("redo"))
        actions = QHBoxLayout()
        for widget in (self.to_suggested, self.to_class, self.class_combo, self.remove_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.undo_button)
        actions.addWidget(self.redo_button)
        self.unlike_note = _note(UNLIKE_HINT)
        unlike_tab = _tab(self.unlike_note, self.unlike)

        self.duplicates = DuplicatesTree(self.thumbnails)
        self.duplicates.itemSelectionChanged.connect(self._update_actions)
        self.leak_banner = _note("", ERROR_STYLE)
        self.leak_banner.hide()
        self.keep_first_button = QPushButton("Keep the first of each group", clicked=self.keep_first)
        self.keep_first_button.setToolTip(plain_tooltip(
            "Move every photo but the first of each group out of the dataset, as one batch (Undo brings them back)"))
        duplicates_tab = _tab(self.leak_banner, self.duplicates, self.keep_first_button)
        for view in (self.mislabeled, self.unlike, self.duplicates):  # every list acts the same way
            add_photo_actions(view, self.remove_selected, self.context_menu)

        self.confusion = ConfusionPanel(self.thumbnails, ("in", "suggested"))
        confusion_tab = _tab(_note("Rows: the photo's folder \u00b7 columns: the class out-of-fold predictions suggest"),
                             self.confusion)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.mislabeled_tab = self.tabs.addTab(self.mislabeled, "Likely mislabeled")
        self.unlike_tab = self.tabs.addTab(unlike_tab, "Unlike any class")
        self.duplicates_tab = self.tabs.addTab(duplicates_tab, "Duplicates")
        self.tabs.addTab(confusion_tab, "Confusion")
        self.tabs.currentChanged.connect(lambda *_: self._update_actions())
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(actions)  # for the photos selected in the tab shown
        self._update_actions()

    # ------------------------------------------------------------ the folder and the review

    def set_folder(self, data_dir: str) -> None:
        changed = data_dir != self.data_dir
        self.data_dir = data_dir
        self.folder_label.setText(data_dir or "none: choose a folder with one subfolder per class")
        self.review_button.setEnabled(bool(data_dir) and self._task is None)
        if changed and data_dir and self._task is None:  # its last review, if it has one
            task = self.saved_runner.start(jobs.saved, data_dir)
            task.returned.connect(lambda found, f=data_dir: self._on_saved(found, f))

    def _on_saved(self, found, data_dir: str) -> None:
        if found is None or data_dir != self.data_dir or self._task is not None:
            return
        self.show_report(found.report)
        self.review_button.setText("&Review again")
        self._say(f"Review of {found.when} with {found.weights}: {found.report.summary()}. "
                  "Review again to see the folder as it is now.")

    def choose_folder(self) -> None:
        data_dir = QFileDialog.getExistingDirectory(self, "Training folder to review", self.data_dir)
        if data_dir:
            self.set_folder(data_dir)

    def weights(self) -> str:
        from ...resources import default_weights

        chosen = self.weights_provider()
        if chosen and Path(chosen).suffix.lower() != ".onnx":
            return chosen
        found = default_weights()
        return str(found) if found else ""

    def start(self) -> None:
        weights = self.weights()
        if not self.data_dir or self._task is not None:
            return
        if not weights:
            self._say("No model to review with: open a .pt model on the Classify page.", ERROR_STYLE)
            return
        self.settings.review_folder = self.data_dir
        self._say(f"Reviewing {Path(self.data_dir).name} with {Path(weights).name}…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self._eta = PhaseEta()
        self.cancel_button.show()
        self.review_button.setEnabled(False)
        task = self.runner.start(jobs.review, self.data_dir, weights, self.state.device)
        task.yielded.connect(self._on_stage)
        task.returned.connect(self._on_report)
        task.errored.connect(self._on_error)
        self._task = task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._say("Cancelling…")

    def _on_stage(self, stage) -> None:
        self.status.setText(stage.message)
        if stage.total:
            self.progress.setRange(0, stage.total)
            self.progress.setValue(stage.done)
            self.progress.setFormat(self._eta.text(stage))  # every phase: a count and, once known, an ETA
        else:
            self.progress.setRange(0, 0)

    def _end_run(self) -> None:
        self._task = None
        self.progress.hide()
        self.cancel_button.hide()
        self.review_button.setEnabled(bool(self.data_dir))

    def _on_report(self, report) -> None:
        self._end_run()
        if report is None:
            self._say("Review cancelled.")
            return
        self.show_report(report)
        self.review_button.setText("&Review again")

    def _on_error(self, exc: Exception, _details: str) -> None:
        self._end_run()
        known = type(exc).__name__ in ("ReviewError", "TrainingError", "WeightsError", "DeviceError", "DatasetError")
        self._say(f"Cannot review: {exc if known else f'{type(exc).__name__}: {exc}'}", ERROR_STYLE)

    def show_report(self, report) -> None:
        self.report = report
        self._say(report.summary())
        self.mislabeled.model_.reset_items(report.issues)
        self.unlike.model_.reset_items(report.unlike)
        note = report.unlike_note  # why this model cannot tell; the hint again for one that can
        self.unlike_note.setText(note[0].upper() + note[1:] if note else UNLIKE_HINT)
        self.class_combo.clear()
        self.class_combo.addItems(report.classes)
        self.duplicates.set_groups(report.duplicates)
        self._show_confusion(report)
        self._show_leak_banner(len(report.leaks))
        self._update_tab_titles()
        self._update_actions()

    def _show_leak_banner(self, n: int) -> None:
        self.leak_banner.setText(f"{counted(n, 'duplicate group')} split across train and validation: "
                                 "validation would measure memory, not skill. Keep one photo of each group (remove "
                                 "the others: Keep the first of each group) before training." if n else "")
        self.leak_banner.setVisible(bool(n))

    def _show_confusion(self, report) -> None:
        classes, matrix = report.classes, report.confusion
        recall = {name: (row[i] / sum(row) if sum(row) else float("nan"))
                  for i, (name, row) in enumerate(zip(classes, matrix))}

        def photos_of(row: int, column: int) -> list[tuple[str, str]]:
            return [(item.path, f"{Path(item.path).name}\nscore {item.score:.2f}")
                    for item in report.cell(classes[row], classes[column])]
        self.confusion.set_confusion(classes, matrix, recall, photos_of)

    def _update_tab_titles(self) -> None:
        report = self.report
        self.tabs.setTabText(self.mislabeled_tab, f"Likely mislabeled ({self.mislabeled.model_.rowCount()})")
        unlike = "\u2013" if report is None or report.unlike_note else self.unlike.model_.rowCount()
        self.tabs.setTabText(self.unlike_tab, f"Unlike any class ({unlike})")
        groups = self.duplicates.groups  # as shown: the groups photos were removed from go
        leaking = sum(g.leaks for g in groups)
        leaks = f", {leaking} leaking" if leaking else ""
        self.tabs.setTabText(self.duplicates_tab, f"Duplicates ({len(groups)}{leaks})")
        self._show_leak_banner(leaking)

    # ------------------------------------------------------------ acting on it

    def photo_list(self) -> MislabeledList | None:
        """The list of photos in the tab shown (the actions apply to its selection)."""
        return {self.mislabeled_tab: self.mislabeled, self.unlike_tab: self.unlike}.get(self.tabs.currentIndex())

    def selected_items(self) -> list:
        photos = self.photo_list()
        return photos.selected_items() if photos is not None else []

    def selected_paths(self) -> list[str]:
        """The photos selected in the tab shown (a list, or the duplicate groups)."""
        if self.tabs.currentIndex() == self.duplicates_tab:
            return self.duplicates.selected_paths()
        return [item.path for item in self.selected_items()]

    def context_menu(self, view) -> QMenu:
        """The same actions as the buttons, for the photos selected in ``view``."""
        ready = self._files_task is None and bool(self.selected_paths())
        classes = [self.class_combo.itemText(i) for i in range(self.class_combo.count())]
        return photo_menu(view, ready, classes, self.move_to_class,
                          None if view is self.duplicates else self.move_to_suggested, self.remove_selected)

    def move_to_suggested(self) -> None:
        self._move([(item.path, item.suggested) for item in self.selected_items()])

    def move_to_class(self, class_name: str) -> None:
        if class_name:
            self._move([(path, class_name) for path in self.selected_paths() if Path(path).parent.name != class_name])

    def remove_selected(self) -> None:
        self._move([(path, "") for path in self.selected_paths()])

    def keep_first(self) -> None:
        extra = self.duplicates.all_but_first()
        self._move([(path, "") for path in extra], f"remove {counted(len(extra), 'duplicate copy', 'duplicate copies')}")

    def _move(self, moves: list[tuple[str, str]], title: str = "") -> None:
        if not moves or self._files_task is not None:
            return
        self._run_files(jobs.move, self.data_dir, moves, title)

    def _journal(self, action: str) -> None:
        if self._files_task is None and self.data_dir:
            self._run_files(jobs.journal_action, self.data_dir, action)

    def _run_files(self, job, *args) -> None:
        task = self.files_runner.start(job, *args, replace=False)
        task.returned.connect(self._on_moved)
        task.errored.connect(lambda exc, _d: self._on_moved(None, f"{exc}"))
        self._files_task = task
        self._update_actions()

    def _on_moved(self, result, error: str = "") -> None:
        self._files_task = None
        if result is None:
            self._say(f"Nothing moved: {error}", ERROR_STYLE)
        else:
            if result.moved:
                self.mislabeled.model_.remove_paths(result.moved)
                self.unlike.model_.remove_paths(result.moved)
                self.duplicates.remove_paths(result.moved)
            words = {"move": "moved", "remove": "moved out of the dataset", "undo": "undone", "redo": "redone"}
            problems = [f"{Path(p).name}: {why}" for p, why in result.failed] + result.notes
            text = f"{counted(result.done, 'photo')} {words[result.action]}"
            if result.action in ("undo", "redo"):
                text += " (review again to see them in the lists)"
            self._say(text + ("; " + "; ".join(problems[:3]) if problems else ""),
                      WARN_STYLE if problems or result.stopped else "")
            self.dataset_edited.emit()
        self._update_tab_titles()
        self._update_actions()

    def _update_actions(self) -> None:
        idle = self._files_task is None
        selected = bool(self.selected_paths()) and idle
        for widget in (self.to_class, self.class_combo, self.remove_button):
            widget.setEnabled(selected)
        self.to_suggested.setEnabled(selected and bool(self.selected_items()))
        self.keep_first_button.setEnabled(idle and bool(self.duplicates.groups))
        journal = self._journal_state()
        self.undo_button.setEnabled(self._files_task is None and journal[0] is not None)
        self.redo_button.setEnabled(self._files_task is None and journal[1] is not None)
        self.undo_button.setText(f"Undo {journal[0].title}" if journal[0] is not None else "Undo")
        self.undo_button.setToolTip(plain_tooltip("The dataset's last batch, from this page or the Label page"))

    def _journal_state(self):
        if not self.data_dir or not Path(self.data_dir).is_dir():
            return None, None
        from ...core.files.dataset import Dataset

        try:
            journal = Dataset.shared(self.data_dir).journal
            return journal.can_undo, journal.can_redo
        except (OSError, ValueError):
            return None, None

    def _say(self, text: str, style: str = MUTED_STYLE) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(style)
        self.status_message.emit(text, 8000)

    def shutdown(self) -> bool:
        self._task = self._files_task = None
        ended = [self.runner.shutdown(), self.files_runner.shutdown(), self.saved_runner.shutdown(),
                 self.thumbnails.shutdown()]
        return all(ended)

    def show_leaks(self, data_dir: str, groups: list) -> None:
        """The Fine-tune page's leak check: its duplicate groups (core DuplicateGroups with their
        splits) in the Duplicates tab, with the leak banner, without running a review."""
        if data_dir != self.data_dir:  # a report of another folder no longer applies
            self.report = None
            self.mislabeled.model_.reset_items([])
            self.unlike.model_.reset_items([])
            self.confusion.set_confusion([], [], {})
            self.class_combo.clear()
            self.set_folder(data_dir)
        if not self.class_combo.count():  # Move to: the dataset's classes, no review needed
            from ...core.files.dataset import Dataset

            self.class_combo.addItems(Dataset.shared(data_dir).class_names())
        self.duplicates.set_groups(groups)
        n = len(groups)
        self._show_leak_banner(n)
        self.tabs.setTabText(self.duplicates_tab, f"Duplicates ({n}, {n} leaking)")
        self.tabs.setCurrentIndex(self.duplicates_tab)
        self._say(f"{counted(n, 'duplicate group')} across train and validation, found before training "
                  "(Review also lists likely mislabeled photos).")
        self._update_actions()


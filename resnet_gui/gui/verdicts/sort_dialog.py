"""*Sort into folders…*: a preview (photos per folder, space needed) before anything is
written, then the sort through a journal, then Undo.

Wiring (the Classify page, after a run)::

    from ..verdicts.sort_dialog import SortDialog
    items = [(p.path, p.label, p.confidence, p.unknown) for p in self.results.items() if p.ok]
    SortDialog(items, self.settings, self).exec()   # or .open()

It remembers (in AppSettings) the last destination, ``sort_destination``, and
whether photos marked "?" (none of the model's classes) go to ``_unknown/`` under
``sort_unknown``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

from ...core.text import counted
from ..settings import AppSettings
from ..styles import ERROR_STYLE, MUTED_STYLE, WARN_STYLE
from ..tasks import TaskRunner
from . import jobs


class SortDialog(QDialog):
    def __init__(self, items: list[tuple], settings: AppSettings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sort into folders")
        self.items, self.settings = items, settings
        self.preview = None  # jobs.SortPreview of the current options
        self.journal_path = ""
        self.runner = TaskRunner(self, name="sort")
        self.destination = QLineEdit(settings.sort_destination)
        self.destination.editingFinished.connect(self.refresh_preview)
        browse = QPushButton("Choose…", clicked=self._choose)
        self.move_box = QCheckBox("Move (copy, verify, then remove the originals)", toggled=self.refresh_preview)
        self.threshold = QDoubleSpinBox(minimum=0, maximum=100, value=60, suffix=" %", decimals=0)
        self.threshold.valueChanged.connect(self.refresh_preview)
        self.unknown_box = QCheckBox("Photos marked ? (none of the classes): _unknown/")
        self.unknown_box.setToolTip("Off: they go by their top-1 class like the others")
        self.unknown_box.setChecked(settings.sort_unknown)
        self.unknown_box.toggled.connect(lambda on: setattr(settings, "sort_unknown", on))
        self.unknown_box.toggled.connect(self.refresh_preview)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Folder", "Photos"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the names, not the counts, need room
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.summary = QLabel("", wordWrap=True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.sort_button = QPushButton("Sort", clicked=self.start_sort, enabled=False)
        self.undo_button = QPushButton("Undo", clicked=self.undo, enabled=False)
        close = QPushButton("Close", clicked=self.reject)
        row = QHBoxLayout()
        row.addWidget(self.destination, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Into", row)
        form.addRow("Below this confidence: _unsure/", self.threshold)
        form.addRow("", self.unknown_box)
        form.addRow("", self.move_box)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.sort_button, self.undo_button, close):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        self.resize(560, 440)  # the folder of every class, the _unsure one too, without scrolling
        self.refresh_preview()

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Sort into")
        if folder:
            self.destination.setText(folder)
            self.refresh_preview()

    def refresh_preview(self) -> None:
        """Plan and check in the background; nothing is written."""
        dest = self.destination.text().strip()
        self.sort_button.setEnabled(False)
        self.preview = None
        if not dest or not self.items:
            self._say("Choose a destination folder." if self.items else "No results to sort.")
            return
        task = self.runner.start(jobs.preview_sort, self.items, dest, self.threshold.value() / 100,
                                 self.move_box.isChecked(), self.unknown_box.isChecked())
        task.returned.connect(self._show_preview)
        task.errored.connect(lambda exc, _d: self._say(str(exc).splitlines()[0], ERROR_STYLE))
        # Sort only once the runner is free (start_sort ignores a click while it is busy, and
        # returned comes before the task ends): a quick click was lost on a loaded machine
        task.finished.connect(lambda: self.sort_button.setEnabled(self.preview is not None))

    def _show_preview(self, preview: jobs.SortPreview) -> None:
        self.preview = preview
        self.table.setRowCount(len(preview.counts))
        for row, (folder, count) in enumerate(sorted(preview.counts.items())):
            self.table.setItem(row, 0, QTableWidgetItem(folder + "/"))  # items show text as text
            self.table.setItem(row, 1, QTableWidgetItem(str(count)))
        verb = "move" if self.move_box.isChecked() else "copy"
        self._say(f"Will {verb} {counted(sum(preview.counts.values()), 'photo')}: {preview.bytes_needed / 1e6:.1f} MB needed, "
                  f"{preview.bytes_free / 1e9:.1f} GB free. Names already taken get a suffix; nothing is overwritten.")

    def start_sort(self) -> None:
        if self.preview is None or self.runner.busy:
            return
        dest = self.destination.text().strip()
        self.settings.sort_destination = dest
        self.sort_button.setEnabled(False)
        task = self.runner.start(jobs.run_sort, self.preview.plan, dest)
        task.yielded.connect(lambda p: self._say(f"{p.done} of {p.total}: {p.name}"))
        task.returned.connect(self._on_sorted)
        # Undo only once the runner is free: returned comes before the task ends, and undo()
        # ignores a click while the runner is busy
        task.finished.connect(lambda: self.undo_button.setEnabled(bool(self.journal_path)))
        task.errored.connect(lambda exc, _d: self._say(str(exc).splitlines()[0], ERROR_STYLE))

    def _on_sorted(self, outcome) -> None:
        self.journal_path, result = outcome
        problems = [why for _, why in result.failed] + ([result.stopped] if result.stopped else [])
        self._say(f"Sorted {counted(result.done, 'photo')}. Journal: {self.journal_path}"
                  + ("; " + "; ".join(problems) if problems else ""), WARN_STYLE if problems else MUTED_STYLE)
        self.preview = None

    def undo(self) -> None:
        if not self.journal_path or self.runner.busy:
            return
        self.undo_button.setEnabled(False)
        task = self.runner.start(jobs.undo_sort, self.journal_path)
        task.returned.connect(lambda result: self._say(f"Undone: {counted(result.done, 'photo')} back where they were."))
        task.errored.connect(lambda exc, _d: self._say(str(exc).splitlines()[0], ERROR_STYLE))

    def _say(self, text: str, style: str = MUTED_STYLE) -> None:
        self.summary.setStyleSheet(style)
        self.summary.setText(text)

    def done(self, result: int) -> None:
        self.runner.shutdown()  # a sort in flight stops at a file boundary, journaled
        super().done(result)

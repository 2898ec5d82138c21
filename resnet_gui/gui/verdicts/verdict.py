"""“Correct” / “Wrong: it is …”: one photo's verdict becomes training data (a journaled copy).

Wiring (the Classify page), under each result's preview or in the row's context::

    from ..verdicts.verdict import VerdictBar
    self.verdict = VerdictBar(self)
    self.verdict.set_dataset(data_dir)                        # the current dataset ('' for none)
    self.verdict.set_photo(prediction.path, prediction.label)  # on selection change
    self.verdict.added.connect(lambda path, cls: ...)         # e.g. bump the Retrain counter

The copy runs on the bar's own TaskRunner and goes into the dataset's journal (shared with
the Label page through ``Dataset.shared``), so Undo on the Label page takes it back, with the
class folder when the verdict created it. A class the dataset does not have yet (the model's
own class names can be of another task) is added only once the user says yes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QMessageBox, QPushButton, QWidget

from ...constants import NONE_FOLDER, NONE_TEXT
from ..styles import ERROR_STYLE, MUTED_STYLE
from ..tasks import TaskRunner
from ..widgets import ElidedLabel, FlowLayout
from . import jobs


class VerdictBar(QWidget):
    added = Signal(str, str)  # photo path, class it was added to

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.data_dir = ""
        self.path = ""
        self.predicted = ""
        self.added_to = ""  # the class the shown photo was just added to (its status line says so)
        self.runner = TaskRunner(self, name="verdict")
        self.correct = QPushButton("Correct", clicked=lambda: self.add_to(self.predicted))
        self.classes = QComboBox(editable=True)  # the class list, or type a new class
        self.classes.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.classes.lineEdit().setPlaceholderText("it is…")
        self.wrong = QPushButton("Wrong: it is", clicked=lambda: self.add_to(self._chosen()))
        self.status = ElidedLabel("", elide=Qt.TextElideMode.ElideRight)  # an error can be long: one line, cut, whole in the tooltip
        self.status.setStyleSheet(MUTED_STYLE)
        self.status.setMinimumHeight(self.correct.sizeHint().height())  # its text centred on the buttons' line
        layout = FlowLayout(self)  # wraps onto a second line rather than widen the window
        for w in (self.correct, self.wrong, self.classes, self.status):
            layout.addWidget(w)
        self._update()

    def set_dataset(self, data_dir: str) -> None:
        from ...core.files.dataset import Dataset

        self.data_dir = data_dir
        names = Dataset.shared(data_dir).class_names() if data_dir else []
        current = self.classes.currentText()
        self.classes.clear()
        self.classes.addItems(names)
        self.classes.addItem(NONE_TEXT, NONE_FOLDER)  # photos of none of the classes: the _none folder
        self.classes.setCurrentText(current)
        if self.added_to and (not data_dir or Dataset.shared(data_dir).copy_in(self.added_to, self.path) is None):
            self.added_to = ""  # that verdict was undone: "added to ..." no longer holds
            self.status.clear()
        self._update()

    def set_photo(self, path: str, predicted: str) -> None:
        self.path, self.predicted = path, predicted
        shown = self.correct.fontMetrics().elidedText(predicted, Qt.TextElideMode.ElideRight, 140)  # a long name
        self.correct.setText(f"Correct ({shown})" if predicted else "Correct")
        self.added_to = ""
        self.status.clear()
        self._update()

    def _chosen(self) -> str:
        """The class typed or picked; the "none of these" entry is the ``_none`` folder."""
        text = self.classes.currentText().strip()
        index = self.classes.findText(text)
        return NONE_FOLDER if index >= 0 and self.classes.itemData(index) == NONE_FOLDER else text

    def add_to(self, class_name: str) -> None:
        if not (self.data_dir and self.path and class_name):  # queued: one runner thread, one batch at a time
            return
        from ...core.files.dataset import Dataset

        names = Dataset.shared(self.data_dir).class_names()
        # "none of these" is the dataset's _none folder, never a new class: nothing to ask
        if class_name != NONE_FOLDER and class_name not in names and not self.ask_new_class(class_name, names):
            self._say(f"not added: {class_name} is not a class of this dataset")
            return
        path = self.path
        task = self.runner.start(jobs.add_photo, self.data_dir, path, class_name, replace=False)
        task.returned.connect(lambda result: self._on_added(path, class_name, result))
        task.errored.connect(lambda exc, _d: self._say(str(exc) or repr(exc), ERROR_STYLE))

    def ask_new_class(self, class_name: str, names: list[str]) -> bool:
        """Yes to add ``class_name`` as a new class folder of the dataset."""
        from pathlib import Path

        shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "") if names else "none yet"
        box = QMessageBox(QMessageBox.Icon.Question, "New class",
                          f"Add a new class \u201c{class_name}\u201d to the dataset {Path(self.data_dir).name}?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(f"Its classes: {shown}.")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _on_added(self, path: str, class_name: str, result) -> None:
        if result is None:
            self._say(f"already in {class_name}")
            return
        if result.failed:
            self._say(result.failed[0][1], ERROR_STYLE)
            return
        self._say(f"added to {NONE_TEXT if class_name == NONE_FOLDER else class_name}")
        self.added_to = class_name if path == self.path else ""
        self.set_dataset(self.data_dir)  # a new class joins the list
        self.added.emit(path, class_name)

    def _say(self, text: str, style: str = MUTED_STYLE) -> None:
        self.status.setStyleSheet(style)
        self.status.setText(text.splitlines()[0] if text else "")

    def _update(self) -> None:
        ready = bool(self.data_dir and self.path)
        self.correct.setEnabled(ready and bool(self.predicted))
        self.wrong.setEnabled(ready)
        tip = "" if self.data_dir else "Choose a dataset on the Label page first"
        self.correct.setToolTip(tip)
        self.wrong.setToolTip(tip)

    def shutdown(self) -> bool:
        return self.runner.shutdown()

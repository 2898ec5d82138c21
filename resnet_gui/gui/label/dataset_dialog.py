"""*Dataset…*: choose the dataset folder. A typed path that does not exist yet is created (a new
dataset starts empty), and a folder that does not look like one subfolder per class (a code
checkout, subfolders without photos, hundreds of subfolders) is adopted only once the user says
so: its subfolders would all become classes."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLineEdit, QMessageBox, QWidget


def confirm_dataset_folder(parent: QWidget | None, data_dir: str) -> bool:
    """True when ``data_dir`` may become the dataset: it looks like one, or the user says yes."""
    from ...core.files.dataset import dataset_warnings

    notes = dataset_warnings(data_dir)
    if not notes:
        return True
    box = QMessageBox(QMessageBox.Icon.Warning, "Not a dataset?",
                      f"{data_dir} does not look like a dataset (one subfolder per class):",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setInformativeText("\u2022 " + "\n\u2022 ".join(notes) + "\n\nEvery subfolder would become a class. "
                           "Use it anyway?")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


class DatasetFolderDialog(QFileDialog):
    """A folder chooser (Qt's own dialog: it lets the accept be checked) that creates a typed
    new folder and asks before adopting one that does not look like a dataset."""

    def __init__(self, parent: QWidget | None = None, start: str = "") -> None:
        super().__init__(parent, "Dataset folder (one subfolder per class; type a new name to create one)", start)
        self.setFileMode(QFileDialog.FileMode.Directory)
        self.setOption(QFileDialog.Option.ShowDirsOnly, True)
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        self.error = ""
        # Qt greys out Choose for a folder that does not exist yet; here that means "create it"
        self.name_edit = self.findChild(QLineEdit, "fileNameEdit")
        buttons = self.findChild(QDialogButtonBox, "buttonBox")
        self.choose_button = buttons.button(QDialogButtonBox.StandardButton.Open) if buttons else None
        if self.name_edit is not None and self.choose_button is not None:
            self.name_edit.textChanged.connect(self._allow_new)  # after Qt's own update: ours has the last word

    def _allow_new(self, text: str) -> None:
        if text.strip() and not os.path.exists(self.chosen()):
            self.choose_button.setEnabled(True)

    def chosen(self) -> str:
        """The typed path (relative to the folder shown), else the folder selected or shown."""
        typed = self.name_edit.text().strip() if self.name_edit is not None else ""
        if typed:
            return os.path.abspath(os.path.join(self.directory().absolutePath(), os.path.expanduser(typed)))
        files = self.selectedFiles()
        return os.path.abspath(files[0]) if files else ""

    def accept(self) -> None:
        folder = self.chosen()
        if folder and not os.path.exists(folder):
            try:
                os.makedirs(folder)
            except OSError as exc:
                self.error = f"cannot create {folder}: {exc.strerror or exc}"
                QMessageBox.warning(self, "Dataset folder", self.error)
                return
        if folder and os.path.isdir(folder) and not confirm_dataset_folder(self, folder):
            return  # stay in the dialog: choose another one
        super().accept()

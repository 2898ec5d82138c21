"""The Fine-tune form's class table: each class of the folder with its images, and, once the
run has split them, how many went to training and to validation."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _count_item(n: int) -> QTableWidgetItem:
    item = QTableWidgetItem(str(n))
    item.setTextAlignment(_RIGHT)
    return item


class ClassTable(QTableWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(0, 4, parent)
        self.setHorizontalHeaderLabels(["Class", "Images", "Train", "Val"])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.verticalHeader().hide()
        self.setTabKeyNavigation(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.setMinimumHeight(110)

    def show_classes(self, names: list[str], counts: list[int]) -> None:
        """The folder's classes and their images ([]: none); the split columns empty."""
        self.setRowCount(len(names))
        for r, (name, n) in enumerate(zip(names, counts)):
            self.setItem(r, 0, QTableWidgetItem(name))
            self.setItem(r, 1, _count_item(n))

    def show_split(self, event) -> None:
        """The train / val columns, from the core's DataReady."""
        rows = {self.item(r, 0).text(): r for r in range(self.rowCount())}
        for name, n_train, n_val in zip(event.classes, event.train_counts, event.val_counts):
            r = rows.get(name)
            if r is not None:
                self.setItem(r, 2, _count_item(n_train))
                self.setItem(r, 3, _count_item(n_val))

    def counts(self) -> dict[str, int]:
        """Class -> images, as the table shows them."""
        return {self.item(r, 0).text(): int(self.item(r, 1).text()) for r in range(self.rowCount())}

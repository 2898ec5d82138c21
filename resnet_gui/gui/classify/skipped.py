"""The Skipped tab: files that could not be classified, where they are, why, and what to do."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..styles import plain_tooltip

if TYPE_CHECKING:
    from ...core.infer import Prediction

# the core's reasons (core/data/images.py), each with what the user can do about it
HINTS = {
    "not an image Pillow can read": "is it a photo? Open it in an image viewer; save it as JPEG or PNG",
    "truncated or damaged image data": "the file is damaged: copy it again from the camera or backup",
    "empty file": "the file holds nothing: copy it again",
    "permission denied": "this account may not read it: check the file's permissions",
    "file not found": "it was moved or deleted during the run",
}


def explained(reason: str) -> str:
    hint = HINTS.get(reason)
    return f"{reason} ({hint})" if hint else reason


class SkippedTable(QTableWidget):
    """File, folder and reason of each file that could not be classified."""

    def __init__(self, parent=None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["File", "Folder", "Reason"])
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.horizontalHeader()
        for col, width in ((0, 200), (1, 200)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, width)
        header.setStretchLastSection(True)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        self._predictions: list[Prediction] = []

    def append(self, items: list[Prediction]) -> None:
        """Predictions whose ``error`` says why the file was skipped."""
        for item in items:
            row = self.rowCount()
            self.insertRow(row)
            folder = os.path.dirname(item.path)
            reason = explained(item.error or "")
            for col, text, tip in ((0, os.path.basename(item.path), item.path), (1, os.path.basename(folder) or folder,
                                                                                 folder), (2, reason, reason)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(plain_tooltip(tip))
                self.setItem(row, col, cell)
            self._predictions.append(item)

    def clear_rows(self) -> None:
        self.setRowCount(0)
        self._predictions.clear()

    def predictions(self) -> list[Prediction]:
        return list(self._predictions)

    def entries(self) -> list[tuple[str, str]]:
        return [(p.path, p.error) for p in self._predictions]

"""A grid of results: large thumbnails with the label and a confidence badge, and a "?"
badge on photos that are not one of the model's classes.

It is a second view on the results' own model (``gui/results_model.py``), beside the Classify
page's table: it shows that model's ``COL_GRID`` column, so the rows arrive, clear and carry
their thumbnails once, for both views::

    grid = ResultsGrid(results_panel.model)
    grid.activated_path.connect(preview.show_path)   # whatever shows one photo
"""

from __future__ import annotations

import os

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyledItemDelegate

from ..results_model import COL_GRID, CONFIDENCE_ROLE, GRID_THUMB, PATH_ROLE, UNKNOWN_ROLE, ResultsModel
from ..unknown_badge import draw_badge
from ..widgets import icon_grid

LOW = 0.5  # badges below this are amber


class BadgeDelegate(QStyledItemDelegate):
    """The usual icon and label, plus the confidence in a small box at the top right and, on a
    photo that is not one of the model's classes, a "?" at the top left."""

    def paint(self, painter: QPainter, option, index) -> None:
        super().paint(painter, option, index)
        if index.data(UNKNOWN_ROLE):
            draw_badge(painter, QRect(option.rect.left() + 4, option.rect.top() + 4, 20, 18))
        confidence = index.data(CONFIDENCE_ROLE)
        if confidence is None:
            return
        text = f"{confidence:.0%}"
        rect = QRect(option.rect.right() - 44, option.rect.top() + 4, 40, 18)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#1e5e2f") if confidence >= LOW else QColor("#b35c00"))
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class ResultsGrid(QListView):
    activated_path = Signal(str)

    def __init__(self, model: ResultsModel, parent=None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setModelColumn(COL_GRID)
        self.setItemDelegate(BadgeDelegate(self))
        icon_grid(self, GRID_THUMB, QSize(GRID_THUMB + 26, GRID_THUMB + 34))
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.activated.connect(lambda index: self.activated_path.emit(index.data(PATH_ROLE)))

    def current_item(self):
        """The current cell's Prediction (None when there is none)."""
        index = self.currentIndex()
        return self.model().item(index.row()) if index.isValid() else None

    def selected_paths(self) -> list[str]:
        return [i.data(PATH_ROLE) for i in self.selectionModel().selectedIndexes()]

    def caption(self, row: int) -> str:
        item = self.model().item(row)
        unknown = " (? not one of the classes)" if item.unknown else ""
        return f"{os.path.basename(item.path)}: {item.label} {item.confidence:.0%}{unknown}"

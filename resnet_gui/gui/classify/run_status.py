"""A classification's progress, speed and Cancel button, shown in the window's status bar.

The count is written in the bar itself ("Classifying… 120 of 465"): a QProgressBar repaints at
once on setValue, while a status-bar message waits for the next paint, so a count shown beside
the bar in a message lagged behind it. One widget, one update, no lag."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QStyle, QWidget


class RunStatus(QWidget):
    """Hidden while nothing runs. ``cancel_requested`` on a click or Esc."""

    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(250)
        self.progress.setFormat("")
        self.rate_label = QLabel()
        self.rate_label.setMinimumWidth(90)
        self.cancel_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserStop), "Cancel")
        self.cancel_button.setToolTip("Stop classifying (Esc)")
        self.cancel_button.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.progress, self.rate_label, self.cancel_button):
            layout.addWidget(widget)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        self.setVisible(running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the files are counted
            self.rate_label.clear()

    def show_progress(self, done: int, total: int, rate: float = 0.0) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setFormat(f"Classifying… {done:,} of {total:,}")  # set before the value: one repaint
        self.progress.setValue(done)
        self.rate_label.setText(f"{rate:.1f} images/s" if rate else "")

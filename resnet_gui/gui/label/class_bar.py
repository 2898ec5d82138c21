"""The classes as buttons (keys 1-9 in order) with their counts, and a field to add one;
they wrap onto more lines rather than widen the window."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit, QPushButton, QWidget

from ..widgets import FlowLayout

MAX_KEYS = 9


class ClassBar(QWidget):
    """``set_classes([(name, count), ...])``; ``chosen(name)`` when a button is clicked or a new
    name is typed and Enter pressed (the page creates the folder and labels with it)."""

    chosen = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self)
        self.buttons: list[QPushButton] = []
        self.add_field = QLineEdit(placeholderText="New class: type a name, Enter")
        self.add_field.setFixedWidth(230)
        self.add_field.returnPressed.connect(self._on_add)
        self._layout.addWidget(self.add_field)
        self.names: list[str] = []

    def set_classes(self, classes: list[tuple[str, int]]) -> None:
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        self.names = [name for name, _ in classes]
        for i, (name, count) in enumerate(classes):
            key = f"{i + 1}: " if i < MAX_KEYS else ""
            button = QPushButton(f"{key}{name} ({count})")  # QPushButton shows text as text
            button.setToolTip(f"Label the selected photos as this class{' (key ' + str(i + 1) + ')' if key else ''}")
            button.clicked.connect(lambda _=False, n=name: self.chosen.emit(n))
            self._layout.insertWidget(i, button)
            self.buttons.append(button)

    def name_for_key(self, key: int) -> str | None:
        """The class on key ``key`` (1-9), if there is one."""
        return self.names[key - 1] if 1 <= key <= min(MAX_KEYS, len(self.names)) else None

    def _on_add(self) -> None:
        name = self.add_field.text().strip()
        if name:
            self.add_field.clear()
            self.chosen.emit(name)

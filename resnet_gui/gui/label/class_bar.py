"""The classes as buttons (keys 1-9 in order) with their counts, "none of these" on key 0,
and a field to add a class; they wrap onto more lines rather than widen the window."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QLineEdit, QPushButton, QWidget

from ...constants import NONE_FOLDER, NONE_TEXT
from ..widgets import FlowLayout

MAX_KEYS = 9


class ClassBar(QWidget):
    """``set_classes([(name, count), ...])``; ``chosen(name)`` when a button is clicked or a new
    name is typed and Enter pressed (the page creates the folder and labels with it);
    ``menu_requested(name, global position)`` on a right click on a class (rename, merge, remove)."""

    chosen = Signal(str)
    menu_requested = Signal(str, QPoint)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self)
        self.buttons: list[QPushButton] = []
        self.add_field = QLineEdit(placeholderText="New class: type a name, Enter")
        self.add_field.setFixedWidth(230)
        self.add_field.returnPressed.connect(self._on_add)
        # photos of none of the classes: always there, last, on key 0 (the _none folder, not a class)
        self.none_button = QPushButton()
        self.none_button.setToolTip(f"Label the selected photos as none of the classes (key 0): they go to "
                                    f"{NONE_FOLDER}/, and training learns to say \u201cnot one of my classes\u201d for such photos")
        self.none_button.clicked.connect(lambda: self.chosen.emit(NONE_FOLDER))
        self._layout.addWidget(self.none_button)
        self._layout.addWidget(self.add_field)
        self.names: list[str] = []
        self.set_none_count(0)

    def set_none_count(self, count: int) -> None:
        self.none_button.setText(f"0: {NONE_TEXT} ({count})")

    def set_classes(self, classes: list[tuple[str, int]]) -> None:
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        self.names = [name for name, _ in classes]
        for i, (name, count) in enumerate(classes):
            key = f"{i + 1}: " if i < MAX_KEYS else ""
            button = QPushButton(f"{key}{name} ({count})")  # QPushButton shows text as text
            button.setToolTip(f"Label the selected photos as this class{' (key ' + str(i + 1) + ')' if key else ''}"
                              "; right click: rename, merge or remove the class")
            button.clicked.connect(lambda _=False, n=name: self.chosen.emit(n))
            button.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            button.customContextMenuRequested.connect(
                lambda pos, n=name, b=button: self.menu_requested.emit(n, b.mapToGlobal(pos)))
            self._layout.insertWidget(i, button)
            self.buttons.append(button)

    def name_for_key(self, key: int) -> str | None:
        """The class on key ``key`` (1-9), if there is one; key 0: the ``_none`` folder."""
        if key == 0:
            return NONE_FOLDER
        return self.names[key - 1] if 1 <= key <= min(MAX_KEYS, len(self.names)) else None

    def _on_add(self) -> None:
        name = self.add_field.text().strip()
        if name:
            self.add_field.clear()
            self.chosen.emit(name)

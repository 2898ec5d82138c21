"""The *Recent weights* menu (File menu and toolbar): the models opened lately, newest first,
filled each time it opens, so a file deleted since shows greyed out."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QMenu

from .settings import AppSettings


class RecentWeightsMenu(QMenu):
    def __init__(self, settings: AppSettings, open_weights: Callable[[str], None], parent=None) -> None:
        super().__init__("&Recent weights", parent)
        self.settings, self.open_weights = settings, open_weights
        self.aboutToShow.connect(self.fill)

    def fill(self) -> None:
        self.clear()
        recent = self.settings.recent_weights
        for path in recent:
            act = self.addAction(Path(path).name)  # the name only: the full path is the tooltip
            act.setToolTip(path)
            act.setStatusTip(path)
            act.setEnabled(Path(path).is_file())
            act.triggered.connect(lambda _=False, p=path: self.open_weights(p))
        if not recent:
            self.addAction("(none yet)").setEnabled(False)
        else:
            self.addSeparator()
            self.addAction("Clear list", self.settings.clear_recent_weights)

"""Mouse-wheel scrolling over a form must scroll the form, not change the spin box or combo box
that happens to be under the pointer (an image size of 160 became 96 that way): those take the
wheel only once they have the focus (a click or Tab), and pass it to their scroll area otherwise."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QComboBox, QScrollArea, QWidget


class WheelGuard(QObject):
    """``WheelGuard.install(container)``: every spin box and combo box under ``container``."""

    @classmethod
    def install(cls, container: QWidget) -> WheelGuard:
        guard = cls(container)
        for widget in container.findChildren(QAbstractSpinBox) + container.findChildren(QComboBox):
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: a wheel does not give focus
            widget.installEventFilter(guard)
        return guard

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        area = watched.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:
            QCoreApplication.sendEvent(area.viewport(), event)  # the form scrolls instead
        return True  # never the value


def no_sideways_scroll(area: QScrollArea) -> None:
    """A form in ``area`` scrolls up and down only: a horizontal wheel, or a focused field made
    visible, never moves it sideways (the labels on the left would leave the view)."""
    bar = area.horizontalScrollBar()
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    bar.valueChanged.connect(lambda value: value and bar.setValue(0))

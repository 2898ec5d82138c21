"""Widgets the pages share, in one place so that no page imports another: a layout that wraps
its widgets onto more lines and a label that elides its text (they keep the pages narrow
enough for a 1024 px or smaller screen), and thumbnail grids that use their whole width."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QLayout, QListView, QSizePolicy, QWidgetItem

from .styles import plain_tooltip


class FlowLayout(QLayout):
    """Widgets left to right, wrapping onto the next line when the width runs out (Qt's flow
    layout example): twenty class buttons take two lines instead of a 2,000 px wide window."""

    def __init__(self, parent=None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:
        self._items.append(item)

    def insertWidget(self, index: int, widget) -> None:
        self.addChildWidget(widget)
        self._items.insert(index, QWidgetItem(widget))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _place(self, rect: QRect, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, line = area.x(), area.y(), 0
        for item in self._items:
            if item.widget() is not None and item.widget().isHidden():
                continue
            hint = item.sizeHint().boundedTo(QSize(max(1, area.width()), 1 << 20))  # never wider than the line
            if x + hint.width() > area.right() + 1 and line > 0:
                x, y, line = area.x(), y + line + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y() + margins.bottom()


class ElidedLabel(QLabel):
    """One line of plain text, shortened (in the middle by default: a long path keeps its
    start and its end) instead of widening the window; the whole text is in the tooltip
    when it is cut."""

    def __init__(self, text: str = "", parent=None, elide=Qt.TextElideMode.ElideMiddle) -> None:
        super().__init__(parent)
        self.elide = elide
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)  # shrinks to the minimum below
        self.setMinimumWidth(24)  # a narrow window cuts the text, not the window
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(plain_tooltip(text) if self.fontMetrics().horizontalAdvance(text) > self.width() else "")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.setText(self.text())  # the tooltip, when the text no longer fits

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        self.drawFrame(painter)  # a style sheet's box, if any
        text = self.fontMetrics().elidedText(self.text(), self.elide, self.contentsRect().width())
        self.style().drawItemText(painter, self.contentsRect(), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                                  self.palette(), self.isEnabled(), text, self.foregroundRole())

    def sizeHint(self) -> QSize:
        return QSize(min(super().sizeHint().width(), 400), super().sizeHint().height())


def icon_grid(view, icon: int, cell: QSize) -> None:
    """A list view as a grid of ``icon``-pixel thumbnails in ``cell``-sized cells that fill the
    width (the Label page, the results grid, the Review lists): uniform cells, so thousands of
    items are laid out without measuring each, and no dragging around."""
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setIconSize(QSize(icon, icon))
    view.setGridSize(cell)
    SpreadColumns(view, cell)
    view.setUniformItemSizes(True)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setMovement(QListView.Movement.Static)


class SpreadColumns(QObject):
    """Keeps an icon-mode list view's cells at least ``cell`` wide and spreads the leftover
    width over the columns, so a wide pane shows no empty strip at its right edge."""

    def __init__(self, view, cell: QSize) -> None:
        super().__init__(view)
        self.view, self.cell = view, cell
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            width = self.view.viewport().width() - 4  # a little slack: a full row must not wrap
            columns = max(1, width // self.cell.width())
            size = QSize(max(self.cell.width(), width // columns), self.cell.height())
            if self.view.gridSize() != size:
                self.view.setGridSize(size)
        return False

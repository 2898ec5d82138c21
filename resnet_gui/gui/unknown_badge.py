"""The "?" badge of a photo that is not one of the model's classes (its out-of-class score is
above the model's threshold, core/trust): one look for the results table, the grid and the
preview."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap

UNKNOWN_COLOUR = "#6d28d9"  # violet: neither the amber of low confidence nor the red of errors
BADGE_TEXT = "?"


def unknown_tooltip(item) -> str:
    """One line for a core Prediction marked unknown."""
    score = f" (out-of-class score {item.ood_score:.3g})" if item.ood_score is not None else ""
    return f"? Not one of this model's classes{score}; closest: {item.label} {item.confidence:.1%}"


def draw_badge(painter: QPainter, rect: QRect) -> None:
    """A violet rounded box with a white "?" in ``rect``."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(UNKNOWN_COLOUR))
    painter.drawRoundedRect(rect, 4, 4)
    font = QFont(painter.font())
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, BADGE_TEXT)
    painter.restore()


def badge_pixmap(size: int = 18) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    draw_badge(painter, QRect(0, 0, size, size))
    painter.end()
    return pixmap

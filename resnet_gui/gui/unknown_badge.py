"""The "?" badge of a photo that is not one of the model's classes (its out-of-class score is
above the model's threshold, core/trust): one look for the results table, the grid and the
preview."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap

UNKNOWN_COLOUR = "#6d28d9"  # violet: neither the amber of low confidence nor the red of errors
BADGE_TEXT = "?"


def score_text(score: float) -> str:
    """3502.6 -> "3,503", 0.8231 -> "0.823": the scores' scale depends on the method (core/trust)."""
    return f"{score:,.0f}" if abs(score) >= 100 else f"{score:.3g}"


def score_note(item, threshold: float | None = None) -> str:
    """" (out-of-class score 3,503; this model's limit 2,238)", or "" without a score."""
    if item.ood_score is None:
        return ""
    limit = f"; this model's limit {score_text(threshold)}" if threshold is not None else ""
    return f" (out-of-class score {score_text(item.ood_score)}{limit})"


def unknown_tooltip(item) -> str:
    """One line for a core Prediction marked unknown."""
    return f"? Not one of this model's classes{score_note(item)}; closest: {item.label} {item.confidence:.1%}"


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

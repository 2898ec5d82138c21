"""The Fine-tune page's charts: per-epoch curves (QtCharts); the confusion matrix is in
``gui/confusion.py`` (the Review page shows one too).

A small setter (``add_epoch``, ``add_batch``) and a getter the tests read back.
"""

from __future__ import annotations

import math

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QLogValueAxis, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

TRAIN_COLOUR = QColor("#3d7bd9")
VAL_COLOUR = QColor("#e07b39")
SMOOTHING = 0.1  # weight of each new batch's loss in the running (exponential) average
LOG_RANGE = 20.0  # a loss axis spanning more than this factor becomes logarithmic


class CurveChart(QChartView):
    """Train vs validation values per epoch. ``percent``: values in 0..1 shown as 0..100 %."""

    def __init__(self, title: str, percent: bool = False, parent=None) -> None:
        self._chart = QChart()
        super().__init__(self._chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(200)  # below this QtCharts turns the axis labels into "..."
        self.setMinimumWidth(160)
        self._percent = percent
        self._title = title
        chart = self._chart
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.setMargins(QMargins(4, 4, 8, 4))
        chart.setBackgroundRoundness(0)
        chart.setTitle(f"{title} per epoch")
        font = QFont(self.font())
        font.setBold(True)
        chart.setTitleFont(font)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.series: dict[str, QLineSeries] = {}
        lines = [("train", "train", TRAIN_COLOUR), ("val", "validation", VAL_COLOUR)]
        if not percent:  # the loss also as it comes, batch by batch (smoothed)
            lines.append(("batch", "train, per batch", TRAIN_COLOUR.lighter(140)))
        for name, label, colour in lines:
            s = QLineSeries()
            s.setName(label)
            pen = QPen(colour)
            pen.setWidthF(1.2 if name == "batch" else 2.0)
            s.setPen(pen)
            s.setPointsVisible(name != "batch")
            s.setMarkerSize(5)
            chart.addSeries(s)
            self.series[name] = s
        self._smoothed: float | None = None
        self._x = QValueAxis()
        self._x.setLabelFormat("%d")
        self._y = QValueAxis()
        self._y.setLabelFormat("%d%%" if percent else "%.2f")
        chart.addAxis(self._x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self._y, Qt.AlignmentFlag.AlignLeft)
        for s in self.series.values():
            s.attachAxis(self._x)
            s.attachAxis(self._y)
        self.clear()

    def clear(self, epochs: int = 0) -> None:
        for s in self.series.values():
            s.clear()
        self._smoothed = None
        self._epochs = max(1, epochs)
        self._rescale()

    def add_epoch(self, epoch: int, train: float, val: float) -> None:
        """One point per series; accuracy in 0..1 (drawn as percent)."""
        scale = 100.0 if self._percent else 1.0
        for name, value in (("train", train), ("val", val)):
            if math.isfinite(value):
                self.series[name].append(QPointF(epoch, value * scale))
        self._epochs = max(self._epochs, epoch)
        self._rescale()

    def add_batch(self, position: float, loss: float) -> None:
        """A batch's loss at ``position`` epochs (1.5: half way through epoch 2), smoothed."""
        if "batch" not in self.series or not math.isfinite(loss):
            return
        self._smoothed = loss if self._smoothed is None else self._smoothed + SMOOTHING * (loss - self._smoothed)
        self.series["batch"].append(QPointF(position, self._smoothed))
        self._rescale()

    def points(self) -> dict[str, list[tuple[float, float]]]:
        """{"train": [(epoch, value), ...], "val": [...]} in the units given to add_epoch."""
        scale = 100.0 if self._percent else 1.0
        return {name: [(p.x(), p.y() / scale) for p in s.points()] for name, s in self.series.items()}

    def _rescale(self) -> None:
        n = max(1, self._epochs)
        # from 0 (the batches of epoch 1 lie before 1) with room for the last marker
        self._x.setRange(0, n + 0.3)
        self._x.setTickType(QValueAxis.TickType.TicksDynamic)
        self._x.setTickAnchor(0)
        self._x.setTickInterval(next(step for step in (1, 2, 5, 10, 20, 50, 100, 200, 500) if n / step <= 8))
        if self._percent:
            self._y.setRange(0, 104)  # room above 100 % for a marker
            self._y.setTickType(QValueAxis.TickType.TicksDynamic)
            self._y.setTickAnchor(0)
            self._y.setTickInterval(20)
            return
        values = [p.y() for s in self.series.values() for p in s.points() if p.y() > 0]
        top, low = (max(values), min(values)) if values else (1.0, 1.0)
        self._use_log_axis(top / low > LOG_RANGE)
        if isinstance(self._y, QLogValueAxis):
            self._y.setRange(low / 1.3, top * 1.3)
        else:
            self._y.setRange(0, max(0.1, top * 1.1))
            self._y.applyNiceNumbers()

    def _use_log_axis(self, log: bool) -> None:
        """One early loss of 17.5 must not flatten the rest: a wide range gets a log axis."""
        if log == isinstance(self._y, QLogValueAxis):
            return
        old = self._y
        self._y = QLogValueAxis() if log else QValueAxis()
        self._y.setLabelFormat("%.2g" if log else "%.2f")
        self._chart.addAxis(self._y, Qt.AlignmentFlag.AlignLeft)
        for s in self.series.values():
            s.detachAxis(old)
            s.attachAxis(self._y)
        self._chart.removeAxis(old)

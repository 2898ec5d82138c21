"""A horizontal bar chart of one image's top-k guesses (QtCharts), best at the top. Clicking a
bar chooses its class (``class_chosen``): the preview's heatmap shows that class."""

from __future__ import annotations

import html

from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QHorizontalBarSeries, QValueAxis
from PySide6.QtCore import QMargins, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter

BAR_COLOUR = QColor("#3d7bd9")
CHOSEN_COLOUR = QColor("#c2410c")  # the bar whose heatmap is shown


class TopKChart(QChartView):
    """``set_predictions([(label, prob), ...])`` draws them; ``bars()`` reads them back;
    ``set_chosen(label)`` marks one bar (the class the heatmap shows)."""

    class_chosen = Signal(str)  # a bar was clicked: its class name, as the model names it

    def __init__(self, parent=None) -> None:
        self._chart = QChart()
        super().__init__(self._chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(150)  # five bars stay readable; the window fits 960x540 (1080p at 200 %)
        chart = self._chart
        chart.legend().hide()
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.setMargins(QMargins(4, 4, 12, 4))
        chart.setBackgroundRoundness(0)
        self._series = QHorizontalBarSeries()
        self._series.setLabelsVisible(True)
        self._series.setLabelsFormat("@value %")
        self._series.setLabelsPrecision(3)
        self._series.setLabelsPosition(QHorizontalBarSeries.LabelsPosition.LabelsOutsideEnd)
        self._series.setBarWidth(0.7)
        chart.addSeries(self._series)
        self._axis_y = QBarCategoryAxis()
        self._axis_y.setGridLineVisible(False)
        self._axis_y.setTruncateLabels(False)  # class names matter more than bar length
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() + 0.5)
        self._axis_y.setLabelsFont(font)
        self._axis_x = QValueAxis()
        self._axis_x.setRange(0, 100)
        self._axis_x.setLabelFormat("%d%%")
        self._axis_x.setTickCount(6)
        # each bar says its own percentage; without the axis's row of labels all five class
        # names fit at the chart's smallest height (QtCharts drops names that would overlap)
        self._axis_x.setLabelsVisible(False)
        chart.addAxis(self._axis_y, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(self._axis_x, Qt.AlignmentFlag.AlignBottom)
        self._series.attachAxis(self._axis_y)
        self._series.attachAxis(self._axis_x)
        self._predictions: list[tuple[str, float]] = []
        self._bar_set: QBarSet | None = None
        self._chosen = ""
        self._series.clicked.connect(self._on_clicked)
        self.set_predictions([])

    def set_predictions(self, predictions: list[tuple[str, float]]) -> None:
        """Show [(label, probability in 0..1), ...], best first."""
        self._predictions = [(str(label), float(prob)) for label, prob in predictions]
        self._series.clear()
        shown = list(reversed(self._predictions))  # horizontal bars grow upwards: best on top
        bar_set = QBarSet("probability")
        bar_set.setColor(BAR_COLOUR)
        bar_set.setBorderColor(BAR_COLOUR)
        bar_set.setLabelColor(self.palette().text().color())
        bar_set.setSelectedColor(CHOSEN_COLOUR)
        self._bar_set = bar_set
        for _, prob in shown:
            bar_set.append(prob * 100.0)
        self._axis_y.clear()
        # the axis reads its labels as rich text: class names are shown as they are
        self._axis_y.append(_unique_labels([html.escape(label, quote=False) for label, _ in shown]))
        if shown:
            self._series.append(bar_set)
        # always 0-100 %: a 39 % guess must look like 39 %, not fill the chart
        self._axis_x.setRange(0, 100)
        self._chart.setTitle(f"Top {len(shown)} guesses" if shown else "Select an image to see its top guesses")
        self.set_chosen(self._chosen)

    def set_chosen(self, label: str) -> None:
        """Mark ``label``'s bar ("" or a label not shown: none)."""
        self._chosen = label
        if self._bar_set is None:
            return
        self._bar_set.deselectAllBars()
        names = [name for name, _ in reversed(self._predictions)]
        if label in names and self._series.count():
            self._bar_set.selectBar(names.index(label))

    def chosen_bar(self) -> str:
        """The marked bar's class ("" when none is marked)."""
        if self._bar_set is None or not self._series.count():
            return ""
        names = [name for name, _ in reversed(self._predictions)]
        selected = self._bar_set.selectedBars()
        return names[selected[0]] if selected else ""

    def bar_centre(self, label: str):
        """Where ``label``'s bar is drawn, in the view's coordinates (for tests and tooltips)."""
        names = [name for name, _ in reversed(self._predictions)]
        value = self._predictions[[n for n, _ in self._predictions].index(label)][1] * 100.0
        point = self._chart.mapToPosition(self._chart_point(value / 2, names.index(label)), self._series)
        return self.mapFromScene(self._chart.mapToScene(point))

    @staticmethod
    def _chart_point(x: float, y: float):
        from PySide6.QtCore import QPointF

        return QPointF(x, y)

    def _on_clicked(self, index: int, _bar_set) -> None:
        names = [name for name, _ in reversed(self._predictions)]
        if 0 <= index < len(names):
            self.class_chosen.emit(names[index])

    def bars(self) -> list[tuple[str, float]]:
        """What is drawn, best first, as (category label, probability 0..1)."""
        sets = self._series.barSets()
        if not sets:
            return []
        categories = [html.unescape(c) for c in self._axis_y.categories()]
        values = [sets[0].at(i) / 100.0 for i in range(sets[0].count())]
        return list(reversed(list(zip(categories, values))))

    def axis_range(self) -> tuple[float, float]:
        return self._axis_x.min(), self._axis_x.max()

    def predictions(self) -> list[tuple[str, float]]:
        return list(self._predictions)


def _unique_labels(labels: list[str]) -> list[str]:
    """A category axis needs distinct names; repeat labels get an invisible suffix."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        n = seen.get(label, 0)
        seen[label] = n + 1
        out.append(label + "\u200b" * n)
    return out


def fit_topk_spin(spin, num_classes: int, preferred: int, keep: int) -> int:
    """The Top-k box for a model of ``num_classes``: at most its classes ("2 of 2", never
    "5 of 2"); the user's ``preferred`` k comes back with a model of more classes (set without
    signals, so the setting changes only when the user changes it). Returns the k shown."""
    with QSignalBlocker(spin):
        spin.setMaximum(max(1, min(keep, num_classes)))
        spin.setValue(min(preferred, num_classes))
        spin.setSuffix(f" of {num_classes}")
    return spin.value()

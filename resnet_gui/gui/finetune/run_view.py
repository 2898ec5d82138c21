"""The Fine-tune page's right side: how a run goes and how it ended.

:class:`RunView` has one setter per core event (``show_stage``, ``show_data``,
``show_progress``, ``show_epoch``, ``show_done``) plus ``begin``, ``show_cancelling`` and
``show_error``; the getters (``points``, ``epochs_seen``, ``confusion``) are what tests read.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSplitter, QStyle,
                               QVBoxLayout, QWidget)

from ...core.text import counted
from ...core.train.events import format_duration
from ..styles import ERROR, MUTED_STYLE, OK, WARN, WARN_STYLE, box_style, plain_tooltip
from ..confusion import CELL, ConfusionPanel
from ..thumbnails import Thumbnails
from .charts import CurveChart

MAX_SKIPPED_LISTED = 40
FOLLOW_MS = 1000  # how long after a run the area keeps scrolling to its result while it is laid out
ACCURACY_GAP = 0.10  # validation accuracy this far above training accuracy gets the note below
ACCURACY_NOTE = ("Training accuracy is below validation accuracy: expected, as it is measured on augmented "
                 "photos (random crops, flips, colour changes), which are harder than the plain validation photos.")

PHASES = {  # PhaseProgress.phase -> what the bar says, and whether it counts images
    "reading": ("Reading photos", True),
    "features": ("Computing features", True),
    "validating": ("Validating", True),
    "saving": ("Saving the model", False),
    "calibrating": ("Calibrating confidence", True),
}

BANNERS = {  # Done.reason -> (title, colours)
    "completed": ("✔ Finished", OK),
    "early_stopping": ("✔ Stopped early", OK),
    "cancelled": ("■ Cancelled", WARN),
    "nan": ("✖ Stopped: the loss became NaN", ERROR),
    "error": ("✖ Training failed", ERROR),
}


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


class RunView(QWidget):
    """Progress, status, curves, the result banner, the confusion matrix and "Use this model".
    ``use_model_requested(path)``: the user wants to classify with the run's checkpoint."""

    use_model_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.epochs_seen: list = []  # EpochEnd events of the current run
        self.last_done = None  # core Done of the last run
        self.cancelling = False
        self._run_eta = ""  # the training steps' ETA, shown again after a phase between epochs
        self._build()
        self.use_button.clicked.connect(self._use_model)
        self._clear_results()

    def _build(self) -> None:
        SP = QStyle.StandardPixmap
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.rate_label = QLabel()
        self.rate_label.setMinimumWidth(120)
        self.rate_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.rate_label)
        self.status_label = QLabel("Not started.")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)  # core messages hold paths
        self.status_label.setStyleSheet(MUTED_STYLE)
        self.skipped_label = QLabel()
        self.skipped_label.setStyleSheet(WARN_STYLE)
        self.accuracy_note = QLabel(ACCURACY_NOTE)  # shown when training accuracy lags far behind
        self.accuracy_note.setWordWrap(True)
        self.accuracy_note.setStyleSheet(MUTED_STYLE)

        self.loss_chart = CurveChart("Loss")
        self.acc_chart = CurveChart("Accuracy", percent=True)
        charts = QWidget()
        charts_layout = QHBoxLayout(charts)
        charts_layout.setContentsMargins(0, 0, 0, 0)
        charts_layout.addWidget(self.loss_chart)
        charts_layout.addWidget(self.acc_chart)

        self.result_label = QLabel()  # rich text: a bold title over the escaped message
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.thumbnails = Thumbnails(self)
        self.confusion_panel = ConfusionPanel(self.thumbnails)
        self.confusion = self.confusion_panel.matrix
        # a row of thumbnails under its title; below the curves' minimum, the area scrolls (the window
        # still fits 960x540, 1080p at 200 %)
        self.confusion_panel.setMinimumHeight(CELL.height() + 2 * self.fontMetrics().height())
        self.confusion_title = QLabel("<b>Confusion matrix</b> <span style='color:gray'>· validation photos of "
                                      "the best epoch · rows: true class, columns: predicted</span>")
        self.confusion_title.setWordWrap(True)
        self.use_button = QPushButton(self.style().standardIcon(SP.SP_DialogApplyButton),
                                      "Use this model for classification")
        self.use_button.setToolTip("Load the trained model in the Classify tab")
        use_row = QHBoxLayout()
        use_row.addWidget(self.result_label, 1)
        use_row.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignTop)
        self.result = QWidget()  # shown once a run has ended: the curves have the room until then
        result_layout = QVBoxLayout(self.result)
        result_layout.setContentsMargins(0, 0, 0, 0)
        result_layout.addLayout(use_row)
        result_layout.addWidget(self.confusion_title)
        result_layout.addWidget(self.confusion_panel, 1)

        self.charts = charts
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(charts)
        self.splitter.addWidget(self.result)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        # curves, banner, matrix and a row of photos need more than a 600-pixel screen has: the
        # area scrolls rather than squeezing the photos out of sight
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.splitter)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._follow_result = False  # a run has just ended: keep the result scrolled into view
        self.scroll.verticalScrollBar().rangeChanged.connect(self._scroll_to_result)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addLayout(progress_row)
        layout.addWidget(self.status_label)
        layout.addWidget(self.skipped_label)
        layout.addWidget(self.accuracy_note)
        layout.addWidget(self.scroll, 1)

    # ================================================================ setters

    def begin(self, classes: list[str], epochs: int) -> None:
        """A run starts: clear the last one's results."""
        self.classes = list(classes)
        self.epochs_seen = []
        self.last_done = None
        self.cancelling = False
        self._clear_results()
        self.loss_chart.clear(epochs)
        self.acc_chart.clear(epochs)
        self.progress.setRange(0, 0)
        self.progress.setFormat("Starting…")
        self.rate_label.clear()
        self._run_eta = ""
        self.status_label.setText("Starting (the first run also loads PyTorch)…")

    def show_stage(self, event) -> None:
        self.status_label.setText(_sentence(event.message) + "…")
        self.progress.setRange(0, 0)
        self.progress.setFormat(event.message)

    def show_phase(self, e) -> None:
        """PhaseProgress: a phase outside the training steps, with its count and ETA."""
        title, counted = PHASES.get(e.phase, (_sentence(e.phase), True))
        eta = format_duration(e.eta_seconds)
        eta = f" · ETA {eta}" if eta != "–" else ""  # none until there is a rate
        # all in the bar's text, set first: setValue repaints the bar at once, while a label's
        # text waits for the next paint and would lag behind a busy bar
        self.progress.setFormat((f"{title} · {e.done:,} / {e.total:,}" if counted else f"{title}…") + eta)
        self.progress.setRange(0, max(1, e.total))
        self.progress.setValue(e.done)
        self.rate_label.clear()
        if not self.cancelling:
            self.status_label.setText(_sentence(e.message) + "…")

    def show_data(self, event) -> None:
        """DataReady: the split is made; unreadable images are listed."""
        self.classes = list(event.classes)
        self.status_label.setText(_sentence(event.message))
        self.status_label.setToolTip(plain_tooltip(event.message))
        if event.skipped:
            n = len(event.skipped)
            self.skipped_label.setText(f"⚠ Skipped {counted(n, 'unreadable image')} "
                                       "(hover for the list)")
            listed = [f"{Path(p).name}: {reason}" for p, reason in event.skipped[:MAX_SKIPPED_LISTED]]
            if n > MAX_SKIPPED_LISTED:
                listed.append(f"… and {n - MAX_SKIPPED_LISTED} more")
            self.skipped_label.setToolTip(plain_tooltip("\n".join(listed)))
            self.skipped_label.show()

    def show_progress(self, e) -> None:
        """BatchProgress: the bar over all epochs, images/s and the ETA."""
        self.progress.setFormat(f"Epoch {e.epoch}/{e.epochs} · batch {e.batch}/{e.batches}")  # before the value
        self.progress.setRange(0, max(1, e.epochs * e.batches))
        self.progress.setValue((e.epoch - 1) * e.batches + e.batch)
        self._run_eta = f"{e.images_per_second:.0f} images/s · ETA {format_duration(e.eta_seconds)}"
        self.rate_label.setText(self._run_eta)
        self.loss_chart.add_batch(e.epoch - 1 + e.batch / max(1, e.batches), e.loss)
        if not self.cancelling:
            self.status_label.setText(f"Training: loss {e.loss:.3f}")

    def show_epoch(self, e) -> None:
        """EpochEnd: one more point on each curve."""
        self.epochs_seen.append(e)
        self.loss_chart.add_epoch(e.epoch, e.train_loss, e.val_loss)
        self.acc_chart.add_epoch(e.epoch, e.train_acc, e.val_acc)
        self.accuracy_note.setVisible(e.val_acc - e.train_acc > ACCURACY_GAP)
        self.progress.setFormat(f"Epoch {e.epoch}/{e.epochs} done")  # back from validating, saving: the run
        self.progress.setRange(0, e.epochs)
        self.progress.setValue(e.epoch)
        self.rate_label.setText(self._run_eta)
        saved = " · best so far, saved" if e.improved else ""
        if not self.cancelling:
            self.status_label.setText(f"Epoch {e.epoch}/{e.epochs}: validation accuracy {e.val_acc:.1%}, "
                                      f"loss {e.val_loss:.3f} ({e.seconds:.1f} s){saved}")

    def show_cancelling(self) -> None:
        self.cancelling = True
        self.status_label.setText("Cancelling after the current batch… (the best model so far is kept)")

    def show_error(self, message: str, details: str) -> None:
        self._show_banner("error", message, details)

    def show_done(self, done) -> None:
        """The run ended: Done, or None after an error (whose banner is already shown)."""
        self.rate_label.clear()
        self.last_done = done
        if done is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Failed")
            self.status_label.setText("Training failed.")
            return
        self.progress.setFormat(done.reason.replace("_", " ").capitalize())
        if done.reason == "completed":
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
        if done.confusion:
            self.confusion_panel.set_confusion(self.classes, done.confusion, done.per_class_acc,
                                               self._cell_photos(done.val_photos))
            self.confusion_title.show()
            self.confusion_panel.show()
        self._show_banner(done.reason, done.message)
        self.use_button.setEnabled(bool(done.checkpoint))
        self.use_button.setToolTip(plain_tooltip(done.checkpoint or "Nothing was saved"))
        self.status_label.setText("Done." if done.checkpoint else "Done; no model was saved.")

    # ================================================================ getters

    def points(self) -> dict[str, dict[str, list[tuple[float, float]]]]:
        """What the curves show: {"loss": {"train": [(epoch, v)], "val": [...]}, "accuracy": {...}}."""
        return {"loss": self.loss_chart.points(), "accuracy": self.acc_chart.points()}

    def banner_text(self) -> str:
        """The result banner's text ("" while hidden)."""
        return "" if self.result_label.isHidden() else self.result_label.text()

    def shutdown(self) -> bool:
        return self.thumbnails.shutdown()

    # ================================================================ internals

    @staticmethod
    def _cell_photos(val_photos: list):
        """``photos_of`` for the confusion panel: the best epoch's validation photos of a cell."""
        def photos_of(row: int, column: int) -> list[tuple[str, str]]:
            return [(path, Path(path).name) for path, true, predicted in val_photos
                    if true == row and predicted == column]
        return photos_of

    def _show_banner(self, reason: str, message: str, details: str = "") -> None:
        title, colours = BANNERS.get(reason, BANNERS["error"])
        self.result_label.setStyleSheet(box_style(colours, padding=6))
        self.result_label.setText(f"<b>{html.escape(title)}</b><br>{html.escape(_sentence(message))}")
        self.result_label.setToolTip(plain_tooltip(details))
        self.result_label.show()
        self._show_result()

    def _show_result(self) -> None:
        """The result area appears under the curves, as tall as it needs (the curves keep their
        minimum), and scrolls into view."""
        if self.result.isHidden():
            self.result.show()
        self._fit_result_height()
        total = sum(self.splitter.sizes())
        if total > 0:
            need = max(self.result.minimumHeight(), total // 2)
            charts = max(self.charts.minimumSizeHint().height(), total - need)
            self.splitter.setSizes([charts, max(1, total - charts)])
        # the matrix in view once the area is laid out again (its range grows a few events later)
        self._follow_result = True
        QTimer.singleShot(FOLLOW_MS, self, self._stop_following)
        self._scroll_to_result()

    def _fit_result_height(self) -> None:
        """The result area's least height at this width: the wrapped banner and title (a splitter
        knows no height-for-width), the matrix's title and a row of photos; less would clip them."""
        if self.result.isHidden():
            return
        width = self.scroll.viewport().width() - self.scroll.verticalScrollBar().sizeHint().width()
        spacing = max(0, self.result.layout().spacing())
        banner = self.use_button.sizeHint().height()
        if not self.result_label.isHidden():
            banner_width = max(100, width - self.use_button.sizeHint().width() - spacing)
            banner = max(banner, self.result_label.heightForWidth(banner_width))
        matrix = 0
        if not self.confusion_panel.isHidden():
            matrix = (self.confusion_title.heightForWidth(width) + self.confusion_panel.minimumHeight()
                      + 2 * spacing)
        self.result.setMinimumHeight(banner + matrix + self.fontMetrics().height() // 2)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_result_height()  # a narrower window wraps the banner onto more lines

    def _stop_following(self) -> None:
        self._follow_result = False

    def _scroll_to_result(self, *_range) -> None:
        if self._follow_result:
            bar = self.scroll.verticalScrollBar()
            bar.setValue(bar.maximum())

    def _clear_results(self) -> None:
        self.result.hide()
        self.confusion_title.hide()  # an error or a run without validation: no matrix to show
        self.confusion_panel.hide()
        self.result_label.hide()
        self.result_label.clear()
        self.skipped_label.hide()
        self.accuracy_note.hide()
        self.confusion_panel.set_confusion([], [], {})
        self.use_button.setEnabled(False)

    def _use_model(self) -> None:
        if self.last_done is not None and self.last_done.checkpoint:
            self.use_model_requested.emit(self.last_done.checkpoint)

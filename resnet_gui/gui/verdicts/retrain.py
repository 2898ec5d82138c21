"""Retrain from the current model on the dataset, in the background, and offer the result.

Wiring (the Classify page)::

    from ..verdicts.retrain import RetrainPanel
    self.retrain = RetrainPanel(self)
    self.retrain.set_sources(data_dir, current_weights_path)   # when either changes
    self.verdict.added.connect(lambda *_: self.retrain.refresh_count())
    self.retrain.use_model.connect(self.use_model)                  # the user took the new model
    # on close: self.retrain.shutdown()

The new checkpoint goes beside the current one as ``<dataset>-retrained-<n>.pt``, named after
the dataset it learned (never over a file; in the user's models folder when the current one is
a shipped model). Its validation accuracy is compared with the current model's only when both
have the same classes; the line goes when another model is loaded. Before it starts, the
button says how long it will take: a few steps of what it runs are timed in the background
when the dataset or the model changes (jobs.plan_retrain), then scaled to the photo count.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ...core.text import counted
from ..styles import ERROR_STYLE, MUTED_STYLE, OK, box_style
from ..tasks import TaskRunner
from ..twin_panel import TwinPanel
from ..widgets import ElidedLabel
from . import jobs


def added_since(data_dir: str, weights: str) -> int:
    """Photos the journal added to ``data_dir`` after ``weights`` was written."""
    from ...core.files.dataset import Dataset
    from ...core.files.journal import DO

    try:
        since = os.path.getmtime(weights)
    except OSError:
        return 0
    journal = Dataset.shared(data_dir).journal
    return sum(len(b.finished) for b in journal.batches.values() if b.direction == DO and b.time > since)


def next_free(weights: str, data_dir: str) -> str:
    """``<dataset>-retrained-<n>.pt`` beside the current model, or in the user's models folder when
    that is the app's shipped models (maybe read-only, and replaced by an update) or not writable."""
    from ...resources import output_folder_for

    path = Path(weights)
    folder = output_folder_for(weights)
    from ...core.paths import first_free

    return str(first_free(lambda n: folder / f"{Path(data_dir).name or path.stem}-retrained-{n}.pt"))


class RetrainPanel(QWidget):
    use_model = Signal(str)  # the new checkpoint, when the user takes it

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.data_dir = self.weights = ""
        self.new_checkpoint = ""
        self.epochs: int | None = None  # None: the job's default (10 head-only, 5 whole network)
        self.runner = TaskRunner(self, name="retrain")
        self.plan_runner = TaskRunner(self, name="retrain estimate")  # never cancels a retrain in flight
        self.plan: jobs.RetrainPlan | None = None  # what Retrain runs and this machine's speed at it
        self.count = ElidedLabel("", elide=Qt.TextElideMode.ElideRight)
        self.count.setStyleSheet(MUTED_STYLE)
        self.button = QPushButton("Retrain", clicked=self.start)
        self.progress = ElidedLabel("", elide=Qt.TextElideMode.ElideRight)  # one line that never widens the window (errors can be long)
        self.take = QPushButton("Use the new model", clicked=lambda: self.use_model.emit(self.new_checkpoint))
        self.take.hide()
        self.twin = TwinPanel()  # the new model's int8 twin, made once it is saved (a line below)
        row = QHBoxLayout()
        for w in (self.count, self.button, self.take):
            row.addWidget(w)
        row.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.twin)
        self.refresh_count()

    def set_sources(self, data_dir: str, weights: str) -> None:
        if weights != self.weights and not self.runner.busy:  # the last result was about another model
            self.take.hide()
            self._say("")
        changed = (data_dir, weights) != (self.data_dir, self.weights)
        self.data_dir, self.weights = data_dir, weights
        if changed:
            self.plan = None
            if data_dir and weights:
                task = self.plan_runner.start(jobs.plan_retrain, data_dir, weights)
                task.returned.connect(self._on_plan)
        self.refresh_count()

    def _on_plan(self, plan: jobs.RetrainPlan) -> None:
        self.plan = plan
        self.refresh_count()

    def refresh_count(self) -> None:
        if not self.data_dir:  # nothing to count, nothing to retrain on: say what to do instead
            self.count.setText("choose a dataset on the Label page to retrain on your photos")
        else:
            n = added_since(self.data_dir, self.weights) if self.weights else 0
            self.count.setText(f"{counted(n, 'photo')} added since this model was trained")
        self.button.setEnabled(bool(self.data_dir and self.weights) and not self.runner.busy)
        estimate = self.estimate()
        self.button.setText(f"Retrain ({estimate})" if estimate else "Retrain")

    def estimate(self) -> str:
        """"about 6 min" for the dataset as it is now; "" until measured."""
        from ...core.files.dataset import Dataset

        if self.plan is None or not self.data_dir:
            return ""
        return jobs.retrain_estimate(self.plan, sum(c.count for c in Dataset.shared(self.data_dir).classes()))

    def start(self) -> None:
        if not (self.data_dir and self.weights) or self.runner.busy:
            return
        self.take.hide()
        self.button.setEnabled(False)
        if estimate := self.estimate():
            self._say(f"Retraining: {estimate}, in the background")
        task = self.runner.start(jobs.retrain, self.data_dir, self.weights, next_free(self.weights, self.data_dir),
                                 self.epochs)
        task.yielded.connect(self._on_event)
        task.returned.connect(self._on_done)
        task.errored.connect(lambda exc, _d: self._say(str(exc).splitlines()[0] if str(exc) else repr(exc),
                                                       ERROR_STYLE))
        task.finished.connect(self.refresh_count)

    def _on_event(self, event) -> None:
        epoch = getattr(event, "epoch", None)
        if epoch is not None and hasattr(event, "val_acc"):
            self._say(f"epoch {epoch}/{event.epochs}: validation {event.val_acc:.1%}")
        elif hasattr(event, "message") and not hasattr(event, "reason"):
            self._say(event.message)

    def _on_done(self, result: jobs.RetrainResult) -> None:
        if not result.checkpoint:
            self._say(f"Nothing saved: {result.message}", ERROR_STYLE)
            return
        self.new_checkpoint = result.checkpoint
        # what decides first, short: a narrow window cuts the end of the line (whole in the tooltip)
        if not result.same_classes:
            against = "the current model has other classes"
        elif result.old_val_acc is not None:
            against = f"current model {result.old_val_acc:.1%}"
        else:
            against = "current model: not recorded"
        note = f"; {result.note}" if result.note else ""
        self._say(f"Validation {result.new_val_acc:.1%} ({against}); new: {Path(result.checkpoint).name}, "
                  f"{result.mode} retrain{note}", box_style(OK, padding=1))
        self.take.show()
        self.twin.start(result.checkpoint, self.data_dir)  # the split jobs.retrain's run made (0.2, seed 0)

    def _say(self, text: str, style: str = MUTED_STYLE) -> None:
        self.progress.setStyleSheet(style)
        self.progress.setText(text)

    def shutdown(self) -> bool:
        ok = self.twin.shutdown()
        return self.plan_runner.shutdown() and self.runner.shutdown() and ok

"""What ``fine_tune`` reports: plain dataclasses holding floats, ints and strings, never
tensors, so they cross threads and print as they are."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

PHASE_INTERVAL = 0.25  # seconds between PhaseProgress events of one phase (the last always comes)


@dataclass
class DataReady:
    classes: list[str]
    train_counts: list[int]
    val_counts: list[int]
    skipped: list[tuple[str, str]]  # unreadable images: (path, reason)
    split_from: str
    imbalance: float  # largest / smallest training class
    weighted_loss: bool
    message: str
    ignored: list[str] = field(default_factory=list)  # empty class folders left out of training


@dataclass
class StartChosen:
    """What the run starts from and why (TrainConfig.describe_start), before anything is read."""

    message: str


@dataclass
class Stage:
    message: str  # e.g. "decoding 2569 images", "computing features"
    done: int = 0
    total: int = 0


@dataclass
class PhaseProgress:
    """How far a long phase outside the training steps is, with a count and an ETA:
    reading images, computing features, validating, saving. Made by :class:`PhaseMeter`."""

    phase: str  # reading | features | validating | saving
    message: str  # e.g. "computing features with the frozen backbone"
    done: int
    total: int
    eta_seconds: float  # NaN until there is a rate (or an earlier duration) to go by


class PhaseMeter:
    """Counts one phase's work and makes its :class:`PhaseProgress` events, at most one per
    ``interval`` seconds (the first and the last always), so a 100,000-image phase cannot
    flood the window. ``expected``: the phase's duration last time, the ETA before any rate."""

    def __init__(self, phase: str, message: str, total: int, expected: float = math.nan,
                 interval: float | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.phase, self.message, self.total, self.expected = phase, message, total, expected
        self.interval, self.clock = PHASE_INTERVAL if interval is None else interval, clock
        self.done = 0
        self.started = clock()
        self._last = -math.inf

    def start(self) -> PhaseProgress:
        self._last = self.clock()
        return PhaseProgress(self.phase, self.message, 0, self.total, self.expected)

    def advance(self, n: int) -> PhaseProgress | None:
        """``n`` more done; the event to yield, or None when the last one was too recent."""
        self.done = min(self.total, self.done + n)
        now = self.clock()
        if self.done < self.total and now - self._last < self.interval:
            return None
        self._last = now
        elapsed = now - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else self.expected
        return PhaseProgress(self.phase, self.message, self.done, self.total, eta)

    def elapsed(self) -> float:
        return self.clock() - self.started


@dataclass
class BatchProgress:
    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    images_per_second: float
    eta_seconds: float


@dataclass
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    seconds: float
    improved: bool
    saved: str | None  # checkpoint path when this epoch was the best so far


@dataclass
class Calibrated:
    """After the last epoch: out-of-class detection and the temperature, fitted on the best
    model with the run's validation split and stored in its checkpoint (core/trust). ECE:
    expected calibration error (15 bins) on those validation photos, before/after the temperature.
    Only ``message`` is set when nothing was fitted (cancelled, no validation photos...)."""

    message: str
    temperature: float | None = None
    ece_before: float | None = None
    ece_after: float | None = None
    threshold: float | None = None
    pass_rate: float | None = None  # share of validation photos under the threshold (~95 %)
    photos: int = 0
    method: str = ""


@dataclass
class Done:
    reason: str  # completed | early_stopping | cancelled | nan
    message: str
    checkpoint: str | None  # the best model, ready to classify with; None if nothing was saved
    best_epoch: int
    best_val_acc: float
    per_class_acc: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    # (path, true class, predicted class) per validation photo of the best epoch: a confusion
    # cell's photos; empty when unknown (a resumed run, or validation sharded by torchrun)
    val_photos: list[tuple[str, int, int]] = field(default_factory=list)


def format_duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss`` for an ETA or a duration; a dash when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"

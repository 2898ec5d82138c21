"""What ``fine_tune`` reports: plain dataclasses holding floats, ints and strings, never
tensors, so they cross threads and print as they are."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


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


@dataclass
class Stage:
    message: str  # e.g. "decoding 2569 images", "computing features"
    done: int = 0
    total: int = 0


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
class Done:
    reason: str  # completed | early_stopping | cancelled | nan
    message: str
    checkpoint: str | None  # the best model, ready to classify with; None if nothing was saved
    best_epoch: int
    best_val_acc: float
    per_class_acc: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)


def format_duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss`` for an ETA or a duration; a dash when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"

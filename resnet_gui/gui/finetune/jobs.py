"""The Fine-tune page's background jobs: plain functions that the page runs on its TaskRunners.

No Qt here (they run in a worker thread and report plain dataclasses); torch and torchvision
are imported inside them only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

from ...core.data.decoded import import_torchvision  # one lock for every first import of torchvision
from ...core.stop import StopFlag

EMIT_INTERVAL = 0.1  # seconds between BatchProgress events (~10/s at most)


@dataclass
class FolderScan:
    """What the page shows about a chosen folder before training (no image decoded)."""

    data_dir: str
    classes: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # images per class (train + val folders)
    split_from: str = "folder"  # "folder": split at random; "train/val folders"
    error: str = ""  # why the folder cannot be trained on ("" when it can)
    note: str = ""  # what training leaves out (empty class folders)

    @property
    def imbalance(self) -> float:
        """Largest / smallest class (1.0 when balanced or unknown)."""
        if not self.counts or min(self.counts) <= 0:
            return 1.0
        return max(self.counts) / min(self.counts)


def scan_folder(data_dir: str, *, should_stop: StopFlag) -> FolderScan:
    """List the classes and image counts of ``data_dir``; refusals become ``error``."""
    from ...core.data.datasets import DatasetError, scan_labeled_folder

    try:
        data = scan_labeled_folder(data_dir)
    except DatasetError as exc:
        return FolderScan(data_dir, error=str(exc))
    except OSError as exc:
        return FolderScan(data_dir, error=f"{data_dir}: {exc.strerror or exc}")
    counts = data.counts(data.train)
    if data.val is not None:
        counts = [a + b for a, b in zip(counts, data.counts(data.val))]
    return FolderScan(data_dir, list(data.classes), counts, data.split_from, note=data.note)



def probe_imagenet(*, should_stop: StopFlag) -> dict[str, bool]:
    """{arch: ImageNet weights already in torch's cache}; {} when torchvision cannot load."""
    from ...core.model.architectures import ARCH_NAMES
    from ...core.train.config import imagenet_cached

    try:
        import_torchvision()
    except Exception:  # noqa: BLE001 - torchvision missing or broken: nothing is cached
        return {}
    return {arch: imagenet_cached(arch) for arch in ARCH_NAMES if not should_stop()}


def train(config, *, should_stop: StopFlag) -> Iterator[object]:
    """Run ``core fine_tune(config)``, yielding its events with BatchProgress thinned to ~10/s
    (the last batch of each epoch always comes through); returns the Done event."""
    from ...core.train.events import BatchProgress, Done

    if should_stop():  # cancelled before it ran
        return Done("cancelled", "cancelled before it started; nothing was saved", None, 0, 0.0)
    import_torchvision()
    from ...core.train.fine_tune import fine_tune

    last_emit = 0.0
    done = None
    for event in fine_tune(config, should_stop):
        if isinstance(event, Done):
            done = event
            continue
        if isinstance(event, BatchProgress):
            now = time.perf_counter()
            if now - last_emit < EMIT_INTERVAL and event.batch < event.batches:
                continue
            last_emit = now
        yield event
    return done


def error_message(exc: BaseException) -> str:
    """What the result banner says about a failed run."""
    from ...core.train.config import TrainingError

    return str(exc) if isinstance(exc, TrainingError) else f"Training stopped: {type(exc).__name__}: {exc}"


def measure_speed(config, arch: str, *, should_stop: StopFlag):
    """The core's short speed measurement for the run ``config`` describes (a core Speed, or None
    when cancelled or when the folder cannot be read)."""
    from ...core.data.datasets import DatasetError
    from ...core.train.estimate import measure_speed as measure, sample_photos

    import_torchvision()
    try:
        photos = sample_photos(config.data_dir)
    except (DatasetError, OSError):
        return None
    return measure(config, arch, photos, should_stop, config.workers)


def check_leakage(data_dir: str, val_split: float, seed: int, split_csv: str | None, *, should_stop: StopFlag):
    """The core's leakage check (duplicate groups across the split ``train`` would make): yields
    its Stages, returns its LeakageCheck (None when cancelled)."""
    import_torchvision()
    from ...core.review.leakage import check_leakage as check

    return (yield from check(data_dir, val_split, seed, split_csv, should_stop=should_stop))

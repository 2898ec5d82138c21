"""Train/validation leakage, checked before training and without any model: the duplicate
groups (exact copies by hash, near copies by thumbnail) that the split ``train`` would make
cuts in two. Validation would then score photos the model has trained on.

``check = yield from check_leakage(data_dir, val_split, seed, split_csv, should_stop=...)``
yields :class:`~resnet_gui.core.train.events.Stage` progress and returns a
:class:`LeakageCheck` (None when cancelled). Photos are only read.

Each photo is decoded at a small size (shorter side 128, centre crop 112: the eval
framing of 256/224 at half scale) and kept only as its 16 x 16 grey thumbnail (1 KB), so
memory stays a few chunks of small images plus N KB. On the 2,962 photos of flowers-photos a
60 % resized JPEG q70 copy correlates at 0.990 or more with its original at this size
(0.967 at 73/64: too small), and the set's distinct photos stay below 0.97 as in the full
review: see docs/review.md."""

from __future__ import annotations

import hashlib
import os
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..data.decoded import decode_ahead, import_torchvision
from ..data.images import ImageError
from ..data.transforms import decode_tensor
from ..text import counted
from ..train.events import Stage
from .duplicates import DuplicateGroup, duplicate_groups
from .folder import load_split

SHORT_SIDE, CROP = 128, 112  # measured: smaller sizes let resized copies fall below LOOKS_SAME
CHUNK = 64  # photos decoded per step; the next chunk decodes while this one is pooled
WORKERS = 2  # decoding threads: the check runs beside the window (and may beside a speed estimate)


@dataclass
class LeakageCheck:
    leaks: list[DuplicateGroup]  # groups split across train and validation, largest first
    photos: int  # photos compared (readable ones)
    seconds: float
    skipped: list[tuple[str, str]] = field(default_factory=list)  # unreadable photos: (path, reason)
    split_from: str = ""  # how the split was made (train's own words)

    def summary(self) -> str:
        groups = counted(len(self.leaks), "duplicate group")
        return (f"{groups} split across train and validation among {self.photos} photos ({self.split_from}), "
                f"{self.seconds:.1f} s" + (f"; skipped {len(self.skipped)} unreadable" if self.skipped else ""))


def _read(path: Path):
    """(digest, small uint8 CHW tensor, None) or (None, None, reason)."""
    try:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "blake2b").hexdigest()
        return digest, decode_tensor(path, SHORT_SIDE, CROP), None
    except ImageError as exc:
        return None, None, str(exc)
    except OSError as exc:
        return None, None, f"cannot read: {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - one bad photo never stops the check
        return None, None, f"cannot read: {type(exc).__name__}: {exc}"


def check_leakage(data_dir: str | os.PathLike, val_split: float = 0.2, seed: int = 0, split_csv: str | None = None,
                  should_stop: Callable[[], bool] | None = None, workers: int | None = None) -> Iterator[Stage]:
    """Yield Stages; return a LeakageCheck, or None if cancelled. Raises TrainingError for a
    folder ``train`` would refuse (the same function makes the split)."""
    import numpy as np
    import torch
    from .features import THUMB, grey_thumbnails

    import_torchvision()

    started = time.perf_counter()
    should_stop = should_stop or (lambda: False)
    data, train, val, split_from = load_split(data_dir, val_split, seed, split_csv)
    none_train, none_val = data.none_split(val_split, seed)  # _none photos leak like any other
    items = sorted([(Path(p), "train") for p, _ in train + [(q, -1) for q in none_train]]
                   + [(Path(p), "val") for p, _ in val + [(q, -1) for q in none_val]])
    total = len(items)
    message = f"checking {total} photos for duplicates across train and validation"
    yield Stage(message, 0, total)
    paths: list[str] = []
    splits: list[str] = []
    digests: list[str] = []
    thumbs = []
    skipped: list[tuple[str, str]] = []
    chunks = [items[i:i + CHUNK] for i in range(0, total, CHUNK)]
    # this chunk and the next one read while the thumbnails are made
    read = decode_ahead(lambda item: _read(item[0]), items, ahead=2 * CHUNK, workers=workers or WORKERS,
                        name="leak-decode")
    with closing(read):
        for n, chunk in enumerate(chunks):
            tensors = []
            for (path, split), (_, (digest, tensor, error)) in zip(chunk, read):
                if error is not None:
                    skipped.append((str(path), error))
                    continue
                paths.append(str(path))
                splits.append(split)
                digests.append(digest)
                tensors.append(tensor)
            if tensors:
                thumbs.append(grey_thumbnails(torch.stack(tensors)))
            if should_stop():
                return None
            yield Stage(message, min(total, (n + 1) * CHUNK), total)
    grid = np.concatenate(thumbs) if thumbs else np.zeros((0, THUMB * THUMB), np.float32)
    groups = duplicate_groups(paths, digests, grid, splits, should_stop=should_stop)
    if groups is None:
        return None
    leaks = [group for group in groups if group.leaks]
    return LeakageCheck(leaks, len(paths), time.perf_counter() - started, skipped, split_from)

"""Labeled images decoded once into memory (uint8 tensors), in parallel, skipping bad files.

Later epochs then cost no JPEG decoding at all.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .images import ImageError
from .transforms import decode_tensor


def default_workers() -> int:
    """Decoding threads: Pillow releases the GIL while decoding, so a few help; more only thrash."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class DecodedSet:
    images: list  # uint8 CHW tensors
    labels: list[int]
    paths: list[Path]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def decode_all(
    items: Sequence[tuple[Path, int]],
    short_side: int,
    crop: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DecodedSet:
    """Decode every image once, in parallel; unreadable files are skipped and listed."""
    # Import torchvision here, once, before the threads: two threads importing it for the
    # first time at once can see a half-initialised module (ImportError on InterpolationMode).
    import torchvision.transforms.functional  # noqa: F401

    workers = workers or default_workers()
    out = DecodedSet([], [], [])

    def job(item):
        try:
            return decode_tensor(item[0], short_side, crop), None
        except ImageError as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops training
            return None, f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
        for done, (item, (tensor, error)) in enumerate(zip(items, pool.map(job, items)), 1):
            if should_stop and should_stop():
                pool.shutdown(wait=True, cancel_futures=True)
                break
            if error is None:
                out.images.append(tensor)
                out.labels.append(item[1])
                out.paths.append(item[0])
            else:
                out.skipped.append((str(item[0]), error))
            if progress and (done % 64 == 0 or done == len(items)):
                progress(done, len(items))
    return out

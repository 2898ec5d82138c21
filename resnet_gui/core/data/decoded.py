"""Decoding on a few threads while the caller works on what is decoded (``decode_ahead``, the
one such loop: inference, features, the leakage check and training all use it), and labeled
images decoded once into memory (uint8 tensors), skipping bad files: later epochs then cost no
JPEG decoding at all.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from .images import ImageError
from .transforms import decode_tensor


T = TypeVar("T")
R = TypeVar("R")
_IMPORT_LOCK = threading.Lock()


def default_workers() -> int:
    """Decoding threads: Pillow releases the GIL while decoding, so a few help; more only thrash."""
    return max(1, min(4, os.cpu_count() or 1))


def import_torchvision() -> None:
    """The first import of torchvision, by one thread at a time, before any decoding thread
    starts: two threads importing it at once (decoding threads, the window's ImageNet probe and
    training job) can see ``torchvision.transforms`` half-initialised ("cannot import name
    'InterpolationMode'")."""
    with _IMPORT_LOCK:
        import torchvision.models  # noqa: F401
        import torchvision.transforms.functional  # noqa: F401


def decode_ahead(work: Callable[[T], R], items: Iterable[T], *, ahead: int, workers: int | None = None,
                 name: str = "decode", overlap: bool = True) -> Iterator[tuple[T, R]]:
    """``(item, work(item))`` for each item, in input order, ``work`` running on ``workers``
    threads while the caller uses earlier results. At most ``ahead`` items are in flight, so
    memory stays bounded however many there are. Closing the iterator early (a cancel, a
    ``break``) drops the waiting ones and waits for those running. ``work`` should return its
    errors, not raise them: an exception ends the loop. ``overlap=False``: ``ahead`` items are
    worked on together, then handed out, then the next ``ahead`` (for a caller that computes on
    the same cores, where threads working meanwhile would only preempt it)."""
    with ThreadPoolExecutor(workers or default_workers(), thread_name_prefix=name) as pool:
        pending: deque = deque()
        source = iter(items)
        try:
            while True:
                for item in source if overlap or not pending else ():
                    pending.append((item, pool.submit(work, item)))
                    if len(pending) >= max(1, ahead):
                        break
                if not pending:
                    return
                item, future = pending.popleft()
                yield item, future.result()
        finally:
            for _, future in pending:
                future.cancel()


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
    import_torchvision()
    workers = workers or default_workers()
    out = DecodedSet([], [], [])

    def job(item):
        try:
            return decode_tensor(item[0], short_side, crop), None
        except ImageError as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops training
            return None, f"{type(exc).__name__}: {exc}"

    decoded = decode_ahead(job, items, ahead=workers * 16, workers=workers)
    for done, (item, (tensor, error)) in enumerate(decoded, 1):
        if should_stop and should_stop():
            decoded.close()
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

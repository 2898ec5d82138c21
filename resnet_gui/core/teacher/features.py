"""Teacher features of many photos: decoded with the app's robust image loading, one batch
ahead in a small thread pool, and cached per photo (:mod:`.cache`)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

from .cache import FeatureCache, default_dir


def _decode(preprocess, path):
    from ..data.images import ImageError

    try:
        return preprocess.decode(path)
    except ImageError:
        return None
    except Exception:  # noqa: BLE001 - one bad photo never stops the others
        return None


def teacher_features(paths: Sequence[str | os.PathLike], *, should_stop: Callable[[], bool] = lambda: False,
                     batch_size: int = 32, teacher=None, cache_dir: str | os.PathLike | None = None,
                     use_cache: bool = True, progress: Callable[[int, int], None] | None = None):
    """numpy float32 (N, 1280): the teacher's pooled features of ``paths``, in order.

    A photo that cannot be read, and every photo not reached when ``should_stop()`` turned true
    (checked between batches), gets a row of NaN: ``np.isnan(rows[:, 0])`` tells which.
    ``teacher``: a loaded :class:`~.model.Teacher` (default: the process's :func:`~.model.shared_teacher`,
    which raises :class:`~.model.TeacherError`). ``progress(done, total)`` is called after each batch.
    """
    import numpy as np

    from ..data.decoded import default_workers
    from .model import Teacher, shared_teacher

    paths = [Path(p) for p in paths]
    out = np.full((len(paths), Teacher.feature_dim), np.nan, dtype=np.float32)
    cache = FeatureCache(cache_dir if cache_dir is not None else default_dir(), Teacher.version,
                         Teacher.feature_dim) if use_cache else None
    keys = [cache.key(p) for p in paths] if cache else [None] * len(paths)
    todo = []
    for i, key in enumerate(keys):
        row = cache.get(key) if cache else None
        if row is None:
            todo.append(i)
        else:
            out[i] = row
    total = len(paths)
    if progress:
        progress(total - len(todo), total)
    if not todo:
        return out
    teacher = teacher or shared_teacher()
    prep = teacher.preprocess
    chunks = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    done = total - len(todo)
    with ThreadPoolExecutor(default_workers(), thread_name_prefix="teacher-decode") as pool:
        def submit(chunk):
            return [pool.submit(_decode, prep, paths[i]) for i in chunk]

        pending = submit(chunks[0])
        for n, chunk in enumerate(chunks):
            if should_stop():
                for future in pending:
                    future.cancel()
                break
            current = pending
            pending = submit(chunks[n + 1]) if n + 1 < len(chunks) else []
            arrays, rows = [], []
            for i, future in zip(chunk, current):
                array = future.result()
                if array is not None:
                    arrays.append(array)
                    rows.append(i)
            if arrays:
                feats = teacher.features_and_logits(prep.normalise_array(np.stack(arrays)))[0]
                for i, row in zip(rows, feats):
                    out[i] = row
                    if cache:
                        cache.put(keys[i], row)
            done += len(chunk)
            if progress:
                progress(done, total)
    if cache:
        cache.trim()
    return out


def features_of_images(images: Sequence, *, teacher=None, should_stop: Callable[[], bool] = lambda: False,
                       chunk: int = 32):
    """numpy float32 (N, 1280) of already decoded uint8 CHW images (tensors or arrays, all of one
    size, as a classifier or a training run decoded them); None when ``should_stop()`` turned true."""
    import numpy as np

    from .model import Teacher, shared_teacher

    teacher = teacher or shared_teacher()
    out = []
    for start in range(0, len(images), chunk):
        batch = np.stack([np.asarray(im.numpy() if hasattr(im, "numpy") else im, dtype=np.uint8)
                          for im in images[start:start + chunk]])
        out.append(teacher.features_of_uint8(batch))
        if should_stop():
            return None
    return np.concatenate(out) if out else np.zeros((0, Teacher.feature_dim), np.float32)

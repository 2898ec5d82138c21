"""Classifying many files with several processes under torchrun.

Each round, every process classifies a strided share of the next files with the same
:func:`~resnet_gui.core.infer.classify_files` a single process uses (same decoding, same
per-file errors); rank 0 collects the round and yields it in input order. Rounds keep
rank 0's memory bounded and its output streaming on archives of millions of files.
Without torchrun this is ``classify_files`` itself.
"""

from __future__ import annotations

import os
from typing import Callable, Iterator, Sequence

from .distributed import Dist
from .infer import Classifier, Prediction, classify_files

FILES_PER_RANK_PER_ROUND = 1024  # a round's results are a few MB; a round is seconds of work per GPU


def classify_across(
    classifier: Classifier,
    files: Sequence[str | os.PathLike],
    dist: Dist,
    *,
    topk: int = 5,
    batch_size: int = 32,
    workers: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[Prediction]:
    """Every file's :class:`Prediction`, in input order, on rank 0; nothing on the other ranks.

    Every rank must call it with the same ``files`` (the same folder walk gives them).
    """
    options = dict(topk=topk, batch_size=batch_size, workers=workers, should_stop=should_stop)
    if not dist.active:
        yield from classify_files(classifier, files, **options)
        return
    per_round = FILES_PER_RANK_PER_ROUND * dist.world
    for start in range(0, len(files), per_round):
        positions = dist.shard(range(start, min(start + per_round, len(files))))
        mine = list(classify_files(classifier, [files[i] for i in positions], **options))
        for pred in mine:
            pred.index = positions[pred.index]  # classify_files numbered this rank's list
        parts = dist.gather(mine)
        if parts is not None:
            yield from sorted((pred for part in parts for pred in part), key=lambda pred: pred.index)


def rank_device(dist: Dist, device: str) -> str:
    """The device name for :class:`Classifier`: this rank's own GPU under torchrun."""
    return str(dist.device) if dist.active else device

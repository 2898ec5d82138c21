"""After an export: the same photos through the exported file and through PyTorch, compared."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass
class Parity:
    images: int
    agreement: float  # share of images with the same top-1 class
    max_prob_diff: float  # largest difference of any class's probability
    source: str  # what the images were, in words

    def describe(self) -> str:
        return (f"parity on {self.images} {self.source}: top-1 agreement {self.agreement:.1%}, "
                f"largest probability difference {self.max_prob_diff:.2e}")


def decode_batches(files: Sequence[str | os.PathLike], info, batch_size: int = 32):
    """uint8 NCHW batches of the readable files (unreadable ones are skipped)."""
    from ..data.images import ImageError
    from .preprocess import decode_array

    batch = []
    for path in files:
        try:
            batch.append(decode_array(path, info.resize_size, info.image_size))
        except ImageError:
            continue
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def random_batches(info, count: int = 16, seed: int = 0):
    """Stand-in photos (noise) when the user gave none: fine for fp32 parity, not for accuracy."""
    rng = np.random.default_rng(seed)
    yield rng.integers(0, 256, (count, 3, info.image_size, info.image_size), dtype=np.uint8)


def compare(reference: Callable, candidate: Callable, batches, num_classes: int, source: str) -> Parity:
    """``reference``/``candidate``: predict_batch of two classifiers, run on the same batches."""
    same = total = 0
    worst = 0.0
    for batch in batches:
        for ref, cand in zip(reference(batch, num_classes), candidate(batch, num_classes)):
            same += ref[0][0] == cand[0][0]
            probs = dict(cand)
            worst = max(worst, max(abs(p - probs[label]) for label, p in ref))
            total += 1
    return Parity(total, same / total if total else 0.0, worst, source)


def torch_parity(loaded, engine, batches, source: str) -> Parity:
    """The exported ``engine`` against PyTorch fp32 on the CPU, on the same uint8 batches."""
    import torch

    from ..infer import Classifier

    torch_model = Classifier(loaded, "cpu", "fp32")
    return compare(lambda b, k: torch_model.predict_batch(torch.from_numpy(b), k), engine.predict_batch, batches,
                   loaded.info.num_classes, source)

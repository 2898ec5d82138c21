"""Batched, streaming classification of many image files.

Decoding runs in a small thread pool (Pillow releases the GIL while decoding and
resizing) while the model works on the previous batch. At most a few batches are in
flight, so memory stays bounded however many files are given, and results come out in
the order the files went in.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, runtime_checkable

from .data.decoded import decode_ahead, import_torchvision
from .data.images import ImageError
from .data.transforms import decode_tensor
from .model.checkpoint import LoadedModel, ModelInfo
from .model.devices import is_out_of_memory
from .trust.assess import Ranked, usable_trust, with_scores
from .trust.features import feature_width


@dataclass
class Prediction:
    """One file's result: ``topk`` is [(label, probability), ...], best first; or ``error``.

    ``ood_score``: how far the photo is from the model's classes (higher: farther; see
    core/trust); ``unknown``: True when it fails the model's threshold ("not one of my
    classes"). Both None when the model has no out-of-class data or the file was unreadable."""

    index: int
    path: str
    topk: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None
    ood_score: float | None = None
    unknown: bool | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def label(self) -> str:
        return self.topk[0][0] if self.topk else ""

    @property
    def confidence(self) -> float:
        return self.topk[0][1] if self.topk else 0.0

    def to_json(self) -> dict:
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        return {"path": self.path, "topk": [[label, round(prob, 6)] for label, prob in self.topk],
                "ood_score": None if self.ood_score is None else round(self.ood_score, 6), "unknown": self.unknown}

    @classmethod
    def of(cls, index: int, path: str, ranked) -> "Prediction":
        """From a classifier's row (a :class:`~.trust.assess.Ranked`, or a plain list)."""
        return cls(index, path, topk=list(ranked), ood_score=getattr(ranked, "ood_score", None),
                   unknown=getattr(ranked, "unknown", None))


@runtime_checkable
class Engine(Protocol):
    """What every classifying engine offers, whichever runs the model (torch's
    :class:`Classifier`, ONNX Runtime's or OpenVINO's in ``engines/runtimes.py``): the one
    interface :func:`classify_files`, the CLI and the window's jobs call."""

    info: ModelInfo  # class names, input size, normalisation, trust data

    def decode(self, path: str | os.PathLike) -> Any:
        """One image file as this engine's uint8 CHW array (a tensor or a numpy array); raises ImageError."""

    def stack(self, images: list) -> Any:
        """Decoded images as one NCHW batch of the same kind."""

    def predict_batch(self, batch_uint8: Any, topk: int) -> list[Ranked]:
        """Top-k per row, best first, with each row's out-of-class score."""

    def describe(self) -> str:
        """What runs, in words: "torch fp32 on cpu", "onnxruntime int8 on cpu"."""


def preprocess(path: str | os.PathLike, info: ModelInfo):
    """The model's eval transform (resize, center crop) as a uint8 CHW tensor; normalised per batch."""
    return decode_tensor(path, info.resize_size, info.image_size)


def _decode(decode: Callable, path: Path):
    try:
        return decode(path), None
    except ImageError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - never let one file end the run
        return None, f"cannot read: {type(exc).__name__}: {exc}"


PRECISIONS = ("fp32", "fast")


class Classifier:
    """A model prepared for fast inference on one device."""

    def __init__(self, loaded: LoadedModel, device: str = "auto", precision: str = "fp32"):
        import torch

        from .model.devices import resolve_device

        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        self.info = loaded.info
        self.precision = precision
        self.device = resolve_device(device)
        # fp32 matches a plain torchvision eval exactly; "fast" trades ~1e-2 in the
        # probabilities for speed (bf16 on CPUs that have it, fp16 on GPUs).
        self.autocast_dtype = None
        if precision == "fast":
            self.autocast_dtype = torch.bfloat16 if self.device.type == "cpu" else torch.float16
        self.model = loaded.model.eval().to(self.device)
        # out-of-class score and temperature (core/trust); notes say when they are not available
        self.trust, self.trust_notes = usable_trust(self.info.trust, feature_width(self.model))
        # channels_last lets oneDNN / cuDNN pick their fastest convolution kernels
        self.model = self.model.to(memory_format=torch.channels_last)
        self.overlap_decoding = self.device.type != "cpu"  # see classify_files
        shape = (1, 3, 1, 1)
        self.mean = torch.tensor(self.info.mean, device=self.device).view(shape) * 255.0
        self.std = torch.tensor(self.info.std, device=self.device).view(shape) * 255.0

    def describe(self) -> str:
        return f"torch {self.precision} on {self.device}"

    def decode(self, path: str | os.PathLike):
        return preprocess(path, self.info)

    @staticmethod
    def stack(tensors: list):
        import torch

        return torch.stack(tensors)

    def predict_batch(self, batch_uint8, topk: int) -> list[Ranked]:
        """Top-k for a uint8 NCHW batch (already resized and cropped), probabilities at the
        model's temperature; each row also carries its out-of-class score (see Ranked)."""
        import contextlib

        import torch

        from .trust.features import logits_and_features

        trust = self.trust
        with torch.inference_mode():
            x = batch_uint8.to(self.device, non_blocking=True).float()
            x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
            autocast = (torch.autocast(self.device.type, dtype=self.autocast_dtype) if self.autocast_dtype is not None
                        else contextlib.nullcontext())
            with autocast:
                logits, features = (logits_and_features(self.model, x) if trust is not None and trust.needs_features
                                    else (self.model(x), None))
            logits = logits.float()
            probs = torch.softmax(logits / trust.temperature if trust is not None else logits, dim=1)
            k = max(1, min(topk, probs.shape[1]))
            values, indices = probs.topk(k, dim=1)
        names = self.info.class_names
        rows = [
            [(names[i], float(v)) for v, i in zip(row_v, row_i)]
            for row_v, row_i in zip(values.cpu().tolist(), indices.cpu().tolist())
        ]
        if trust is None:
            return with_scores(rows, None, None, None)
        return with_scores(rows, trust, logits.cpu().numpy(), None if features is None else features.float().cpu().numpy(),
                           batch_uint8.cpu() if trust.uses_teacher else None)


def classify_files(
    classifier: Engine,
    paths: Iterable[str | os.PathLike],
    *,
    topk: int = 5,
    batch_size: int = 32,
    workers: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[Prediction]:
    """Yield a :class:`Prediction` per path, in input order; unreadable files carry ``error``.

    Stops early (between images) when ``should_stop()`` turns true.
    The classifier decodes and stacks (torch's Classifier, or an engine's without torch).
    """
    if isinstance(classifier, Classifier):
        import_torchvision()

    should_stop = should_stop or (lambda: False)
    # Decoding overlaps the model unless the model computes on the same cores (torch on the CPU):
    # there decode threads preempt its OpenMP threads, which then spin at every barrier
    # (docs/performance.md); a batch is decoded on all cores, then classified on all cores.
    overlap = getattr(classifier, "overlap_decoding", True)
    batch: list[tuple[int, str, object]] = []
    waiting: list[Prediction] = []  # errors held so output order stays the input order

    def flush() -> Iterator[Prediction]:
        if batch:
            try:
                results = classifier.predict_batch(classifier.stack([t for _, _, t in batch]), topk)
                done = [Prediction.of(i, p, r) for (i, p, _), r in zip(batch, results)]
            except Exception as exc:  # noqa: BLE001 - a batch the model fails on fails, not the run
                if is_out_of_memory(exc):  # not the photos' fault: the caller moves to the CPU and goes on
                    raise
                why = " ".join(str(exc).split())[:300] or type(exc).__name__
                done = [Prediction(i, p, error=f"the model failed on this batch: {why}") for i, p, _ in batch]
            batch.clear()
        else:
            done = []
        merged = sorted(done + waiting, key=lambda pr: pr.index)
        waiting.clear()
        yield from merged

    # decoded images waiting: two batches (one without overlap), which bounds memory
    decoded = decode_ahead(lambda item: _decode(classifier.decode, Path(item[1])), enumerate(paths),
                           ahead=batch_size * 2 if overlap else batch_size, workers=workers, overlap=overlap)
    try:
        for (index, path), (tensor, error) in decoded:
            path = str(path)
            if should_stop():
                return
            if error is not None:
                if batch:
                    waiting.append(Prediction(index, path, error=error))
                else:
                    yield Prediction(index, path, error=error)
                continue
            batch.append((index, path, tensor))
            if len(batch) >= batch_size:
                yield from flush()
        if not should_stop():
            yield from flush()
    finally:
        decoded.close()


def classify_paths(
    loaded: LoadedModel,
    paths: Iterable[str | os.PathLike],
    *,
    topk: int = 5,
    batch_size: int = 32,
    device: str = "auto",
    precision: str = "fp32",
    workers: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[Prediction]:
    """Convenience: prepare ``loaded`` on ``device`` and classify files and folders."""
    from .data.images import iter_image_files

    classifier = Classifier(loaded, device, precision)
    yield from classify_files(
        classifier, iter_image_files(paths), topk=topk, batch_size=batch_size, workers=workers, should_stop=should_stop
    )


class Throughput:
    """Images per second over a sliding window, for progress displays."""

    def __init__(self, window: float = 5.0):
        self.window = window
        self.marks: deque[tuple[float, int]] = deque()

    def update(self, done: int) -> float:
        now = time.perf_counter()
        self.marks.append((now, done))
        while len(self.marks) > 2 and now - self.marks[0][0] > self.window:
            self.marks.popleft()
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

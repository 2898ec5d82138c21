"""A trained model's int8 twin: ``model.int8.onnx`` beside ``model.pt``, made once the model is
saved, so that ``classify`` runs it as it runs the shipped ``default.int8.onnx`` (choose.py
finds a sibling whose metadata names the weights' SHA-256).

Calibrated on a sample of the run's own training photos, checked on its validation photos
(the same split ``train`` and ``calibrate`` make), and refused with a note when int8 agrees
with fp32 on fewer than 99 % of them or loses more than 1 point of accuracy: stricter than
``export --int8`` (97 %), because nobody asked for this copy and it is used by default.
As a generator of progress lines (each a cancel point) returning a :class:`TwinResult`;
the CLI and the window run the same one. Nothing is written unless every check passed.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .quantize import CalibrationSplit, Int8Verdict

MIN_TWIN_AGREEMENT = 0.99
CALIBRATION_PHOTOS = 300  # onnxruntime's usual advice: 100-300 representative inputs
MIN_CHECK_PHOTOS = 20  # fewer validation photos than this cannot show a 1-point drop or 99 % agreement


@dataclass
class TwinResult:
    out: Path | None  # the twin written, or None (refused, cancelled, not possible)
    note: str  # the result line: what it cost and what it gained, or why there is none
    seconds: float = 0.0
    verdict: Int8Verdict | None = None


def twin_path(weights: str | os.PathLike) -> Path:
    weights = Path(weights)
    return weights.with_name(weights.stem + ".int8.onnx")


def has_twin(weights: str | os.PathLike) -> bool:
    """An int8 twin made from exactly these weights is beside them (what ``classify`` would run)."""
    from .choose import _shipped_sibling
    from .export import file_sha256

    weights = Path(weights)
    if weights.suffix.lower() == ".onnx" or not twin_path(weights).is_file() or not weights.is_file():
        return False
    return _shipped_sibling(weights, file_sha256(weights)) is not None


def run_split(class_names: list[str], data_dir: str | os.PathLike, split_csv: str | os.PathLike | None = None,
              val_split: float = 0.2, seed: int = 0) -> CalibrationSplit:
    """The photos of a labeled folder split as ``train`` / ``calibrate`` split them: a seeded sample
    of the training part calibrates, the validation part judges (labels as model outputs).
    DatasetError when the folder cannot be read."""
    from ..trust.calibrate import split_folder

    data, train, val, _ = split_folder(data_dir, split_csv, val_split, seed)
    to_model = {i: class_names.index(name) for i, name in enumerate(data.classes) if name in class_names}
    train = [path for path, _ in train]
    sample = sorted(random.Random(seed).sample(train, min(CALIBRATION_PHOTOS, len(train))))
    known = [(path, to_model[label]) for path, label in val if label in to_model]
    return CalibrationSplit([Path(p) for p in sample], [Path(p) for p, _ in known], [label for _, label in known])


def make_twin(weights: str | os.PathLike, split: CalibrationSplit,
              should_stop: Callable[[], bool] | None = None) -> Iterator[str]:
    """Yield progress lines; return a :class:`TwinResult` (never raises for a refusal, a bad photo
    set or a cancel: its ``note`` says so in one line)."""
    from ..atomic import OutputError
    from ..model.checkpoint import WeightsError
    from .pipeline import ExportError, export_model
    from .quantize import QuantizeError

    should_stop = should_stop or (lambda: False)
    weights = Path(weights)
    out = twin_path(weights)
    if len(split.held_out) < MIN_CHECK_PHOTOS or not split.calibrate:
        return TwinResult(None, f"int8 twin not made: {len(split.held_out)} validation photos to check it on "
                                f"(at least {MIN_CHECK_PHOTOS} needed); {weights.name} runs in fp32")
    started = time.perf_counter()
    yield f"making the int8 twin of {weights.name}"
    try:
        result = yield from export_model(weights, out, int8=True, split=split, min_agreement=MIN_TWIN_AGREEMENT,
                                         should_stop=should_stop)
    except (ExportError, QuantizeError, WeightsError, OutputError) as exc:
        return TwinResult(None, f"int8 twin not made ({exc}); {weights.name} runs in fp32",
                          time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if result is None:
        return TwinResult(None, "int8 twin cancelled; nothing was written", seconds)
    verdict = result.verdict
    gained = f"{verdict.speedup:.1f}x the speed of fp32 (model only, timed while checking)"
    cost = f"top-1 agreement {verdict.agreement:.1%} on {verdict.images} validation photos"
    if verdict.fp32_accuracy is not None:
        cost += f", accuracy {verdict.fp32_accuracy:.1%} -> {verdict.int8_accuracy:.1%}"
    return TwinResult(out, f"int8 twin {out.name}: {gained}; {cost}; made in {seconds:.0f} s", seconds, verdict)


def twin_of_run(weights: str | os.PathLike, data_dir: str | os.PathLike, split_csv: str | os.PathLike | None = None,
                val_split: float = 0.2, seed: int = 0,
                should_stop: Callable[[], bool] | None = None) -> Iterator[str]:
    """:func:`make_twin` with the split of the run that made ``weights`` from ``data_dir``."""
    from ..data.datasets import DatasetError
    from ..model.checkpoint import WeightsError
    from ..model.loading import load_model

    try:
        names = load_model(weights).info.class_names
        split = run_split(names, data_dir, split_csv, val_split, seed)
    except (DatasetError, WeightsError, OSError) as exc:
        return TwinResult(None, f"int8 twin not made ({exc})")
    return (yield from make_twin(weights, split, should_stop))

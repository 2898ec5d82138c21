"""int8 static quantization calibrated on the user's own photos, and the rule that refuses it.

Per-channel QDQ (onnxruntime.quantization), with the first convolution and the classifier
layer kept in fp32 (the usual levers for accuracy). The folder is split once, seeded: up to
300 photos calibrate, the others judge. The int8 model is refused, with the numbers, when its
accuracy on the held-out photos is more than 1 point below fp32's, or its top-1 agreement
with fp32 is under 97 %.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_ACCURACY_DROP = 0.01
MIN_AGREEMENT = 0.97
MIN_PHOTOS = 40  # below this neither calibration nor the judgement means anything


class QuantizeError(ValueError):
    """int8 refused or impossible; one line with the numbers."""


@dataclass
class CalibrationSplit:
    calibrate: list[Path]
    held_out: list[Path]
    labels: list[int] | None  # per held-out photo, when the folder's subfolders are the classes


def split_photos(folder: str | os.PathLike, class_names: list[str], calibrate: int = 300,
                 held_out: int = 1000, seed: int = 0) -> CalibrationSplit:
    from ..data.images import iter_image_files

    files = sorted(iter_image_files([folder]))
    if len(files) < MIN_PHOTOS:
        raise QuantizeError(f"{folder}: {len(files)} photos; int8 calibration needs at least {MIN_PHOTOS} "
                            "(100-300 of the photos the model will see)")
    random.Random(seed).shuffle(files)
    count = min(calibrate, len(files) // 2)  # at least half stay out to judge the result
    calib, rest = files[:count], files[count:count + held_out]
    index = {name: i for i, name in enumerate(class_names)}
    labels = [index.get(p.parent.name) for p in rest]
    known = None if any(label is None for label in labels) else labels
    return CalibrationSplit(calib, rest, known)


class _Reader:
    """onnxruntime's CalibrationDataReader: normalised batches of the calibration photos."""

    def __init__(self, files, info, input_name: str):
        from .parity import decode_batches
        from .preprocess import normalise

        self.batches = (normalise(b, info.mean, info.std) for b in decode_batches(files, info, 16))
        self.input_name = input_name

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {self.input_name: batch}


def _kept_in_fp32(model_path: Path) -> list[str]:
    import onnx

    nodes = onnx.load(str(model_path), load_external_data=False).graph.node
    convs = [n.name for n in nodes if n.op_type == "Conv"]
    heads = [n.name for n in nodes if n.op_type in ("Gemm", "MatMul")]
    return convs[:1] + heads[-1:]


def quantize_int8(fp32_path: str | os.PathLike, out: str | os.PathLike, files, info, props: dict[str, str]) -> Path:
    """Write the int8 QDQ model of ``fp32_path`` to ``out``, calibrated on ``files``."""
    import tempfile

    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from ..atomic import atomic_write
    from .export import with_metadata

    fp32_path = Path(fp32_path)
    with tempfile.TemporaryDirectory(prefix="resnet_gui_int8_") as tmp:
        raw = Path(tmp) / "int8.onnx"
        quantize_static(str(fp32_path), str(raw), _Reader(files, info, "input"), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=_kept_in_fp32(fp32_path))
        data = with_metadata(raw.read_bytes(), {**props, "precision": "int8"})
    with atomic_write(out) as handle:
        handle.write(data)
    return Path(out)


@dataclass
class Int8Verdict:
    images: int
    agreement: float
    fp32_accuracy: float | None
    int8_accuracy: float | None
    min_agreement: float = MIN_AGREEMENT
    fp32_seconds: float = 0.0  # model-only time of each engine on the same held-out batches (warmed up)
    int8_seconds: float = 0.0

    @property
    def accepted(self) -> bool:
        drop_ok = self.fp32_accuracy is None or self.fp32_accuracy - self.int8_accuracy <= MAX_ACCURACY_DROP
        return drop_ok and self.agreement >= self.min_agreement

    @property
    def speedup(self) -> float | None:
        """int8 against fp32, model only, measured while judging (None when not timed)."""
        return self.fp32_seconds / self.int8_seconds if self.fp32_seconds > 0 and self.int8_seconds > 0 else None

    def describe(self) -> str:
        text = f"int8 vs fp32 on {self.images} held-out photos: top-1 agreement {self.agreement:.1%}"
        if self.fp32_accuracy is not None:
            text += f", accuracy fp32 {self.fp32_accuracy:.1%}, int8 {self.int8_accuracy:.1%}"
        return text


def judge_int8(fp32_engine, int8_engine, split: CalibrationSplit, batch_size: int = 32,
               min_agreement: float = MIN_AGREEMENT) -> Int8Verdict:
    import time

    from ..data.images import ImageError
    from .preprocess import decode_array

    info = fp32_engine.info
    arrays, truth = [], []
    for i, path in enumerate(split.held_out):
        try:
            arrays.append(decode_array(path, info.resize_size, info.image_size))
        except ImageError:
            continue
        truth.append(info.class_names[split.labels[i]] if split.labels is not None else None)
    if not arrays:
        raise QuantizeError("none of the held-out photos could be read")
    a, b = [], []
    seconds = [0.0, 0.0]
    warm = np.stack(arrays[:batch_size])
    fp32_engine.predict_batch(warm, 1), int8_engine.predict_batch(warm, 1)  # first runs allocate; not timed
    for start in range(0, len(arrays), batch_size):
        batch = np.stack(arrays[start:start + batch_size])
        for engine, out, i in ((fp32_engine, a, 0), (int8_engine, b, 1)):  # interleaved: a shared CPU's load hits both
            began = time.perf_counter()
            out += [row[0][0] for row in engine.predict_batch(batch, 1)]
            seconds[i] += time.perf_counter() - began
    total = len(arrays)
    agreement = sum(x == y for x, y in zip(a, b)) / total
    accuracy = (None, None) if split.labels is None else (sum(x == t for x, t in zip(a, truth)) / total,
                                                          sum(y == t for y, t in zip(b, truth)) / total)
    return Int8Verdict(total, agreement, *accuracy, min_agreement, *seconds)


def check_verdict(verdict: Int8Verdict) -> None:
    if not verdict.accepted:
        raise QuantizeError(f"int8 refused: {verdict.describe()} (needed: at most {MAX_ACCURACY_DROP:.0%} point "
                            f"below fp32 and at least {verdict.min_agreement:.0%} agreement)")

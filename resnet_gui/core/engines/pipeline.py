"""The whole export as one generator, for the CLI and the window alike: export, parity check,
and with ``int8`` calibration and the refusal rule. Each step is yielded as a line of text
(and is a cancel point); the result is returned. Nothing is written at ``out`` unless every
check passed."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .parity import Parity
from .quantize import MIN_AGREEMENT, CalibrationSplit, Int8Verdict

MIN_PARITY = 0.99  # fp32 engines agree 100 % in practice; below this the export is wrong
MAX_CHECK_PHOTOS = 200


class ExportError(ValueError):
    """The export was refused or failed; one line with the numbers."""


@dataclass
class ExportResult:
    out: Path
    precision: str  # fp32 | int8
    parity: Parity
    verdict: Int8Verdict | None = None


def default_out(weights: str | os.PathLike, int8: bool) -> Path:
    weights = Path(weights)
    return weights.with_name(weights.stem + (".int8.onnx" if int8 else ".onnx"))


def export_model(weights: str | os.PathLike, out: str | os.PathLike | None = None, *, int8: bool = False,
                 calibrate: str | os.PathLike | None = None, check: str | os.PathLike | None = None,
                 arch: str | None = None, should_stop: Callable[[], bool] | None = None,
                 split: CalibrationSplit | None = None, min_agreement: float = MIN_AGREEMENT) -> Iterator[str]:
    """``yield``s progress lines; returns an :class:`ExportResult`. Raises WeightsError,
    ExportError or QuantizeError (one line each). ``split``: photos already split into
    calibration and held-out ones (a training run's own), instead of splitting ``calibrate``."""
    from ..atomic import atomic_write, check_output_file
    from ..data.images import iter_image_files
    from ..model.loading import load_model
    from .export import file_sha256, onnx_bytes, with_metadata
    from .metadata import info_to_props
    from .parity import decode_batches, random_batches, torch_parity
    from .quantize import check_verdict, judge_int8, quantize_int8, split_photos
    from .runtimes import open_engine

    should_stop = should_stop or (lambda: False)
    if int8 and calibrate is None and split is None:
        raise ExportError("int8 needs photos to calibrate on (100-300 of the photos the model will see)")
    out = Path(out) if out else default_out(weights, int8)
    check_output_file(out)
    loaded = load_model(weights, arch=arch)
    info = loaded.info
    yield f"exporting {info.describe()}"
    if should_stop():
        return None
    props = info_to_props(info, "fp32", file_sha256(weights))
    with tempfile.TemporaryDirectory(prefix="resnet_gui_export_") as tmp:
        fp32_path = Path(tmp) / "fp32.onnx"
        fp32_path.write_bytes(with_metadata(onnx_bytes(loaded), props))
        fp32 = open_engine(fp32_path)
        if split is None and calibrate:
            split = split_photos(calibrate, info.class_names)
        where = f" of {Path(calibrate).name}" if calibrate else ""
        if split is not None:
            files, source = split.held_out[:MAX_CHECK_PHOTOS], f"held-out photos{where}"
        elif check is not None:
            files, source = list(iter_image_files([check]))[:MAX_CHECK_PHOTOS], f"photos of {Path(check).name}"
        else:
            files, source = [], "generated noise images (give photos to check on for a real test)"
        batches = decode_batches(files, info) if files else random_batches(info)
        parity = torch_parity(loaded, fp32, batches, source)
        yield parity.describe()
        if parity.images == 0 or parity.agreement < MIN_PARITY:
            raise ExportError(f"the exported model does not match PyTorch: {parity.describe()}")
        result = ExportResult(out, "fp32", parity)
        final = fp32_path
        if should_stop():  # a cancelled export writes nothing
            return None
        if int8:
            yield f"calibrating int8 on {len(split.calibrate)} photos{where}"
            final = quantize_int8(fp32_path, Path(tmp) / "int8.onnx", split.calibrate, info, props)
            if should_stop():
                return None
            verdict = judge_int8(fp32, open_engine(final), split, min_agreement=min_agreement)
            yield verdict.describe()
            check_verdict(verdict)
            result.precision, result.verdict = "int8", verdict
            if should_stop():
                return None
        with atomic_write(out) as handle:
            handle.write(final.read_bytes())
    yield f"wrote {out}"
    return result

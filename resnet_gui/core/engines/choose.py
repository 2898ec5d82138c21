"""Which engine classifies: ``auto`` runs PyTorch on CUDA/MPS and an ONNX engine on the CPU
(the shipped int8 model when it belongs to the weights, else a cached conversion). Whatever
runs is said in ``description``; an engine that cannot run is an error, never a silent fallback."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...constants import ENGINE_CHOICES
from ..model.checkpoint import ModelInfo
from .runtimes import EngineError, open_engine

if TYPE_CHECKING:
    from ..infer import Engine

DEFAULT_CPU_ENGINE = "onnxruntime"  # docs/performance.md: the numbers behind the choice


@dataclass
class Opened:
    classifier: Engine  # torch's core.infer.Classifier, or ONNX Runtime's or OpenVINO's
    info: ModelInfo
    engine: str  # torch | onnxruntime | openvino
    description: str  # what runs, in words: "onnxruntime int8 on cpu (default.int8.onnx)"
    notes: list[str] = field(default_factory=list)
    loaded: Any = None  # the torch LoadedModel when torch runs (a device move reuses it)


def is_onnx(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() == ".onnx"


def gpu_likely() -> bool:
    """A GPU torch could use, guessed without importing torch (an NVIDIA driver, Apple silicon)."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


def _torch(weights: Path, device: str, precision: str, arch: str | None) -> Opened:
    from ..model.loading import load_model

    return open_torch(load_model(weights, arch=arch), device, precision)


def open_torch(loaded, device: str = "auto", precision: str = "fp32") -> Opened:
    """Already loaded weights (a core LoadedModel) on torch: raises DeviceError as Classifier does."""
    from ..infer import Classifier

    classifier = Classifier(loaded, device, precision)
    return Opened(classifier, loaded.info, "torch", classifier.describe(), loaded.info.notes, loaded)


def _shipped_sibling(weights: Path, sha256: str) -> Path | None:
    """``<stem>.int8.onnx`` beside the weights, made from exactly these weights (its metadata says so)."""
    from .onnx_model import read_onnx

    sibling = weights.with_name(weights.stem + ".int8.onnx")
    if sibling.is_file():
        try:
            if read_onnx(sibling, optimize=False).props.get("source_sha256") == sha256:
                return sibling
        except ValueError:  # a broken sibling is not used, and the weights still work
            return None
    return None


def plan_engine(weights: str | os.PathLike, engine: str = "auto", device: str = "auto",
                precision: str = "fp32") -> str:
    """The engine :func:`open_classifier` runs ``weights`` on (torch | onnxruntime | openvino),
    decided without loading anything; EngineError when that combination cannot run."""
    weights = Path(weights)
    kind = device.split(":")[0]  # cuda:1 under torchrun
    if engine not in ENGINE_CHOICES:
        raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINE_CHOICES)}")
    if is_onnx(weights):
        if engine == "torch":
            raise EngineError(f"{weights.name}: an ONNX file runs on onnxruntime or openvino, not torch")
        if kind in ("cuda", "mps"):
            raise EngineError(f"{weights.name}: ONNX files run on the CPU in this app; use .pt weights for {device}")
        return DEFAULT_CPU_ENGINE if engine == "auto" else engine
    gpu = kind in ("cuda", "mps") or device == "auto" and gpu_likely()
    if engine == "torch" or engine == "auto" and (gpu or precision != "fp32"):
        return "torch"
    if kind in ("cuda", "mps"):
        raise EngineError(f"the {engine} engine runs on the CPU; use --engine torch for {device}")
    return DEFAULT_CPU_ENGINE if engine == "auto" else engine


def open_classifier(weights: str | os.PathLike, engine: str = "auto", device: str = "auto", precision: str = "fp32",
                    arch: str | None = None) -> Opened:
    """Prepare ``weights`` for classification on the chosen engine. Raises WeightsError,
    DeviceError or EngineError with one line."""
    weights = Path(weights)
    chosen = plan_engine(weights, engine, device, precision)
    if is_onnx(weights):
        classifier = open_engine(weights, chosen)
        return Opened(classifier, classifier.info, chosen, f"{classifier.describe()} ({weights.name})",
                      classifier.info.notes)
    if chosen == "torch":
        return _torch(weights, device, precision, arch)
    from .cache import cached_conversion
    from .export import file_sha256

    if not weights.is_file():
        from ..model.checkpoint import WeightsError

        raise WeightsError(f"{weights}: no such file")
    sha256 = file_sha256(weights)
    sibling = _shipped_sibling(weights, sha256) if arch is None else None
    if sibling is not None:
        classifier = open_engine(sibling, chosen)
        info = classifier.info
        info.source = str(weights)  # the weights the user chose: a device or engine change reloads these
        return Opened(classifier, info, chosen, f"{classifier.describe()} ({sibling.name})", info.notes)
    onnx_path, made = cached_conversion(weights, arch, sha256)
    classifier = open_engine(onnx_path, chosen)
    how = "converted now, cached" if made else "cached conversion"
    info = classifier.info
    info.source = str(weights)
    return Opened(classifier, info, chosen, f"{classifier.describe()} ({how} of {weights.name})", info.notes)

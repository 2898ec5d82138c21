"""What a model file holds besides its tensors (:class:`ModelInfo`), and saving checkpoints.

The app's checkpoint is plain containers and tensors, so ``torch.load(weights_only=True)``
reads it; every file is written through :func:`~resnet_gui.core.atomic.atomic_write`.
Loading lives in :mod:`.loading`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..atomic import atomic_write
from ..data.transforms import resize_for
from ..trust.record import TrustError, TrustInfo, trust_from_meta

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHECKPOINT_FORMAT = "resnet_gui.checkpoint"
CHECKPOINT_VERSION = 1


class WeightsError(ValueError):
    """A weights file that cannot be used; the message says why, in one line."""


@dataclass
class ModelInfo:
    """Everything needed to rebuild and use a model, besides the tensors."""

    arch: str
    class_names: list[str]
    image_size: int = 224  # center-crop size fed to the network
    resize_size: int = 256  # shorter side before the crop (resize_for(image_size) unless stored)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    source: str = ""  # the file it came from
    class_names_from: str = "generic"  # checkpoint | sidecar:<file> | imagenet | generic
    training: dict[str, Any] | None = None  # history and metrics of a fine-tune, if any
    notes: list[str] = field(default_factory=list)  # non-fatal remarks for the user
    trust: TrustInfo | None = None  # out-of-class threshold and temperature (core/trust), if fitted

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        return f"{self.arch}, {self.num_classes} classes, {self.image_size}px input, from {self.source or 'memory'}"


@dataclass
class LoadedModel:
    model: Any  # torch.nn.Module in eval mode, on the CPU until moved
    info: ModelInfo


# ResNets downsample 32x. The top bounds keep a classify batch in bounded memory (about 2 GB
# for 32 photos at 512 px, docs/threat-model.md): metadata of 2048/8192 px took 14.5 GB for 40.
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 512
MAX_RESIZE_SIZE = 1024


def info_from_meta(meta: Mapping[str, Any], arch: str, class_names: list[str], feature_width: int | None = None,
                   **extra) -> ModelInfo:
    """A :class:`ModelInfo` from a checkpoint's metadata, checked: sizes and normalisation a
    model can really work with, else :class:`WeightsError`. Absent sizes follow the one resize rule.
    ``feature_width``: how many trust features the model gives (core/trust/features.py), which
    stored trust data must match (None: checked when a classifier is made)."""
    image_size = _whole_number(meta.get("image_size", 224), "image_size", MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
    resize_size = _whole_number(meta.get("resize_size", resize_for(image_size)), "resize_size",
                                image_size, MAX_RESIZE_SIZE)
    mean = _three_numbers(meta.get("mean", IMAGENET_MEAN), "mean")
    std = _three_numbers(meta.get("std", IMAGENET_STD), "std")
    if min(std) <= 0:
        raise WeightsError(f"std must be above 0, not {list(std)}")
    training = meta.get("training")
    try:
        trust = trust_from_meta(meta.get("trust"), len(class_names), feature_width)
    except TrustError as exc:
        raise WeightsError(f"its out-of-class data is malformed: {exc}") from None
    return ModelInfo(arch=arch, class_names=class_names, image_size=image_size, resize_size=resize_size, mean=mean,
                     std=std, training=training if isinstance(training, dict) else None, trust=trust, **extra)


def _whole_number(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)  # JSON (safetensors metadata) may say 224.0
    if isinstance(value, bool) or not isinstance(value, int):
        raise WeightsError(f"{name} must be a whole number of pixels, not {_shown(value)}")
    if not low <= value <= high:
        raise WeightsError(f"{name} {value} is outside {low}..{high} pixels")
    return value


def _three_numbers(value: Any, name: str) -> tuple[float, float, float]:
    try:
        numbers = tuple(float(x) for x in value) if isinstance(value, (list, tuple)) else ()
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != 3 or not all(math.isfinite(x) for x in numbers):
        raise WeightsError(f"{name} must be 3 finite numbers (one per colour), not {_shown(value)}")
    return numbers  # type: ignore[return-value]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def checkpoint_dict(state_dict: Mapping[str, Any], info: ModelInfo, half: bool = False, as_json: bool = False) -> dict:
    """The app's checkpoint: plain containers and tensors only, so weights_only loads it
    (``as_json``: the trust arrays as base64 text, for JSON metadata)."""
    import torch

    tensors = {}
    for key, value in state_dict.items():
        value = value.detach().cpu()
        if half and value.is_floating_point():
            value = value.half()
        tensors[key] = value.contiguous()
    meta = asdict(info)
    for transient in ("source", "class_names_from", "notes", "trust"):
        meta.pop(transient, None)
    meta["mean"], meta["std"] = list(info.mean), list(info.std)
    if info.trust is not None:
        meta["trust"] = info.trust.to_meta(as_json=as_json)
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "torch_version": str(torch.__version__),  # a TorchVersion object would not load with weights_only
        **meta,
        "state_dict": tensors,
    }


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` all or nothing (see :func:`~resnet_gui.core.atomic.atomic_write`)."""
    import torch

    with atomic_write(path) as handle:
        torch.save(obj, handle)
    return Path(path)


def save_checkpoint(path: str | os.PathLike, model_or_state: Any, info: ModelInfo, half: bool = False) -> Path:
    """The app's checkpoint of a model (or its state_dict) at ``path``, written atomically."""
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    return save_torch(checkpoint_dict(state, info, half=half), path)


def save_safetensors(path: str | os.PathLike, model_or_state: Any, info: ModelInfo) -> Path:
    """Write a ``.safetensors`` file with the app's metadata as a JSON string."""
    from safetensors.torch import save

    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    meta = {k: v for k, v in checkpoint_dict(state, info, as_json=True).items() if k != "state_dict"}
    data = save({k: v.detach().cpu().contiguous() for k, v in state.items()}, metadata={"resnet_gui": json.dumps(meta)})
    with atomic_write(path) as handle:
        handle.write(data)
    return Path(path)

"""Safe loading and atomic saving of ResNet weights.

Every torch file is read with ``torch.load(weights_only=True)``: a pickle that would
import or call arbitrary Python is refused before anything runs, and there is no
fallback to a full unpickle. Loading is strict: a missing or unexpected tensor, or a
shape mismatch, is an error that names them, never a silent partial load.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import secrets
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .architectures import ARCH_NAMES, ArchitectureError, build_model, infer_architecture

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHECKPOINT_FORMAT = "resnet_gui.checkpoint"
CHECKPOINT_VERSION = 1
WEIGHT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors")
# Sidecar files that may carry class names for a plain state_dict, in the order tried.
# ``class_indices.json`` is what the classic transfer-learning tutorial writes.
_SIDECARS = ("{stem}.json", "class_indices.json", "classes.json", "labels.json", "{stem}.txt", "labels.txt", "classes.txt")


class WeightsError(ValueError):
    """A weights file that cannot be used; the message says why, in one line."""


@dataclass
class ModelInfo:
    """Everything needed to rebuild and use a model, besides the tensors."""

    arch: str
    class_names: list[str]
    image_size: int = 224  # center-crop size fed to the network
    resize_size: int = 256  # shorter side before the crop
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    source: str = ""  # the file it came from
    class_names_from: str = "generic"  # checkpoint | sidecar:<file> | imagenet | generic
    training: dict[str, Any] | None = None  # history and metrics of a fine-tune, if any
    notes: list[str] = field(default_factory=list)  # non-fatal remarks for the user

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        return f"{self.arch}, {self.num_classes} classes, {self.image_size}px input, from {self.source or 'memory'}"


@dataclass
class LoadedModel:
    model: Any  # torch.nn.Module in eval mode, on the CPU until moved
    info: ModelInfo


# ---------------------------------------------------------------- reading the file


def _read_safetensors(path: Path) -> tuple[dict, dict]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path.name}: not a readable safetensors file ({exc})") from None
    meta: dict = {}
    if "resnet_gui" in metadata:
        try:
            meta = json.loads(metadata["resnet_gui"])
        except json.JSONDecodeError:
            meta = {}
    return tensors, meta


_GLOBAL_IN_MESSAGE = re.compile(r"GLOBAL ([\w.]+)")
# What torch's weights-only unpickler says when a pickle asks to import or call Python
# (as opposed to data that is simply not a pickle: "Unsupported operand", ...).
_CODE_IN_MESSAGE = re.compile(r"GLOBAL|new object|call reduce|Can only build|Unsupported operand (105|111)\b")


def _torch_load(path: Path) -> Any:
    import torch

    try:
        with warnings.catch_warnings():  # protocol warnings are noise to a user
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if _CODE_IN_MESSAGE.search(text):
            found = _GLOBAL_IN_MESSAGE.search(text)
            what = f" ({found.group(1)})" if found else ""
            raise WeightsError(
                f"{path.name}: refused, the file holds Python objects{what} that could run code when "
                "loaded; only plain weights (a state_dict or this app's checkpoint) are accepted. "
                "If it is a whole pickled model, re-save it with torch.save(model.state_dict(), ...)."
            ) from None
        if "Weights only load failed" in text:  # torch wraps every unpickling error in this
            text = "unrecognised content"
        raise WeightsError(f"{path.name}: not a PyTorch weights file ({_first_line(text)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, TypeError, IndexError) as exc:
        text = _first_line(str(exc)) or type(exc).__name__
        if isinstance(exc, (EOFError, OSError)) or "central directory" in text or "truncated" in text.lower():
            raise WeightsError(f"{path.name}: the file is truncated or damaged ({text})") from None
        if isinstance(exc, KeyError):  # the legacy loader's first byte lookup: "KeyError: 101"
            text = "unrecognised content"
        raise WeightsError(f"{path.name}: not a PyTorch weights file ({text})") from None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""


def _is_tensor_mapping(obj: Any) -> bool:
    import torch

    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def _unwrap(obj: Any, path: Path) -> tuple[dict, dict]:
    """Return ``(state_dict, app_metadata)`` from whatever container the file holds."""
    meta: dict = {}
    for _ in range(4):  # nested wrappers such as {'model': {'state_dict': ...}}
        if not isinstance(obj, Mapping):
            raise WeightsError(f"{path.name}: holds a {type(obj).__name__}, not a dictionary of weights")
        if obj.get("format") == CHECKPOINT_FORMAT:
            meta = {k: v for k, v in obj.items() if k != "state_dict"}
            obj = obj.get("state_dict")
            continue
        if _is_tensor_mapping(obj):
            return dict(obj), meta
        for key in ("state_dict", "model_state_dict", "model", "net", "module"):
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
        else:
            keys = ", ".join(list(map(str, obj))[:8])
            raise WeightsError(f"{path.name}: no weights found (top-level keys: {keys or 'none'})")
    raise WeightsError(f"{path.name}: weights nested too deeply to find")


def clean_state_dict(state_dict: Mapping[str, Any]) -> dict:
    """Strip wrapper prefixes every key shares (``module.`` from DataParallel, ``model.``)."""
    cleaned = dict(state_dict)
    changed = True
    while changed:
        changed = False
        for prefix in ("module.", "model.", "_orig_mod."):
            if cleaned and all(k.startswith(prefix) for k in cleaned):
                cleaned = {k[len(prefix):]: v for k, v in cleaned.items()}
                changed = True
    return cleaned


# ---------------------------------------------------------------- class names


def imagenet_class_names() -> list[str]:
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def _parse_sidecar(path: Path) -> list[str] | None:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".txt":
        return [line.strip() for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if isinstance(data, list):
        return [str(x) for x in data]
    if isinstance(data, Mapping):
        if "class_names" in data and isinstance(data["class_names"], list):
            return [str(x) for x in data["class_names"]]
        try:  # {"0": "daisy", "1": "dandelion", ...}
            items = sorted((int(k), str(v)) for k, v in data.items())
        except (TypeError, ValueError):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in data.values()):
                return None
            items = sorted((v, str(k)) for k, v in data.items())  # ImageFolder's class_to_idx
        if [i for i, _ in items] == list(range(len(items))):
            return [v for _, v in items]
    return None


def find_class_names(weights_path: Path, num_classes: int) -> tuple[list[str], str, list[str]]:
    """Class names for a plain state_dict: a sidecar file, ImageNet's, or ``class i``."""
    notes: list[str] = []
    for pattern in _SIDECARS:
        candidate = weights_path.parent / pattern.format(stem=weights_path.stem)
        if not candidate.is_file():
            continue
        try:
            names = _parse_sidecar(candidate)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            notes.append(f"ignored {candidate.name}: unreadable ({exc})")
            continue
        if names is None:
            notes.append(f"ignored {candidate.name}: not a list of class names")
        elif len(names) != num_classes:
            notes.append(f"ignored {candidate.name}: {len(names)} names but the model has {num_classes} outputs")
        else:
            return names, f"sidecar:{candidate.name}", notes
    if num_classes == 1000:
        return imagenet_class_names(), "imagenet", notes
    return [f"class {i}" for i in range(num_classes)], "generic", notes


# ---------------------------------------------------------------- loading


def _check_compatible(model, state_dict: Mapping[str, Any], arch: str, path: Path) -> None:
    expected = model.state_dict()
    # BatchNorm fills in a missing num_batches_tracked itself (older torchvision files lack it).
    missing = [k for k in expected if k not in state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(expected[k].shape)}"
        for k in expected
        if k in state_dict and tuple(state_dict[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
        if items:
            shown = ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise WeightsError(f"{path.name}: does not fit {arch} ({'; '.join(problems)})")


def load_model(path: str | os.PathLike, arch: str | None = None) -> LoadedModel:
    """Load weights from ``path`` into a fresh torchvision ResNet in eval mode (on the CPU).

    ``arch`` may name the architecture; otherwise it comes from the checkpoint or is
    inferred from the tensors. Raises :class:`WeightsError` with a one-line reason.
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: no such file")
    if not path.is_file():
        raise WeightsError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise WeightsError(f"{path.name}: the file is empty")
    if arch is not None and arch not in ARCH_NAMES:
        raise WeightsError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCH_NAMES)}")

    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise WeightsError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    is_safetensors = path.suffix == ".safetensors" or (len(head) > 9 and head[8:9] == b"{")
    if is_safetensors:
        raw, meta = _read_safetensors(path)
        state_dict = raw
    else:
        state_dict, meta = _unwrap(_torch_load(path), path)
    state_dict = clean_state_dict(state_dict)
    state_dict = {k: v for k, v in state_dict.items() if isinstance(v, torch.Tensor)}

    try:
        inferred_arch, num_classes = infer_architecture(state_dict)
    except ArchitectureError as exc:
        raise WeightsError(f"{path.name}: {exc}") from None
    stated = meta.get("arch")
    if arch and arch != inferred_arch:
        raise WeightsError(f"{path.name}: you chose {arch}, but these weights are a {inferred_arch}")
    if stated and stated != inferred_arch:
        raise WeightsError(f"{path.name}: the checkpoint says {stated}, but its tensors are a {inferred_arch}")
    arch = inferred_arch

    model = build_model(arch, num_classes)
    _check_compatible(model, state_dict, arch, path)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:  # anything _check_compatible did not foresee
        raise WeightsError(f"{path.name}: does not fit {arch} ({_first_line(str(exc))})") from None
    model.float().eval()  # fp16-stored checkpoints are computed in fp32

    notes: list[str] = []
    names = meta.get("class_names")
    if isinstance(names, (list, tuple)) and len(names) == num_classes:
        class_names, names_from = [str(n) for n in names], "checkpoint"
    else:
        if names is not None:
            notes.append(f"the checkpoint's {len(names)} class names do not match its {num_classes} outputs")
        class_names, names_from, more = find_class_names(path, num_classes)
        notes += more
    info = ModelInfo(
        arch=arch,
        class_names=class_names,
        image_size=int(meta.get("image_size", 224)),
        resize_size=int(meta.get("resize_size", meta.get("image_size", 224) * 256 // 224)),
        mean=tuple(float(x) for x in meta.get("mean", IMAGENET_MEAN)),
        std=tuple(float(x) for x in meta.get("std", IMAGENET_STD)),
        source=str(path),
        class_names_from=names_from,
        training=meta.get("training"),
        notes=notes,
    )
    return LoadedModel(model=model, info=info)


# ---------------------------------------------------------------- saving


def checkpoint_dict(state_dict: Mapping[str, Any], info: ModelInfo, half: bool = False) -> dict:
    """The app's checkpoint: plain containers and tensors only, so weights_only loads it."""
    import torch

    tensors = {}
    for key, value in state_dict.items():
        value = value.detach().cpu()
        if half and value.is_floating_point():
            value = value.half()
        tensors[key] = value.contiguous()
    meta = asdict(info)
    for transient in ("source", "class_names_from", "notes"):
        meta.pop(transient, None)
    meta["mean"], meta["std"] = list(info.mean), list(info.std)
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "torch_version": str(torch.__version__),  # a TorchVersion object would not load with weights_only
        **meta,
        "state_dict": tensors,
    }


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temp path beside ``path``; when the block succeeds it is ``os.replace``d
    onto ``path``, otherwise removed. A crash or kill mid-write leaves the old file intact.

    The temp file is created by the writer with an ordinary open(), so it gets the user's
    umask (mkstemp would make it 0600, and changing the process umask is not thread-safe).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temp file beside ``path``, then ``os.replace`` (see :func:`replacing`)."""
    import torch

    with replacing(path) as tmp, open(tmp, "xb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


def save_checkpoint(path: str | os.PathLike, model_or_state: Any, info: ModelInfo, half: bool = False) -> Path:
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    return atomic_save(checkpoint_dict(state, info, half=half), path)


def save_safetensors(path: str | os.PathLike, model_or_state: Any, info: ModelInfo) -> Path:
    """Write a ``.safetensors`` file with the app's metadata as a JSON string."""
    from safetensors.torch import save

    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    meta = {k: v for k, v in checkpoint_dict(state, info).items() if k != "state_dict"}
    data = save({k: v.detach().cpu().contiguous() for k, v in state.items()}, metadata={"resnet_gui": json.dumps(meta)})
    with replacing(path) as tmp, open(tmp, "xb") as handle:  # save_file would make the file 0600
        handle.write(data)
    return Path(path)

"""Safe loading of ResNet weights from any of the usual containers.

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
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping

from .architectures import ARCH_NAMES, ArchitectureError, build_model, infer_architecture
from .checkpoint import CHECKPOINT_FORMAT, LoadedModel, WeightsError, info_from_meta
from .class_names import find_class_names


def _read_safetensors(path: Path) -> tuple[dict, dict]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path.name}: not a readable safetensors file ({exc})") from None
    meta: Any = {}
    if "resnet_gui" in metadata:
        try:
            meta = json.loads(metadata["resnet_gui"])
        except (json.JSONDecodeError, RecursionError):
            raise WeightsError(f"{path.name}: its resnet_gui metadata is not readable JSON") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{path.name}: its resnet_gui metadata is not a JSON object")
    return tensors, meta


# torch's notes on pickle protocols are noise to a user (a module-level filter: catch_warnings()
# is not thread-safe and models load in worker threads).
warnings.filterwarnings("ignore", module=r"torch\._weights_only_unpickler")
_GLOBAL_IN_MESSAGE = re.compile(r"GLOBAL ([\w.]+)")
# What torch's weights-only unpickler says when a pickle asks to import or call Python
# (as opposed to data that is simply not a pickle: "Unsupported operand", ...).
_CODE_IN_MESSAGE = re.compile(r"GLOBAL|new object|call reduce|Can only build|Unsupported operand (105|111)\b")


def _torch_load(path: Path, map_location: str = "cpu") -> Any:
    import torch

    try:
        return torch.load(str(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        code = _GLOBAL_IN_MESSAGE.search(text) if _CODE_IN_MESSAGE.search(text) else None
        called = code.group(1) if code else _python_called_by_pickle(path)
        if code or called:
            what = f" ({called})" if called else ""
            raise WeightsError(
                f"{path.name}: refused, the file holds Python objects{what} that could run code when "
                "loaded; only plain weights (a state_dict or this app's checkpoint) are accepted. "
                "If it is a whole pickled model, re-save it with torch.save(model.state_dict(), ...)."
            ) from None
        if "Weights only load failed" in text:  # torch wraps every unpickling error in this
            text = "unrecognised content"
        raise WeightsError(f"{path.name}: not a PyTorch weights file ({_first_line(text)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, TypeError, IndexError,
            struct.error) as exc:
        text = _first_line(str(exc)) or type(exc).__name__
        if isinstance(exc, (EOFError, OSError, struct.error)) or "central directory" in text or "truncated" in text.lower():
            raise WeightsError(f"{path.name}: the file is truncated or damaged ({text})") from None
        if isinstance(exc, KeyError):  # the legacy loader's first byte lookup: "KeyError: 101"
            text = "unrecognised content"
        raise WeightsError(f"{path.name}: not a PyTorch weights file ({text})") from None


# Opcodes that import or call Python: a plain pickle of weights needs none of them.
_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"}


def _python_called_by_pickle(path: Path, limit: int = 1 << 20) -> str:
    """If ``path`` is a bare pickle (not torch's zip) that imports or calls Python, what it
    names ("posix.system"), else "". Only parses opcodes (pickletools), never executes them;
    torch's own message for such a file is often just "Unsupported operand 149"."""
    import io
    import pickletools

    try:
        with open(path, "rb") as handle:
            data = handle.read(limit)
        strings: list[str] = []
        for opcode, arg, _ in pickletools.genops(io.BytesIO(data)):
            if isinstance(arg, str):
                strings.append(arg)
            if opcode.name == "GLOBAL":
                return str(arg).replace(" ", ".")
            if opcode.name in _CODE_OPCODES:
                return ".".join(strings[-2:]) if opcode.name == "STACK_GLOBAL" and len(strings) >= 2 else "a call"
    except Exception:  # noqa: BLE001 - not a readable pickle: nothing to report
        return ""
    return ""


def _finite(tensor) -> bool:
    import torch

    if tensor.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        tensor = tensor.float()  # float8 and friends: isfinite is not implemented for them
    return bool(torch.isfinite(tensor).all())


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


# resnet152's weights in fp32 take 240 MB; its 2048-wide head with 100,000 classes another 820 MB
MAX_WEIGHTS_BYTES = 1 << 30


def _check_zip_sizes(path: Path) -> None:
    """A deflate bomb (45 MB of zeros that inflate to 4 GB) is refused from the zip directory's
    sizes, before anything is inflated; torch's own files store their tensors uncompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not a zip (a legacy torch file) or damaged: torch.load says which
    if total > MAX_WEIGHTS_BYTES:
        raise WeightsError(f"{path.name}: unpacks to {total / 1e9:.1f} GB, more than the {MAX_WEIGHTS_BYTES >> 20} MB "
                           "any ResNet's weights take; refused before unpacking")


def _tensors(obj: Any, path: Path) -> tuple[dict, dict]:
    """The state_dict (string keys, tensors only, wrapper prefixes gone) and the app metadata."""
    import torch

    state_dict, meta = _unwrap(obj, path)
    state_dict = clean_state_dict({k: v for k, v in state_dict.items() if isinstance(k, str)})
    return {k: v for k, v in state_dict.items() if isinstance(v, torch.Tensor)}, meta


def _check_tensor_kinds(state_dict: Mapping[str, Any], path: Path) -> None:
    """Weights are real numbers (BatchNorm's counter an integer), each element stored once."""
    import torch

    for key, value in state_dict.items():
        if value.layout != torch.strided:
            raise WeightsError(f"{path.name}: {key}: sparse tensors are not weights this app reads")
        if key.endswith("num_batches_tracked"):
            if value.is_complex() or value.dtype == torch.bool or value.numel() != 1:
                raise WeightsError(f"{path.name}: {key} is not a counter")
        elif not value.is_floating_point():
            raise WeightsError(f"{path.name}: {key} holds {str(value.dtype).replace('torch.', '')} values, not weights")
        if any(stride == 0 and size > 1 for stride, size in zip(value.stride(), value.shape)):
            raise WeightsError(f"{path.name}: {key} repeats one stored value along a dimension (stride 0): "
                               "not weights this app reads")


def _expected_model(state_dict: Mapping[str, Any], arch: str | None, meta: Mapping, path: Path):
    """``(model, arch)`` the tensors must fit (``device="meta"``: shapes only, no memory), after the
    architecture checks; refuses a model larger than :data:`MAX_WEIGHTS_BYTES`."""
    try:
        inferred_arch, num_classes = infer_architecture(state_dict)
    except ArchitectureError as exc:
        raise WeightsError(f"{path.name}: {exc}") from None
    if num_classes < 1:
        raise WeightsError(f"{path.name}: the model has no outputs (fc.weight has 0 rows)")
    stated = meta.get("arch")
    if arch and arch != inferred_arch:
        raise WeightsError(f"{path.name}: you chose {arch}, but these weights are a {inferred_arch}")
    if stated and stated != inferred_arch:
        raise WeightsError(f"{path.name}: the checkpoint says {stated}, but its tensors are a {inferred_arch}")
    feature_width = int(state_dict["fc.weight"].shape[1])
    if num_classes * feature_width * 4 > MAX_WEIGHTS_BYTES:
        raise WeightsError(f"{path.name}: {num_classes} classes make a head over {MAX_WEIGHTS_BYTES >> 20} MB; refused")
    return inferred_arch, num_classes


def _precheck(path: Path, arch: str | None) -> None:
    """Before a torch file's tensors are inflated: the zip's sizes, then the tensors' names,
    shapes, dtypes and strides read without their data (``map_location="meta"``)."""
    import torch

    _check_zip_sizes(path)
    if not zipfile.is_zipfile(path):
        return  # a legacy torch file is not compressed: it takes what its size says
    state_dict, meta = _tensors(_torch_load(path, "meta"), path)
    _check_tensor_kinds(state_dict, path)
    arch, num_classes = _expected_model(state_dict, arch, meta, path)
    with torch.device("meta"):
        model = build_model(arch, num_classes)
    _check_compatible(model, state_dict, arch, path)


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
        _precheck(path, arch)
        state_dict, meta = _unwrap(_torch_load(path), path)
    # weights are named by strings and held in ordinary CPU tensors; anything else is refused
    state_dict = clean_state_dict({k: v for k, v in state_dict.items() if isinstance(k, str)})
    state_dict = {k: v for k, v in state_dict.items() if isinstance(v, torch.Tensor)}
    odd = [k for k, v in state_dict.items() if v.layout != torch.strided or v.device.type != "cpu"]
    if odd:
        raise WeightsError(f"{path.name}: {', '.join(odd[:3])}: sparse or device-only tensors are not weights this app reads")
    _check_tensor_kinds(state_dict, path)
    arch, num_classes = _expected_model(state_dict, arch, meta, path)
    model = build_model(arch, num_classes)
    _check_compatible(model, state_dict, arch, path)  # unexpected keys go before any tensor is scanned
    broken = [k for k, v in state_dict.items() if v.is_floating_point() and not _finite(v)]
    if broken:
        raise WeightsError(f"{path.name}: NaN or infinite values in {len(broken)} tensors ({', '.join(broken[:3])}); "
                           "a model trained past a diverging loss cannot classify")
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
        if isinstance(names, (list, tuple)):
            notes.append(f"the checkpoint's {len(names)} class names do not match its {num_classes} outputs")
        elif names is not None:
            notes.append("the checkpoint's class names are not a list; ignored")
        class_names, names_from, more = find_class_names(path, num_classes)
        notes += more
    try:
        info = info_from_meta(meta, arch, class_names, source=str(path), class_names_from=names_from, notes=notes)
    except WeightsError as exc:
        raise WeightsError(f"{path.name}: {exc}") from None
    return LoadedModel(model=model, info=info)

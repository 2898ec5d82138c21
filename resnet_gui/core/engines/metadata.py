"""The app's model description (:class:`~resnet_gui.core.model.checkpoint.ModelInfo`) as ONNX
metadata props, and back: an exported file is self-describing like our checkpoints.

Plain keys, values as text (lists as JSON), readable by any ONNX tool::

    class_names  ["daisy", ...]      image_size 128     resize_size 146
    resize       the rule in words   mean [0.485, ...]  std [0.229, ...]
    input        what the input tensor holds            arch resnet18
    precision    fp32 | int8         source_sha256      the weights it came from
    notes        ["..."]             remarks from loading the weights, if any
    trust        {"method": ...}     out-of-class data and temperature (core/trust/record.py;
                                     arrays as base64), read with the graph's ``features`` output
"""

from __future__ import annotations

import json
from typing import Mapping

from ..model.checkpoint import ModelInfo, WeightsError, info_from_meta
from ..trust.record import TrustInfo

FORMAT = "resnet_gui.onnx"
RESIZE_RULE = "shorter side resized to resize_size (bilinear, antialiased), then center crop image_size"
INPUT_RULE = "float32 NCHW RGB, (pixel / 255 - mean) / std per channel; output: logits"
MAX_VALUE_CHARS = 10_000_000  # 20,000 class names fit in well under 1 MB


def info_to_props(info: ModelInfo, precision: str = "fp32", source_sha256: str = "") -> dict[str, str]:
    props = {
        "format": FORMAT,
        "arch": info.arch,
        "class_names": json.dumps(list(info.class_names), ensure_ascii=False),
        "image_size": str(info.image_size),
        "resize_size": str(info.resize_size),
        "resize": RESIZE_RULE,
        "mean": json.dumps(list(info.mean)),
        "std": json.dumps(list(info.std)),
        "input": INPUT_RULE,
        "precision": precision,
    }
    if source_sha256:
        props["source_sha256"] = source_sha256
    if info.notes:  # remarks from loading the weights (an ignored sidecar...), shown again on each run
        props["notes"] = json.dumps(list(info.notes), ensure_ascii=False)
    if isinstance(info.trust, TrustInfo):
        props["trust"] = json.dumps(info.trust.to_meta(as_json=True))
    return props


def _json(props: Mapping[str, str], key: str, name: str):
    text = props.get(key)
    if text is None:
        return None
    if len(text) > MAX_VALUE_CHARS:
        raise WeightsError(f"{name}: its {key} metadata is larger than {MAX_VALUE_CHARS // 1_000_000} MB")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise WeightsError(f"{name}: its {key} metadata is not readable JSON") from None


def info_from_props(props: Mapping[str, str], num_classes: int, name: str, source: str,
                    sidecar_names: tuple[list[str], str] | None) -> ModelInfo:
    """Check the metadata like a checkpoint's; class names from it, else from ``sidecar_names``."""
    names = _json(props, "class_names", name)
    stored = _json(props, "notes", name)
    notes = [str(n) for n in stored[:20]] if isinstance(stored, list) else []
    if isinstance(names, list) and len(names) == num_classes and all(isinstance(n, str) for n in names):
        class_names, names_from = names, "checkpoint"
    else:
        if names is not None:
            notes.append(f"its class_names metadata does not list {num_classes} names; ignored")
        if sidecar_names is None:
            raise WeightsError(f"{name}: no class names (no class_names metadata and no sidecar file such as "
                               f"{name.rsplit('.', 1)[0]}.json or labels.txt); not a model this app can describe")
        class_names, names_from = sidecar_names
    meta = {}
    for key in ("image_size", "resize_size", "mean", "std", "trust"):
        value = _json(props, key, name)
        if value is not None:
            meta[key] = value
    arch = props.get("arch", "onnx")[:40]
    try:
        return info_from_meta(meta, arch, class_names, source=source, class_names_from=names_from, notes=notes)
    except WeightsError as exc:
        raise WeightsError(f"{name}: {exc}") from None

"""Reading an ``.onnx`` file as weights: checked, described, and refused in one line when it
is not an image classifier, truncated or damaged, malicious, or of an opset the runtime cannot run.

The file is read into memory and handed to onnxruntime as bytes: a graph that points at
external data files (``../../etc/passwd``) cannot reach the filesystem that way, and what was
checked is what runs. No torch, no torchvision, no ``onnx`` package here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.checkpoint import ModelInfo, WeightsError
from .graph_check import check_operators
from .metadata import info_from_props

MAX_ONNX_BYTES = 2_000_000_000  # protobuf's own limit for one message


@dataclass
class OnnxModel:
    path: Path
    data: bytes  # the file's bytes, exactly what was checked
    info: ModelInfo
    precision: str  # fp32 | int8 (from the metadata; "fp32" when not said)
    props: dict[str, str]
    session: Any = None  # the onnxruntime session that checked it, reused by that engine


def ort_session(data: bytes, name: str, optimize: bool = True):
    """An onnxruntime CPU session of ``data``; any failure is a :class:`WeightsError` in one line."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # its warnings and errors are for developers: ours, one line, are for users
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own classes for each case
        raise WeightsError(f"{name}: {_why_not_runnable(str(exc))}") from None


def _why_not_runnable(text: str) -> str:
    import onnxruntime as ort

    line = " ".join(text.split())[:200]
    opset, newest = re.search(r"[Oo]pset (\d+)", text), re.search(r"is till opset (\d+)", text)
    if "external" in text.lower() or "model_path must not be empty" in text:
        return "it refers to external data files; only self-contained .onnx files are accepted"
    if opset:
        upto = f"; it runs up to opset {newest.group(1)}" if newest else ""
        return f"uses ONNX opset {opset.group(1)}, which this onnxruntime {ort.__version__} cannot run{upto}"
    if "Protobuf parsing failed" in text or "InvalidProtobuf" in text or "INVALID_PROTOBUF" in text:
        return "not an ONNX model, or the file is truncated or damaged"
    if "domain" in text.lower() or "NOT_IMPLEMENTED" in text or "not a registered" in text:
        return f"uses operators onnxruntime does not have, refused ({line})"
    return f"onnxruntime cannot load it ({line})"


def _dims(arg) -> list:
    shape = arg.shape
    return list(shape) if isinstance(shape, (list, tuple)) else []


def read_onnx(path: str | os.PathLike, optimize: bool = True) -> OnnxModel:
    """Check and describe ``path``; :class:`WeightsError` with a one-line reason otherwise."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise WeightsError(f"{path}: no such file")
    if not path.is_file():
        raise WeightsError(f"{path}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise WeightsError(f"{name}: the file is empty")
    if size > MAX_ONNX_BYTES:
        raise WeightsError(f"{name}: {size / 1e9:.1f} GB, larger than an ONNX file can be")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    check_operators(data, name)
    session = ort_session(data, name, optimize)
    try:
        return _describe(path, data, session, name)
    except UnicodeDecodeError:  # names or metadata that are not UTF-8
        raise WeightsError(f"{name}: not an ONNX model, or the file is damaged (text that is not UTF-8)") from None


def _describe(path: Path, data: bytes, session, name: str) -> OnnxModel:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) < 1:
        raise WeightsError(f"{name}: not an image classifier (it takes {len(inputs)} inputs; one image batch expected)")
    in_dims, out_dims = _dims(inputs[0]), _dims(outputs[0])
    if len(in_dims) != 4 or in_dims[1] not in (3, None) and not isinstance(in_dims[1], str):
        raise WeightsError(f"{name}: not an image classifier (input shape {in_dims}; expected batch x 3 x height x width)")
    if "float" not in inputs[0].type:
        raise WeightsError(f"{name}: not an image classifier (input of type {inputs[0].type}; float expected)")
    if len(out_dims) != 2 or not isinstance(out_dims[1], int) or out_dims[1] < 1:
        raise WeightsError(f"{name}: not an image classifier (output shape {out_dims}; expected batch x classes)")
    num_classes = out_dims[1]
    props = dict(session.get_modelmeta().custom_metadata_map)
    sidecar = None
    if "class_names" not in props:
        from ..model.class_names import find_class_names

        names, names_from, _ = find_class_names(path, num_classes)  # ImageNet's or "class i" do not count
        sidecar = (names, names_from) if names_from.startswith("sidecar:") else None
    if isinstance(in_dims[2], int) and "image_size" not in props:
        props = {**props, "image_size": str(in_dims[2])}
    info = info_from_props(props, num_classes, name, str(path), sidecar)
    if isinstance(in_dims[2], int) and (in_dims[2], in_dims[3]) != (info.image_size, info.image_size):
        raise WeightsError(f"{name}: its input is {in_dims[3]}x{in_dims[2]} but its metadata says {info.image_size} px")
    _probe(session, name, info.image_size, num_classes)
    precision = props.get("precision", "fp32") if props.get("precision") in ("fp32", "int8") else "fp32"
    return OnnxModel(path, data, info, precision, props, session)


def _probe(session, name: str, size: int, num_classes: int) -> None:
    """A batch of two, at load: a graph that reshapes its batch away, fails at run time or
    gives NaN is refused now, not photo by photo later."""
    import numpy as np

    x = np.zeros((2, 3, size, size), np.float32)
    try:
        logits = np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own classes
        raise WeightsError(f"{name}: fails on a probe batch of two photos ({' '.join(str(exc).split())[:200]})") from None
    if logits.shape != (2, num_classes):
        raise WeightsError(f"{name}: a batch of two photos gives outputs of shape {list(logits.shape)}, "
                           f"not 2 x {num_classes}; refused")
    if not np.isfinite(logits).all():
        raise WeightsError(f"{name}: gives NaN or infinite scores on a probe batch; refused")

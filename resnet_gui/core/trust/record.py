"""What a checkpoint stores for "not one of my classes" and honest confidence
(:class:`TrustInfo`), written as plain containers and tensors (``torch.load(weights_only=True)``
reads it) or as JSON (safetensors and ONNX metadata), and read back strictly: every field is
checked, tensors are bounded in size, and anything malformed is refused in one line."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..teacher.model import TEACHER_VERSION
from .calibration import T_MAX, T_MIN, softmax
from .features import FEATURES_KIND
from .scores import METHODS, energy_score, knn_score, mahalanobis_score, msp_score

TRUST_VERSION = 1
MAX_BANK_ROWS = 4096  # 4096 x 512 fp16 = 4 MB
MAX_WIDTH = 2048  # features per photo: 960 for resnet18/34, 1792 for resnet50 and wider (features.py)
MAX_K = 100
NOT_AVAILABLE = "out-of-class detection: not available for this model (resnet-gui calibrate MODEL DATA_DIR adds it)"
# The arrays describe the ImageNet teacher's pooled features of the photo (core/teacher), not the
# model's own: the score then knows the visual world (docs/trust.md).
TEACHER_FEATURES = f"teacher-{TEACHER_VERSION}"
TEACHER_WIDTH = 1280
FEATURE_KINDS = (FEATURES_KIND, TEACHER_FEATURES)


class TrustError(ValueError):
    """Malformed trust data in a model file; one line."""


@dataclass
class TrustInfo:
    method: str  # knn | mahalanobis | energy | msp (scores.py)
    threshold: float  # a photo whose out-of-class score is above it is "unknown"
    temperature: float = 1.0  # probabilities are softmax(logits / temperature)
    k: int = 0  # knn: which neighbour
    bank: np.ndarray | None = None  # knn: L2-normalised training features, float16 [rows, width]
    means: np.ndarray | None = None  # mahalanobis: class means [classes, width]
    precision: np.ndarray | None = None  # mahalanobis: shared precision matrix [width, width]
    ece_before: float | None = None  # on the held-out photos, 15 bins, at temperature 1
    ece_after: float | None = None  # the same at ``temperature``
    photos: int = 0  # held-out photos the threshold and temperature were fitted on
    pass_rate: float = 0.0  # share of them at or under the threshold (~0.95)
    fitted_on: str = ""  # in words, no folder paths: "the validation split of training"
    features: str = FEATURES_KIND  # what the arrays describe: FEATURES_KIND (features.py) or TEACHER_FEATURES

    def scores(self, logits: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        """Out-of-class score per row (raw logits, before the temperature)."""
        if self.method == "knn":
            return knn_score(features, self.bank, self.k)
        if self.method == "mahalanobis":
            return mahalanobis_score(features, self.means, self.precision)
        return energy_score(logits) if self.method == "energy" else msp_score(logits)

    def is_unknown(self, score: float) -> bool:
        """Does this out-of-class score fail the threshold ("none of my classes")?"""
        return bool(score > self.threshold)

    @property
    def uses_teacher(self) -> bool:
        """Scored on the ImageNet teacher's features of the photo (which the model does not give)."""
        return self.features == TEACHER_FEATURES and self.method in ("knn", "mahalanobis")

    @property
    def needs_features(self) -> bool:
        """Needs the model's own ``features`` output."""
        return self.method in ("knn", "mahalanobis") and not self.uses_teacher

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits, self.temperature)

    def describe(self) -> str:
        how = f"{self.method}, k={self.k}, {len(self.bank)} training photos" if self.method == "knn" else self.method
        if self.uses_teacher:
            how += " on the ImageNet teacher's features"
        text = (f"out-of-class detection: {how}; threshold {self.threshold:.4g} passes {self.pass_rate:.1%} of "
                f"{self.photos} held-out photos; temperature {self.temperature:.3g}")
        if self.ece_before is not None and self.ece_after is not None:
            text += f" (ECE {self.ece_before:.3f} -> {self.ece_after:.3f})"
        return text

    def to_meta(self, as_json: bool = False) -> dict:
        """Plain containers; arrays as fp16/fp32 CPU tensors, or (``as_json``) as base64 text."""
        meta: dict[str, Any] = {"version": TRUST_VERSION, "method": self.method, "threshold": float(self.threshold),
                                "temperature": float(self.temperature), "k": int(self.k),
                                "ece_before": self.ece_before, "ece_after": self.ece_after,
                                "photos": int(self.photos), "pass_rate": float(self.pass_rate),
                                "fitted_on": self.fitted_on, "features": self.features}
        for name, dtype in (("bank", np.float16), ("means", np.float32), ("precision", np.float32)):
            value = getattr(self, name)
            if value is not None:
                array = np.ascontiguousarray(value, dtype=dtype)
                meta[name] = _to_json_array(array) if as_json else _to_tensor(array)
        return meta


def _to_tensor(array: np.ndarray):
    import torch

    return torch.from_numpy(array.copy())


def _to_json_array(array: np.ndarray) -> dict:
    return {"dtype": str(array.dtype), "shape": list(array.shape),
            "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def _array(value: Any, name: str, shape: tuple[int | None, ...], limits: tuple[int, ...]) -> np.ndarray:
    """A finite float array of ``shape`` (None: any size up to its limit) from a tensor or JSON."""
    if isinstance(value, Mapping):
        dtype, dims, text = value.get("dtype"), value.get("shape"), value.get("base64")
        if dtype not in ("float16", "float32") or not isinstance(dims, list) or not isinstance(text, str):
            raise TrustError(f"{name} must be float16/float32 data with a shape")
        if len(dims) != len(shape) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims):
            raise TrustError(f"{name} must have {len(shape)} dimensions, not shape {_shown(dims)}")
        _check_dims(dims, name, shape, limits)  # before decoding: a huge claimed shape costs nothing
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            raise TrustError(f"{name}: its data is not base64") from None
        if len(raw) != math.prod(dims) * np.dtype(dtype).itemsize:
            raise TrustError(f"{name}: {len(raw)} bytes do not make shape {dims}")
        array = np.frombuffer(raw, dtype=dtype).reshape(dims)
    else:
        try:
            import torch
        except ImportError:  # only JSON arrays come without torch
            raise TrustError(f"{name} is not an array") from None
        if not isinstance(value, torch.Tensor) or value.dtype not in (torch.float16, torch.float32):
            raise TrustError(f"{name} must be a float16 or float32 tensor, not {_shown(value)}")
        if value.dim() != len(shape) or value.layout != torch.strided:
            raise TrustError(f"{name} must have {len(shape)} dimensions, not shape {list(value.shape)}")
        _check_dims(list(value.shape), name, shape, limits)
        array = value.detach().cpu().numpy()
    if not np.isfinite(array).all():
        raise TrustError(f"{name} holds NaN or infinite values")
    return array.astype(np.float32) if name != "bank" else array.astype(np.float16)


def _check_dims(dims: list, name: str, shape: tuple, limits: tuple) -> None:
    for got, want, limit in zip(dims, shape, limits):
        if (want is not None and got != want) or not 1 <= got <= limit:
            expected = " x ".join(str(w) if w is not None else f"(1..{m})" for w, m in zip(shape, limits))
            raise TrustError(f"{name} has shape {list(dims)}; expected {expected}")


def _number(meta: Mapping, key: str, low: float, high: float, optional: bool = False) -> float | None:
    value = meta.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise TrustError(f"{key} must be a number in {low:g}..{high:g}, not {_shown(value)}")
    return float(value)


def _shown(value: Any) -> str:
    text = repr(value) if not hasattr(value, "shape") else f"{type(value).__name__} {list(value.shape)}"
    return text if len(text) <= 40 else text[:37] + "..."


def trust_from_meta(meta: Any, num_classes: int, width: int | None) -> TrustInfo | None:
    """The stored :class:`TrustInfo`, checked against the model (``width``: its feature
    width, None when unknown); None when the file has none. Raises :class:`TrustError`."""
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise TrustError(f"must be a dictionary, not {_shown(meta)}")
    if meta.get("version") != TRUST_VERSION:
        raise TrustError(f"version {_shown(meta.get('version'))} is not one this app reads ({TRUST_VERSION})")
    method = meta.get("method")
    if method not in METHODS:
        raise TrustError(f"unknown method {_shown(method)}; expected one of {', '.join(METHODS)}")
    kind = meta.get("features")
    if kind not in FEATURE_KINDS:
        raise TrustError(f"features {_shown(kind)} are not what this app computes ({' or '.join(FEATURE_KINDS)})")
    fitted_on = meta.get("fitted_on", "")
    photos = meta.get("photos")
    if not isinstance(fitted_on, str) or len(fitted_on) > 200:
        raise TrustError("fitted_on must be a short text")
    if isinstance(photos, bool) or not isinstance(photos, int) or photos < 0:
        raise TrustError(f"photos must be a whole number, not {_shown(photos)}")
    info = TrustInfo(method=method, threshold=_number(meta, "threshold", -1e9, 1e9),
                     temperature=_number(meta, "temperature", T_MIN, T_MAX),
                     ece_before=_number(meta, "ece_before", 0.0, 1.0, optional=True),
                     ece_after=_number(meta, "ece_after", 0.0, 1.0, optional=True),
                     photos=photos, pass_rate=_number(meta, "pass_rate", 0.0, 1.0), fitted_on=fitted_on,
                     features=kind)
    if kind == TEACHER_FEATURES:  # the teacher's width, whatever the model
        width = TEACHER_WIDTH
    w_limit = MAX_WIDTH if width is None else width
    if method == "knn":
        info.bank = _array(meta.get("bank"), "bank", (None, width), (MAX_BANK_ROWS, w_limit))
        k = meta.get("k")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= min(MAX_K, len(info.bank)):
            raise TrustError(f"k must be a whole number in 1..{min(MAX_K, len(info.bank))}, not {_shown(k)}")
        info.k = k
    elif method == "mahalanobis":
        info.means = _array(meta.get("means"), "means", (num_classes, width), (num_classes, w_limit))
        d = info.means.shape[1]
        info.precision = _array(meta.get("precision"), "precision", (d, d), (d, d))
    return info

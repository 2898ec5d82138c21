"""Engine classifiers with the torch :class:`~resnet_gui.core.infer.Classifier`'s shape:
``predict_batch(uint8 NCHW, topk) -> [[(label, prob), ...], ...]`` (each row a
:class:`~resnet_gui.core.trust.assess.Ranked` with its out-of-class score), plus ``decode`` and
``stack`` so that :func:`~resnet_gui.core.infer.classify_files` streams files through them
without torch. Temperature and out-of-class score come from the model's ``trust`` metadata
and its ``features`` output (core/trust), computed as the torch Classifier does."""

from __future__ import annotations

import os

import numpy as np

from ..trust.assess import Ranked, usable_trust, with_scores
from .onnx_model import OnnxModel, read_onnx
from .preprocess import decode_array, normalise, top_k

ENGINES = ("onnxruntime", "openvino")


class EngineError(RuntimeError):
    """An engine that cannot run here (not installed, refused the model); one line."""


class _EngineClassifier:
    engine = ""

    def __init__(self, model: OnnxModel):
        self.model = model
        self.info = model.info
        self.device = "cpu"
        self.precision = model.precision
        self.trust, self.trust_notes = None, []

    def _use_trust(self, width: int | None) -> None:
        """Once the graph's outputs are known: ``width`` of its ``features`` output (None: none)."""
        self.trust, self.trust_notes = usable_trust(self.info.trust, width)

    def describe(self) -> str:
        """Which engine ran, for the user: never a silent fallback."""
        return f"{self.engine} {self.precision} on cpu"

    def decode(self, path: str | os.PathLike) -> np.ndarray:
        return decode_array(path, self.info.resize_size, self.info.image_size)

    @staticmethod
    def stack(arrays: list) -> np.ndarray:
        return np.stack([np.asarray(a, dtype=np.uint8) for a in arrays])

    def outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(logits, features or None)``."""
        raise NotImplementedError

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.outputs(x)[0]

    def predict_batch(self, batch_uint8, topk: int) -> list[Ranked]:
        """Top-k for a uint8 NCHW batch (numpy, or a CPU torch tensor), already resized and cropped."""
        x = normalise(np.asarray(batch_uint8), self.info.mean, self.info.std)
        try:
            logits, features = self.outputs(x)
        except Exception as exc:  # noqa: BLE001 - onnxruntime and OpenVINO raise their own classes
            raise EngineError(f"{self.engine} failed on this batch ({' '.join(str(exc).split())[:200]})") from None
        if not np.isfinite(logits).all():
            raise EngineError("the model gave NaN or infinite scores for this batch")
        scaled = logits / self.trust.temperature if self.trust is not None else logits
        return with_scores(top_k(scaled, self.info.class_names, topk), self.trust, logits, features, batch_uint8)


class OnnxRuntimeClassifier(_EngineClassifier):
    engine = "onnxruntime"

    def __init__(self, model: OnnxModel):
        super().__init__(model)
        from .onnx_model import ort_session

        self.session = model.session or ort_session(model.data, model.path.name)
        self.input_name = self.session.get_inputs()[0].name
        outs = self.session.get_outputs()
        self.output_names = [outs[0].name] + ([outs[1].name] if _is_features(outs[1:]) else [])
        self._use_trust(outs[1].shape[1] if len(self.output_names) == 2 else None)

    def outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        got = self.session.run(self.output_names, {self.input_name: x})
        return got[0], got[1] if len(got) > 1 else None


class OpenVinoClassifier(_EngineClassifier):
    engine = "openvino"

    def __init__(self, model: OnnxModel):
        super().__init__(model)
        try:
            import openvino as ov
        except ImportError:
            raise EngineError("the openvino engine is not installed (pip install openvino)") from None
        core = ov.Core()
        try:
            network = core.read_model(model.data)
            # LATENCY: one batch at a time on all cores, as classify_files feeds it. f32: on CPUs
            # with bf16 (AVX512-BF16, AMX) OpenVINO would otherwise compute in bf16 (probabilities
            # off by ~1e-3), and this engine says fp32
            self.compiled = core.compile_model(network, "CPU", {"PERFORMANCE_HINT": "LATENCY",
                                                                "INFERENCE_PRECISION_HINT": "f32"})
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises plain RuntimeErrors
            text = " ".join(str(exc).split())[:200]
            raise EngineError(f"{model.path.name}: OpenVINO cannot compile it ({text})") from None
        self.request = self.compiled.create_infer_request()
        outs = self.compiled.outputs
        self.with_features = len(outs) > 1 and "features" in outs[1].get_names() and outs[1].get_partial_shape()[1].is_static
        self._use_trust(outs[1].get_partial_shape()[1].get_length() if self.with_features else None)

    def outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        got = self.request.infer({0: x})
        return np.asarray(got[0]), np.asarray(got[1]) if self.with_features else None


def _is_features(rest: list) -> bool:
    """onnxruntime: a second output named ``features``, batch x a fixed width."""
    return bool(rest) and rest[0].name == "features" and len(rest[0].shape) == 2 and isinstance(rest[0].shape[1], int)


def open_engine(onnx: str | os.PathLike | OnnxModel, engine: str = "onnxruntime") -> _EngineClassifier:
    """An engine classifier for an ``.onnx`` file (checked by :func:`read_onnx`)."""
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not isinstance(onnx, OnnxModel):
        onnx = read_onnx(onnx, optimize=engine == "onnxruntime")
    return OnnxRuntimeClassifier(onnx) if engine == "onnxruntime" else OpenVinoClassifier(onnx)

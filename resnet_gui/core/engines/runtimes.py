"""Engine classifiers with the torch :class:`~resnet_gui.core.infer.Classifier`'s shape:
``predict_batch(uint8 NCHW, topk) -> [[(label, prob), ...], ...]``, plus ``decode`` and
``stack`` so that :func:`~resnet_gui.core.infer.classify_files` streams files through them
without torch."""

from __future__ import annotations

import os

import numpy as np

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

    def describe(self) -> str:
        """Which engine ran, for the user: never a silent fallback."""
        return f"{self.engine} {self.precision} on cpu"

    def decode(self, path: str | os.PathLike) -> np.ndarray:
        return decode_array(path, self.info.resize_size, self.info.image_size)

    @staticmethod
    def stack(arrays: list) -> np.ndarray:
        return np.stack([np.asarray(a, dtype=np.uint8) for a in arrays])

    def logits(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_batch(self, batch_uint8, topk: int) -> list[list[tuple[str, float]]]:
        """Top-k for a uint8 NCHW batch (numpy, or a CPU torch tensor), already resized and cropped."""
        x = normalise(np.asarray(batch_uint8), self.info.mean, self.info.std)
        return top_k(self.logits(x), self.info.class_names, topk)


class OnnxRuntimeClassifier(_EngineClassifier):
    engine = "onnxruntime"

    def __init__(self, model: OnnxModel):
        super().__init__(model)
        from .onnx_model import ort_session

        self.session = model.session or ort_session(model.data, model.path.name)
        self.input_name = self.session.get_inputs()[0].name

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]


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

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.request.infer({0: x})[0])


def open_engine(onnx: str | os.PathLike | OnnxModel, engine: str = "onnxruntime") -> _EngineClassifier:
    """An engine classifier for an ``.onnx`` file (checked by :func:`read_onnx`)."""
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not isinstance(onnx, OnnxModel):
        onnx = read_onnx(onnx, optimize=engine == "onnxruntime")
    return OnnxRuntimeClassifier(onnx) if engine == "onnxruntime" else OpenVinoClassifier(onnx)

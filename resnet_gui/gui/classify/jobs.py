"""The Classify page's background work: plain generator jobs for the page's TaskRunner.

No Qt here. Each job yields plain dataclasses (floats, strings and core Predictions, never
tensors) and returns a summary. The model is opened by the core's engine choice
(``core.engines.choose``): torch is imported only when torch runs it, so an ONNX model (or
a cached conversion) gives the first result without torch. A :class:`ModelSession` is
touched only by the jobs of one runner, which runs them one at a time, so it needs no lock.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from ...core.stop import StopFlag
from ...core.text import counted

if TYPE_CHECKING:  # the real imports are inside the jobs: they pull in torch
    from ...core.infer import Engine
    from ...core.infer import Prediction
    from ...core.model.checkpoint import ModelInfo

KEEP_TOPK = 20  # guesses kept per image; the views show the first k
EMIT_INTERVAL = 0.2  # seconds between reports: 100k images never flood the event loop
BATCH_SIZE = 8  # small batches: a cancel waits for at most one batch (~0.2 s on a 2-core CPU)


@dataclass
class ModelSession:
    """The loaded model and its prepared classifier; kept when a new load fails."""

    loaded: Any = None  # core LoadedModel, when torch runs the model (a device move reuses it)
    classifier: Engine | None = None  # torch's core Classifier, or ONNX Runtime's or OpenVINO's
    devices_reported: bool = False


# ---------------------------------------------------------------- what the jobs yield


@dataclass
class Devices:
    devices: list[str]  # ["cpu", "cuda", ...]: reported once, by the first load


@dataclass
class Loading:
    path: str


@dataclass
class DownloadProgress:
    done: int  # bytes
    total: int  # 0: unknown


@dataclass
class Notice:
    text: str  # non-fatal news for the status bar (e.g. fell back to the CPU)


@dataclass
class Started:
    total: int  # image files found


@dataclass
class Results:
    predictions: list[Prediction]  # classified, with their index in the input order
    skipped: list[Prediction]  # unreadable files: ``.error`` says why
    done: int
    total: int
    rate: float  # images per second


# ---------------------------------------------------------------- what they return


@dataclass
class ModelReady:
    info: ModelInfo
    device: str  # where it actually runs: "cpu", "cuda", "mps"
    engine: str = "torch"  # torch | onnxruntime | openvino
    description: str = ""  # what runs, in words: "onnxruntime int8 on cpu (default.int8.onnx)"
    notes: list[str] = field(default_factory=list)  # non-fatal remarks about the model or the engine


@dataclass
class ModelFailed:
    message: str  # one line; the previous model (if any) is still loaded


@dataclass
class RunSummary:
    total: int
    classified: int
    skipped: int
    cancelled: bool
    seconds: float
    device: str = ""
    failed: bool = False

    def describe(self, error: str = "") -> str:
        """One line for the status bar; ``error``: why a failed run stopped."""
        skipped = f", skipped {self.skipped} (see the Skipped tab)" if self.skipped else ""
        if self.failed:
            return f"Stopped after {counted(self.classified, 'image')}: {error}"
        if self.cancelled:
            return f"Cancelled: {self.classified + self.skipped} of {self.total} done{skipped}"
        if self.total == 0:
            return "No image files found"
        rate = self.classified / self.seconds if self.seconds > 0 else 0.0
        return (f"Classified {counted(self.classified, 'image')}{skipped} in {self.seconds:.1f} s "
                f"({rate:.1f} images/s on {self.device.upper()})")


# ---------------------------------------------------------------- model


def open_model(session: ModelSession, path: str, device: str = "auto", engine: str = "auto", *,
               should_stop: StopFlag):
    """Open weights (.pt/.pth/.safetensors/.onnx) in ``session`` on ``engine``
    (``constants.ENGINE_CHOICES``); a failure keeps the model before."""
    if should_stop():
        return None
    yield Loading(str(path))
    from ...core.engines.runtimes import EngineError
    from ...core.model.checkpoint import WeightsError
    from ...core.model.devices import DeviceError

    try:
        yield from _report_devices(session)
        opened = yield from _open(session, str(path), device, engine)
    except (WeightsError, DeviceError, EngineError) as exc:
        return ModelFailed(str(exc))
    except Exception as exc:  # noqa: BLE001 - reported to the user, never lost
        return ModelFailed(f"{type(exc).__name__}: {exc}")
    session.loaded, session.classifier = opened.loaded, opened.classifier
    return ModelReady(opened.info, device_name(opened.classifier), opened.engine, opened.description,
                      list(opened.notes))


def device_name(classifier) -> str:
    """"cpu", "cuda", "mps": a torch Classifier has a torch.device, an engine's a plain "cpu"."""
    return getattr(classifier.device, "type", str(classifier.device))


def _report_devices(session: ModelSession):
    """The devices torch sees, once; asked only where a GPU is likely or torch is already in,
    so that an ONNX engine on a plain CPU never imports torch for it."""
    from ...core.engines.choose import gpu_likely

    if session.devices_reported or not (gpu_likely() or "torch" in sys.modules):
        return
    from ...core.model.devices import available_devices

    yield Devices(available_devices())
    session.devices_reported = True


def _open(session: ModelSession, path: str, device: str, engine: str):
    """The core's Opened for ``path``; a GPU that is missing or full, or an ONNX engine asked
    for with a GPU device, runs on the CPU and says so (never silently)."""
    from ...core.engines.choose import is_onnx, open_classifier, open_torch, plan_engine
    from ...core.model.devices import DeviceError, is_out_of_memory

    gpu = device.split(":")[0] in ("cuda", "mps")
    if gpu and (is_onnx(path) or engine in ("onnxruntime", "openvino")):
        plan_engine(path, engine, "cpu")  # a choice that cannot run at all fails before the notice
        yield Notice(f"{'ONNX files' if is_onnx(path) else 'The ' + engine + ' engine'} run on the CPU: "
                     f"{device.upper()} is not used.")
        device = "cpu"
    if plan_engine(path, engine, device) != "torch":
        return open_classifier(path, engine, device)
    from ...core.model.loading import load_model as read_weights

    same = session.loaded is not None and session.loaded.info.source == path
    loaded = session.loaded if same else read_weights(path)  # same file, other device: just move it
    try:
        return open_torch(loaded, device)
    except DeviceError as exc:
        yield Notice(f"{exc}: running on the CPU.")
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        _free_gpu_memory()
        yield Notice(f"Out of GPU memory on {device.upper()}: running on the CPU instead.")
    return open_torch(loaded, "cpu")


def _free_gpu_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def download_and_load(session: ModelSession, arch: str, device: str = "auto", engine: str = "auto", *,
                      should_stop: StopFlag):
    """Download ``arch``'s ImageNet weights (reporting progress, ~5 times a second), then load them."""
    from ...core.model import download

    try:
        steps = download.iter_download(arch)
        last = 0.0
        while True:
            try:
                done, total = next(steps)
            except StopIteration as end:
                path = end.value
                break
            if should_stop():
                steps.close()  # the core removes its partial file
                return ModelFailed("Download cancelled.")
            now = time.perf_counter()
            if now - last >= EMIT_INTERVAL or done == total:
                last = now
                yield DownloadProgress(done, total)
    except download.DownloadError as exc:
        return ModelFailed(str(exc))
    except Exception as exc:  # noqa: BLE001
        return ModelFailed(f"Download failed: {type(exc).__name__}: {exc}")
    return (yield from open_model(session, str(path), device, engine, should_stop=should_stop))


# ---------------------------------------------------------------- classification


def classify(session: ModelSession, paths: list[str], topk: int = KEEP_TOPK, batch_size: int = BATCH_SIZE,
             *, should_stop: StopFlag):
    """Classify files and folders (recursively) with the session's model; results in input order."""
    from ...core.data.images import iter_image_files
    from ...core.infer import Throughput

    start = time.perf_counter()
    if session.classifier is None:
        raise RuntimeError("no model is loaded: open a weights file first")
    files = []
    for path in iter_image_files(paths):
        if should_stop():
            return RunSummary(0, 0, 0, True, time.perf_counter() - start, device_name(session.classifier))
        files.append(path)
    yield Started(len(files))
    counts = [0, 0]  # classified, skipped
    meter = Throughput()
    for report in _classify_files(session, files, topk, batch_size, should_stop):
        if isinstance(report, Results):
            counts[0] += len(report.predictions)
            counts[1] += len(report.skipped)
            report.rate = meter.update(report.done) if report.done else 0.0
        yield report
    return RunSummary(total=len(files), classified=counts[0], skipped=counts[1], cancelled=should_stop(),
                      seconds=time.perf_counter() - start, device=device_name(session.classifier))


def _classify_files(session: ModelSession, files: list, topk: int, batch_size: int,
                    should_stop: StopFlag) -> Iterator[Results | Notice]:
    """Batches of Results, ~10 a second, the last one always; a GPU out of memory goes on on the CPU."""
    from ...core import infer
    from ...core.model.devices import is_out_of_memory

    total = len(files)
    good: list[Prediction] = []
    bad: list[Prediction] = []
    done = 0
    last_emit = time.perf_counter()
    while done < total and not should_stop():
        offset = done
        try:
            for pred in infer.classify_files(session.classifier, files[offset:], topk=topk,
                                             batch_size=batch_size, should_stop=should_stop):
                pred.index += offset
                (good if pred.error is None else bad).append(pred)
                done += 1
                now = time.perf_counter()
                if now - last_emit >= EMIT_INTERVAL:
                    last_emit = now
                    yield Results(good, bad, done, total, 0.0)
                    good, bad = [], []
            break
        except Exception as exc:
            if not is_out_of_memory(exc) or device_name(session.classifier) == "cpu" or session.loaded is None:
                raise
            lost = device_name(session.classifier).upper()
            session.classifier = None
            _free_gpu_memory()
            session.classifier = infer.Classifier(session.loaded, "cpu")
            yield Notice(f"Out of memory on the {lost}: continuing on the CPU.")
    yield Results(good, bad, done, total, 0.0)

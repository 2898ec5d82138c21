"""The Classify page's background work: plain generator jobs for the page's TaskRunner.

No Qt here. Each job yields plain dataclasses (floats, strings and core Predictions, never
tensors) and returns a summary; torch is first imported inside them, so the window shows
before it loads. A :class:`ModelSession` is touched only by the jobs of one runner, which
runs them one at a time, so it needs no lock.
"""

from __future__ import annotations

import queue
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:  # the real imports are inside the jobs: they pull in torch
    from ...core.infer import Prediction
    from ...core.model.checkpoint import ModelInfo

KEEP_TOPK = 20  # guesses kept per image; the views show the first k
EMIT_INTERVAL = 0.2  # seconds between reports: 100k images never flood the event loop
BATCH_SIZE = 8  # small batches: a cancel waits for at most one batch (~0.2 s on a 2-core CPU)

StopFlag = Callable[[], bool]


@dataclass
class ModelSession:
    """The loaded model and its prepared classifier; kept when a new load fails."""

    loaded: Any = None  # core LoadedModel
    classifier: Any = None  # core Classifier
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
            return f"Stopped after {self.classified} images: {error}"
        if self.cancelled:
            return f"Cancelled: {self.classified + self.skipped} of {self.total} done{skipped}"
        if self.total == 0:
            return "No image files found"
        rate = self.classified / self.seconds if self.seconds > 0 else 0.0
        return (f"Classified {self.classified} images{skipped} in {self.seconds:.1f} s "
                f"({rate:.1f} images/s on {self.device.upper()})")


# ---------------------------------------------------------------- model


def load_model(session: ModelSession, path: str, device: str = "auto", *, should_stop: StopFlag):
    """Load weights into ``session`` (or move the loaded ones to ``device``)."""
    if should_stop():
        return None
    yield Loading(str(path))
    from ...core.model.checkpoint import WeightsError
    from ...core.model.devices import DeviceError, available_devices
    from ...core.model.loading import load_model as read_weights

    try:
        if not session.devices_reported:
            yield Devices(available_devices())
            session.devices_reported = True
        if session.loaded is not None and session.loaded.info.source == str(path):
            loaded = session.loaded  # same file, other device: just move it
        else:
            loaded = read_weights(path)
        classifier = yield from _prepare(loaded, device)
    except (WeightsError, DeviceError) as exc:
        return ModelFailed(str(exc))
    except Exception as exc:  # noqa: BLE001 - reported to the user, never lost
        return ModelFailed(f"{type(exc).__name__}: {exc}")
    session.loaded, session.classifier = loaded, classifier
    return ModelReady(loaded.info, classifier.device.type)


def _prepare(loaded, device: str):
    from ...core import infer
    from ...core.model.devices import DeviceError, is_out_of_memory

    try:
        return infer.Classifier(loaded, device)
    except DeviceError as exc:
        yield Notice(f"{exc}: running on the CPU.")
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        _free_gpu_memory()
        yield Notice(f"Out of GPU memory on {device.upper()}: running on the CPU instead.")
    return infer.Classifier(loaded, "cpu")


def _free_gpu_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def download_and_load(session: ModelSession, arch: str, device: str = "auto", *, should_stop: StopFlag):
    """Download ``arch``'s ImageNet weights (reporting progress), then load them."""
    from ...core.model import download

    try:
        path = yield from _with_progress(
            lambda progress: download.download_imagenet_weights(arch, progress, should_stop=should_stop))
    except download.DownloadCancelled:
        return ModelFailed("Download cancelled.")
    except download.DownloadError as exc:
        return ModelFailed(str(exc))
    except Exception as exc:  # noqa: BLE001
        return ModelFailed(f"Download failed: {type(exc).__name__}: {exc}")
    return (yield from load_model(session, str(path), device, should_stop=should_stop))


def _with_progress(fn: Callable[[Callable[[int, int], None]], Any]):
    """Run ``fn(progress)``, whose progress comes by callback, yielding it as DownloadProgress
    (at most ~10 a second, and the last one); return what ``fn`` returns."""
    reports: queue.SimpleQueue = queue.SimpleQueue()
    # the core's download blocks and reports through a callback, so it runs beside this
    # generator; cancel still goes through its should_stop
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="download") as pool:
        future = pool.submit(fn, lambda done, total: reports.put((done, total)))
        last = 0.0
        while True:
            finished = future.done()
            latest = None
            while not reports.empty():
                latest = reports.get()
            now = time.perf_counter()
            if latest is not None and (now - last >= EMIT_INTERVAL or latest[0] == latest[1] or finished):
                last = now
                yield DownloadProgress(*latest)
            if finished:
                return future.result()
            time.sleep(0.02)


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
            return RunSummary(0, 0, 0, True, time.perf_counter() - start, session.classifier.device.type)
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
                      seconds=time.perf_counter() - start, device=session.classifier.device.type)


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
            if not is_out_of_memory(exc) or session.classifier.device.type == "cpu":
                raise
            lost = session.classifier.device.type.upper()
            session.classifier = None
            _free_gpu_memory()
            session.classifier = infer.Classifier(session.loaded, "cpu")
            yield Notice(f"Out of memory on the {lost}: continuing on the CPU.")
    yield Results(good, bad, done, total, 0.0)

"""The background side of the window: a worker object living in its own QThread.

The worker owns the model (torch is first imported there, so the window shows before
it loads) and turns the core's generators into signals carrying plain dataclasses.
:class:`ClassifierService` lives in the GUI thread: it starts the thread, numbers the
requests, cancels the one running when a new one comes, and re-emits only the signals
of the current request, so a replaced run can never write into the window.

No widget is touched here; cancelling uses a ``threading.Event`` per request, checked
between images by the core; the thread is stopped with ``quit()`` + ``wait()``, never
``terminate()``.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, Signal, Slot

KEEP_TOPK = 20  # the worker keeps this many guesses per image; views show the first k
EMIT_INTERVAL = 0.1  # seconds between result batches: 100k images never flood the event loop
BATCH_SIZE = 16  # small batches: cancel and progress stay responsive on a CPU


# ---------------------------------------------------------------- plain data crossing threads


@dataclass
class ModelSummary:
    """What the window shows about the loaded model (no tensors)."""

    arch: str
    class_names: list[str]
    source: str
    device: str  # where it actually runs: "cpu", "cuda", "mps"
    names_from: str = "generic"
    image_size: int = 224
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass
class ResultItem:
    """One classified image: ``topk`` is [(label, probability), ...], best first."""

    index: int
    path: str
    topk: list[tuple[str, float]]

    @property
    def label(self) -> str:
        return self.topk[0][0] if self.topk else ""

    @property
    def confidence(self) -> float:
        return self.topk[0][1] if self.topk else 0.0


@dataclass
class SkippedItem:
    path: str
    reason: str


@dataclass
class RunSummary:
    total: int  # image files found
    classified: int
    skipped: int
    cancelled: bool
    seconds: float
    device: str = ""
    failed: bool = False


@dataclass(kw_only=True)
class Request:
    job: int
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(kw_only=True)
class LoadRequest(Request):
    path: str
    device: str = "auto"


@dataclass(kw_only=True)
class ClassifyRequest(Request):
    paths: list[str]
    topk: int = KEEP_TOPK
    batch_size: int = BATCH_SIZE


@dataclass(kw_only=True)
class DownloadRequest(Request):
    arch: str
    device: str = "auto"


# ---------------------------------------------------------------- the worker (runs in its thread)


class InferenceWorker(QObject):
    """Slots run in the worker thread, one request at a time, in the order sent."""

    devices_found = Signal(list)  # ["cpu", "cuda", ...]
    model_loading = Signal(int, str)  # job, path
    model_loaded = Signal(int, object)  # job, ModelSummary
    model_failed = Signal(int, str)  # job, one-line reason
    started = Signal(int, int)  # job, number of image files
    results = Signal(int, list)  # job, [ResultItem]
    skipped = Signal(int, list)  # job, [SkippedItem]
    progress = Signal(int, int, int, float)  # job, done, total, images/s
    errored = Signal(int, str, str)  # job, message, traceback
    finished = Signal(int, object)  # job, RunSummary
    notice = Signal(str)  # non-fatal news for the status bar (e.g. fell back to CPU)
    download_progress = Signal(int, int, int)  # job, bytes done, bytes total (0: unknown)

    def __init__(self) -> None:
        super().__init__()
        self._loaded = None  # core LoadedModel
        self._classifier = None  # core Classifier
        self._devices_sent = False

    # ------------------------------------------------------------ model

    @Slot(object)
    def load(self, req: LoadRequest) -> None:
        if req.cancel.is_set():
            return
        self.model_loading.emit(req.job, req.path)
        try:
            from ..core.checkpoint import WeightsError, load_model
            from ..core.devices import DeviceError, available_devices

            if not self._devices_sent:
                self.devices_found.emit(available_devices())
                self._devices_sent = True
            if self._loaded is not None and self._loaded.info.source == str(req.path):
                loaded = self._loaded  # same file, other device: just move it
            else:
                loaded = load_model(req.path)
            classifier = self._prepare(loaded, req.device)
        except (WeightsError, DeviceError) as exc:
            self.model_failed.emit(req.job, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - reported to the user, never lost
            self.model_failed.emit(req.job, f"{type(exc).__name__}: {exc}")
            return
        self._loaded, self._classifier = loaded, classifier
        info = loaded.info
        self.model_loaded.emit(req.job, ModelSummary(
            arch=info.arch, class_names=list(info.class_names), source=info.source,
            device=classifier.device.type, names_from=info.class_names_from,
            image_size=info.image_size, notes=list(info.notes)))

    def _prepare(self, loaded, device: str):
        from ..core.devices import DeviceError, is_out_of_memory
        from ..core.inference import Classifier

        try:
            return Classifier(loaded, device)
        except DeviceError as exc:
            self.notice.emit(f"{exc}: running on the CPU.")
            return Classifier(loaded, "cpu")
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            self._free_gpu_memory()
            self.notice.emit(f"Out of GPU memory on {device.upper()}: running on the CPU instead.")
            return Classifier(loaded, "cpu")

    @staticmethod
    def _free_gpu_memory() -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # ------------------------------------------------------------ download

    @Slot(object)
    def download(self, req: DownloadRequest) -> None:
        if req.cancel.is_set():
            return
        from ..core.download import DownloadCancelled, DownloadError, download_imagenet_weights

        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= EMIT_INTERVAL or done == total:
                last[0] = now
                self.download_progress.emit(req.job, done, total)

        try:
            path = download_imagenet_weights(req.arch, progress, should_stop=req.cancel.is_set)
        except DownloadCancelled:
            self.model_failed.emit(req.job, "Download cancelled.")
            return
        except DownloadError as exc:
            self.model_failed.emit(req.job, str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            self.model_failed.emit(req.job, f"Download failed: {type(exc).__name__}: {exc}")
            return
        self.load(LoadRequest(job=req.job, path=str(path), device=req.device, cancel=req.cancel))

    # ------------------------------------------------------------ classification

    @Slot(object)
    def classify(self, req: ClassifyRequest) -> None:
        start = time.perf_counter()
        counts = {"total": 0, "classified": 0, "skipped": 0}
        failed = False
        try:
            if not req.cancel.is_set():
                self._classify(req, counts)
        except Exception as exc:  # noqa: BLE001 - becomes a dialog in the window
            failed = True
            self.errored.emit(req.job, f"Classification stopped: {type(exc).__name__}: {exc}", traceback.format_exc())
        device = self._classifier.device.type if self._classifier is not None else ""
        self.finished.emit(req.job, RunSummary(
            total=counts["total"], classified=counts["classified"], skipped=counts["skipped"],
            cancelled=req.cancel.is_set(), seconds=time.perf_counter() - start, device=device, failed=failed))

    def _classify(self, req: ClassifyRequest, counts: dict) -> None:
        from ..core.devices import is_out_of_memory
        from ..core.images import iter_image_files
        from ..core.inference import Classifier, Throughput, classify_files

        if self._classifier is None:
            raise RuntimeError("no model is loaded: open a weights file first")
        files = []
        for path in iter_image_files(req.paths):
            if req.cancel.is_set():
                return
            files.append(path)
        total = counts["total"] = len(files)
        self.started.emit(req.job, total)
        good: list[ResultItem] = []
        bad: list[SkippedItem] = []
        meter = Throughput()
        rate = 0.0
        last_emit = time.perf_counter()

        def flush(done: int) -> None:
            nonlocal good, bad
            if good:
                self.results.emit(req.job, good)
                good = []
            if bad:
                self.skipped.emit(req.job, bad)
                bad = []
            self.progress.emit(req.job, done, total, rate)

        done = 0
        while done < total and not req.cancel.is_set():
            offset = done
            try:
                for pred in classify_files(self._classifier, files[offset:], topk=req.topk,
                                           batch_size=req.batch_size, should_stop=req.cancel.is_set):
                    if pred.error is None:
                        good.append(ResultItem(offset + pred.index, pred.path, list(pred.topk)))
                        counts["classified"] += 1
                    else:
                        bad.append(SkippedItem(pred.path, pred.error))
                        counts["skipped"] += 1
                    done += 1
                    now = time.perf_counter()
                    if now - last_emit >= EMIT_INTERVAL:
                        rate = meter.update(done)
                        last_emit = now
                        flush(done)
                break
            except Exception as exc:
                if not is_out_of_memory(exc) or self._classifier.device.type == "cpu":
                    raise
                lost = self._classifier.device.type.upper()
                self._classifier = None
                self._free_gpu_memory()
                self._classifier = Classifier(self._loaded, "cpu")
                self.notice.emit(f"Out of memory on the {lost}: continuing on the CPU.")
        rate = meter.update(done) if done else 0.0
        flush(done)


# ---------------------------------------------------------------- the GUI-side owner


class ClassifierService(QObject):
    """Owns the worker thread; lives in the GUI thread. Only the current request's
    signals come out, so a replaced or cancelled run cannot touch the views."""

    devices_found = Signal(list)
    model_loading = Signal(str)
    model_loaded = Signal(object)
    model_failed = Signal(str)
    started = Signal(int)
    results = Signal(list)
    skipped = Signal(list)
    progress = Signal(int, int, float)
    errored = Signal(str, str)
    finished = Signal(object)
    notice = Signal(str)
    download_progress = Signal(int, int)

    _send_load = Signal(object)
    _send_classify = Signal(object)
    _send_download = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = 0
        self._model_req: Request | None = None  # current load or download
        self._run_req: ClassifyRequest | None = None  # current classification
        self._thread = QThread()
        self._thread.setObjectName("resnet-gui inference")
        self.worker = InferenceWorker()
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self._send_load.connect(self.worker.load)
        self._send_classify.connect(self.worker.classify)
        self._send_download.connect(self.worker.download)
        w = self.worker
        w.devices_found.connect(self.devices_found)
        w.notice.connect(self.notice)
        w.model_loading.connect(lambda job, path: self._if_model(job) and self.model_loading.emit(path))
        w.model_loaded.connect(lambda job, s: self._if_model(job, done=True) and self.model_loaded.emit(s))
        w.model_failed.connect(lambda job, m: self._if_model(job, done=True) and self.model_failed.emit(m))
        w.download_progress.connect(lambda job, d, t: self._if_model(job) and self.download_progress.emit(d, t))
        w.started.connect(lambda job, n: self._if_run(job) and self.started.emit(n))
        w.results.connect(lambda job, items: self._if_run(job) and self.results.emit(items))
        w.skipped.connect(lambda job, items: self._if_run(job) and self.skipped.emit(items))
        w.progress.connect(lambda job, d, t, r: self._if_run(job) and self.progress.emit(d, t, r))
        w.errored.connect(lambda job, m, tb: self._if_run(job) and self.errored.emit(m, tb))
        w.finished.connect(self._on_finished)
        self._thread.start()

    # ------------------------------------------------------------ state

    @property
    def running(self) -> bool:
        """A classification is in progress (sent and not yet finished)."""
        return self._run_req is not None

    @property
    def model_busy(self) -> bool:
        return self._model_req is not None

    def _if_model(self, job: int, done: bool = False) -> bool:
        current = self._model_req is not None and self._model_req.job == job
        if current and done:
            self._model_req = None
        return current

    def _if_run(self, job: int) -> bool:
        return self._run_req is not None and self._run_req.job == job

    def _on_finished(self, job: int, summary: RunSummary) -> None:
        if self._if_run(job):
            self._run_req = None
            self.finished.emit(summary)

    def _next(self) -> int:
        self._jobs += 1
        return self._jobs

    # ------------------------------------------------------------ requests

    def load(self, path: str, device: str = "auto") -> None:
        """Load weights (or move the loaded ones to ``device``); replaces a pending load."""
        self.cancel()
        if self._model_req is not None:
            self._model_req.cancel.set()
        self._model_req = LoadRequest(job=self._next(), path=str(path), device=device)
        self._send_load.emit(self._model_req)

    def download(self, arch: str, device: str = "auto") -> None:
        self.cancel()
        if self._model_req is not None:
            self._model_req.cancel.set()
        self._model_req = DownloadRequest(job=self._next(), arch=arch, device=device)
        self._send_download.emit(self._model_req)

    def classify(self, paths: list[str]) -> None:
        """Classify files and folders; a run in progress is cancelled and replaced."""
        self.cancel()
        self._run_req = ClassifyRequest(job=self._next(), paths=[str(p) for p in paths])
        self._send_classify.emit(self._run_req)

    def cancel(self) -> None:
        """Stop the current classification; its ``finished`` is still reported."""
        if self._run_req is not None and not self._run_req.cancel.is_set():
            self._run_req.cancel.set()
            self.notice.emit("Cancelling…")

    def cancel_download(self) -> None:
        if isinstance(self._model_req, DownloadRequest):
            self._model_req.cancel.set()

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel everything and wait for the thread to end. Safe to call twice."""
        for req in (self._run_req, self._model_req):
            if req is not None:
                req.cancel.set()
        self._run_req = self._model_req = None
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        return self._thread.wait(timeout_ms)

    @property
    def thread(self) -> QThread:
        return self._thread

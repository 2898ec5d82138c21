"""The background side of the Fine-tune panel.

:class:`TrainWorker` lives in its own QThread and turns the core's ``fine_tune`` generator
into signals carrying the core's plain event dataclasses (floats and strings, no tensors).
:class:`TrainService` lives in the GUI thread: it owns that thread, numbers the jobs and
re-emits only the current job's signals. :class:`FolderScanner` lists a chosen folder off
the GUI thread (a huge folder takes a while even without decoding).

Same rules as ``workers.py``: no widget is touched here; cancelling sets a
``threading.Event`` that the core checks between batches (the best checkpoint so far is
kept); the thread is stopped with ``quit()`` + ``wait()``, never ``terminate()``. torch and
``core.training`` are imported only inside the worker's slot.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, QThreadPool, Signal, Slot

EMIT_INTERVAL = 0.1  # seconds between BatchProgress signals (~10/s at most)


# ---------------------------------------------------------------- plain data crossing threads


@dataclass(kw_only=True)
class TrainRequest:
    job: int
    config: object  # core.training.TrainConfig (a torch-free dataclass)
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class FolderScan:
    """What the panel shows about a chosen folder before training (no image decoded)."""

    path: str
    classes: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # images per class (train + val folders)
    split_from: str = "folder"  # "folder": split at random; "train/val folders"
    error: str = ""  # why the folder cannot be trained on ("" when it can)

    @property
    def imbalance(self) -> float:
        """Largest / smallest class (1.0 when balanced or unknown)."""
        if not self.counts or min(self.counts) <= 0:
            return 1.0
        return max(self.counts) / min(self.counts)


def scan_folder(path: str) -> FolderScan:
    """List the classes and image counts of ``path``; refusals become ``error``."""
    from ..core.datasets import DatasetError, scan_labeled_folder

    try:
        data = scan_labeled_folder(path)
    except DatasetError as exc:
        return FolderScan(path, error=str(exc))
    except OSError as exc:
        return FolderScan(path, error=f"{path}: {exc.strerror or exc}")
    counts = data.counts(data.train)
    if data.val is not None:
        counts = [a + b for a, b in zip(counts, data.counts(data.val))]
    return FolderScan(path, list(data.classes), counts, data.split_from)


_IMPORT_LOCK = threading.Lock()


def import_torchvision() -> None:
    """The first import of torchvision, done by one thread at a time. Two threads importing it at
    once (the ImageNet probe, the worker, the core's decoding threads) can see
    ``torchvision.transforms`` half-initialised: "cannot import name 'InterpolationMode'"."""
    with _IMPORT_LOCK:
        import torchvision.models  # noqa: F401
        import torchvision.transforms.functional  # noqa: F401


def cached_imagenet_archs() -> dict[str, bool]:
    """{arch: ImageNet weights already in torch's cache} (imports torchvision: run off the GUI thread)."""
    import_torchvision()
    from ..core.architectures import ARCH_NAMES
    from ..core.download import cached_imagenet_path

    found = {}
    for arch in ARCH_NAMES:
        try:
            found[arch] = cached_imagenet_path(arch).is_file()
        except Exception:  # noqa: BLE001 - no weights table: treat as not cached
            found[arch] = False
    return found


# ---------------------------------------------------------------- the worker (runs in its thread)


class TrainWorker(QObject):
    """``run(request)`` drives one fine-tune; every signal carries the job number first."""

    data_ready = Signal(int, object)  # job, DataReady
    stage = Signal(int, object)  # job, Stage
    progress = Signal(int, object)  # job, BatchProgress (throttled to ~10/s; the last batch always)
    epoch_end = Signal(int, object)  # job, EpochEnd
    errored = Signal(int, str, str)  # job, message, traceback
    finished = Signal(int, object)  # job, Done (None after an error)

    @Slot(object)
    def run(self, req: TrainRequest) -> None:
        done = None
        try:
            if req.cancel.is_set():  # cancelled while queued: nothing ran
                from ..core.training import Done

                done = Done("cancelled", "cancelled before it started; nothing was saved", None, 0, 0.0)
            else:
                done = self._run(req)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never lost in the thread
            from ..core.training import TrainingError

            message = str(exc) if isinstance(exc, TrainingError) else f"Training stopped: {type(exc).__name__}: {exc}"
            self.errored.emit(req.job, message, traceback.format_exc())
        self.finished.emit(req.job, done)

    def _run(self, req: TrainRequest):
        import_torchvision()
        from ..core.training import BatchProgress, DataReady, Done, EpochEnd, Stage, fine_tune

        last_emit = 0.0
        done = None
        for event in fine_tune(req.config, req.cancel.is_set):
            if isinstance(event, BatchProgress):
                now = time.perf_counter()
                if now - last_emit < EMIT_INTERVAL and event.batch < event.batches:
                    continue
                last_emit = now
                self.progress.emit(req.job, event)
            elif isinstance(event, EpochEnd):
                self.epoch_end.emit(req.job, event)
            elif isinstance(event, DataReady):
                self.data_ready.emit(req.job, event)
            elif isinstance(event, Stage):
                self.stage.emit(req.job, event)
            elif isinstance(event, Done):
                done = event
        return done


# ---------------------------------------------------------------- the GUI-side owner


class TrainService(QObject):
    """Owns the training thread; lives in the GUI thread. Only the current job's signals
    come out; a cancelled job's ``finished`` is still reported (with its Done)."""

    data_ready = Signal(object)
    stage = Signal(object)
    progress = Signal(object)
    epoch_end = Signal(object)
    errored = Signal(str, str)
    finished = Signal(object)  # Done, or None after an error

    _send = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = 0
        self._req: TrainRequest | None = None
        self._thread = QThread()
        self._thread.setObjectName("resnet-gui training")
        self.worker = TrainWorker()
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self._send.connect(self.worker.run)
        w = self.worker
        w.data_ready.connect(lambda job, e: self._current(job) and self.data_ready.emit(e))
        w.stage.connect(lambda job, e: self._current(job) and self.stage.emit(e))
        w.progress.connect(lambda job, e: self._current(job) and self.progress.emit(e))
        w.epoch_end.connect(lambda job, e: self._current(job) and self.epoch_end.emit(e))
        w.errored.connect(lambda job, m, tb: self._current(job) and self.errored.emit(m, tb))
        w.finished.connect(self._on_finished)
        self._thread.start()

    @property
    def running(self) -> bool:
        """A job was sent and has not finished yet (also while it is cancelling)."""
        return self._req is not None

    @property
    def cancelling(self) -> bool:
        return self._req is not None and self._req.cancel.is_set()

    @property
    def thread(self) -> QThread:
        return self._thread

    def _current(self, job: int) -> bool:
        return self._req is not None and self._req.job == job

    def _on_finished(self, job: int, done) -> None:
        if self._current(job):
            self._req = None
            self.finished.emit(done)

    def start(self, config) -> int:
        """Start fine-tuning with ``config`` (a TrainConfig); a job still running is cancelled."""
        self.cancel()
        self._jobs += 1
        self._req = TrainRequest(job=self._jobs, config=config)
        self._send.emit(self._req)
        return self._jobs

    def cancel(self) -> None:
        """Ask the job to stop after the current batch; ``finished`` follows."""
        if self._req is not None:
            self._req.cancel.set()

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Cancel and wait for the thread to end (the core keeps the best checkpoint). Safe twice."""
        if self._req is not None:
            self._req.cancel.set()
        self._req = None
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        return self._thread.wait(timeout_ms)


class FolderScanner(QObject):
    """Scans folders and probes the ImageNet cache in a one-thread pool; latest scan wins."""

    scanned = Signal(object)  # FolderScan
    imagenet_probed = Signal(dict)  # {arch: cached}

    _scan_done = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._jobs = 0
        self._probed = False
        self._scan_done.connect(self._on_scan_done)

    def scan(self, path: str) -> None:
        self._jobs += 1
        job = self._jobs
        self._pool.start(lambda: self._scan_done.emit(job, scan_folder(path)))

    def probe_imagenet(self) -> None:
        """Once per panel: which ImageNet weights are cached (needs torchvision, so off the GUI thread)."""
        if self._probed:
            return
        self._probed = True

        def probe() -> None:
            try:
                found = cached_imagenet_archs()
            except Exception:  # noqa: BLE001 - torchvision missing or broken: nothing cached
                found = {}
            self.imagenet_probed.emit(found)

        self._pool.start(probe)

    def _on_scan_done(self, job: int, result: FolderScan) -> None:
        if job == self._jobs:
            self.scanned.emit(result)

    def busy(self) -> bool:
        return self._pool.activeThreadCount() > 0

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        self._pool.clear()
        return self._pool.waitForDone(timeout_ms)

"""The one way the window runs work in the background.

``runner.start(fn, *args, **kwargs)`` runs ``fn(*args, should_stop=task.should_stop, **kwargs)``
in the runner's own thread(s). When ``fn`` is a generator function (the core's are), every
``yield`` becomes ``task.yielded(value)`` in the GUI thread, and its ``return`` value
``task.returned(value)``; an exception becomes ``task.errored(exc, traceback_text)``; then
``task.finished()``. Cancel is a flag: ``should_stop()`` turns true, the generator sees it
between yields and ends itself (so a fine-tune still reports its last checkpoint). Starting
a job on a runner cancels the one before and disconnects it, so a replaced job can never
reach the views. ``shutdown()`` cancels everything and stops each thread with ``quit()`` +
``wait()``.

This is superqt's ``create_worker``/``GeneratorWorker`` shape, written out (~150 lines)
because superqt 0.9 cannot be used here as it is: (1) its worker treats ANY RuntimeError
from the job as "the worker was deleted" and returns without emitting ``errored`` or
``finished``, and TrainingError, DownloadError, DeviceError and torch's own errors are all
RuntimeErrors, so the window would never learn that a job ended; (2) it enters
``warnings.catch_warnings()`` and replaces ``warnings.showwarning`` in each worker thread,
which is not thread-safe and, with decode threads and several workers running, can leave
the whole process's warning filters changed.
"""

from __future__ import annotations

import inspect
import os
import sys
import threading
import traceback
from collections import deque
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot


class Task(QObject):
    """One job. Connect to its signals right after ``runner.start(...)`` returns it."""

    yielded = Signal(object)
    returned = Signal(object)  # also after a cancel: a generator that stops itself returns normally
    errored = Signal(object, str)  # the exception, its traceback as text
    finished = Signal()  # always last (unless the task was detached)

    # emitted in the worker thread; delivered to this object in the GUI thread (queued)
    _yield_q = Signal(object)
    _return_q = Signal(object)
    _error_q = Signal(object, str)
    _finish_q = Signal()

    def __init__(self, fn: Callable, args: tuple, kwargs: dict) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._stop = threading.Event()
        self.detached = False  # replaced: nothing more reaches the connected views
        self.done = False
        self._yield_q.connect(self._relay_yield)
        self._return_q.connect(self._relay_return)
        self._error_q.connect(self._relay_error)
        self._finish_q.connect(self._relay_finish)

    def should_stop(self) -> bool:
        """True once cancelled; the job checks it between steps (thread-safe)."""
        return self._stop.is_set()

    def cancel(self) -> None:
        self._stop.set()

    def detach(self) -> None:
        """Cancel, and from now on emit nothing (a newer job replaces this one)."""
        self.cancel()
        self.detached = True

    def execute(self) -> None:
        """Run the job; called in a worker thread by the runner."""
        try:
            result = self._fn(*self._args, should_stop=self.should_stop, **self._kwargs)
            if inspect.isgenerator(result):
                result = yield_all(result, self._yield_q.emit)
            self._return_q.emit(result)
        except Exception as exc:  # noqa: BLE001 - reported to the page, never lost in the thread
            self._error_q.emit(exc, traceback.format_exc())
        finally:
            self._finish_q.emit()

    @Slot(object)
    def _relay_yield(self, value: Any) -> None:
        if not self.detached:
            self.yielded.emit(value)

    @Slot(object)
    def _relay_return(self, value: Any) -> None:
        if not self.detached:
            self.returned.emit(value)

    @Slot(object, str)
    def _relay_error(self, exc: Exception, details: str) -> None:
        if not self.detached:
            self.errored.emit(exc, details)

    @Slot()
    def _relay_finish(self) -> None:
        self.done = True
        if not self.detached:
            self.finished.emit()


def yield_all(generator, emit: Callable[[Any], None]) -> Any:
    """Emit every value ``generator`` yields; return its return value."""
    while True:
        try:
            value = next(generator)
        except StopIteration as stop:
            return stop.value
        emit(value)


WORKER_NICENESS = 5  # Linux: worker threads (and the decode and torch threads they start) yield to the GUI


def lower_this_threads_priority(niceness: int = WORKER_NICENESS) -> None:
    """On Linux a thread has its own nice value, inherited by the threads it starts; elsewhere nothing."""
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        tid = threading.get_native_id()
        try:  # relative: a user who started the app niced keeps that
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
        except OSError:
            pass


class _Executor(QObject):
    """Lives in one worker thread; runs the tasks the runner hands it, one at a time."""

    submit = Signal(object)  # emitted in the GUI thread, delivered in the worker thread
    idle = Signal(object)  # itself, after each task

    def __init__(self) -> None:
        super().__init__()
        self.submit.connect(self.run)
        self._niced = False

    @Slot(object)
    def run(self, task: Task) -> None:
        if not self._niced:
            lower_this_threads_priority()
            self._niced = True
        task.execute()
        self.idle.emit(self)


def _stop_threads(threads: list[QThread], timeout_ms: int) -> bool:
    ok = True
    for thread in threads:
        try:
            thread.quit()  # ends the thread's event loop after the task it is running
            ok = thread.wait(timeout_ms) and ok
        except RuntimeError:  # already deleted (the interpreter is shutting down): nothing runs
            pass
    return ok


class TaskRunner(QObject):
    """Runs jobs in ``threads`` threads of its own, in order (or newest first)."""

    def __init__(self, parent: QObject | None = None, *, name: str = "tasks", threads: int = 1,
                 newest_first: bool = False, max_pending: int | None = None) -> None:
        super().__init__(parent)
        self._newest_first = newest_first
        self._max_pending = max_pending
        self._pending: deque[Task] = deque()
        self._running: dict[_Executor, Task] = {}
        self._idle: list[_Executor] = []
        self._threads: list[QThread] = []
        self._name, self._thread_count = name, threads
        self._closed = False
        if parent is not None:
            # a widget deleted without shutdown() (a test's, or a window torn down) must not
            # destroy running QThreads, which aborts the process: stop them on the way out
            threads_ref = self._threads
            parent.destroyed.connect(lambda *_: _stop_threads(threads_ref, 10_000))

    def _ensure_threads(self) -> None:
        """Threads start with the first job: a page that never runs one costs none."""
        if self._threads or self._closed:
            return
        for i in range(self._thread_count):
            thread = QThread()
            thread.setObjectName(f"resnet-gui {self._name} {i + 1}")
            executor = _Executor()
            executor.moveToThread(thread)
            thread.finished.connect(executor.deleteLater)
            executor.idle.connect(self._on_idle)
            thread.start()
            self._threads.append(thread)
            self._idle.append(executor)

    @property
    def busy(self) -> bool:
        """A job is running or waiting (a cancelled one too, until it has ended)."""
        return bool(self._pending) or any(not task.done for task in self._running.values())

    def start(self, fn: Callable, *args, replace: bool = True, **kwargs) -> Task:
        """Queue ``fn(*args, should_stop=..., **kwargs)``. ``replace``: cancel and detach every
        job started before (the usual case: a new request supersedes the old one)."""
        if replace:
            self.cancel(detach=True)
        task = Task(fn, args, kwargs)
        if self._closed:
            task.detach()
            return task
        self._ensure_threads()
        self._pending.append(task)
        if self._max_pending is not None and len(self._pending) > self._max_pending:
            self._pending.popleft().detach()  # the oldest waiting job is no longer wanted
        self._dispatch()
        return task

    def cancel(self, detach: bool = False) -> None:
        """Cancel every job; waiting ones are dropped. ``detach``: their signals stop too."""
        while self._pending:
            self._pending.popleft().detach()
        for task in self._running.values():
            task.detach() if detach else task.cancel()

    def shutdown(self, timeout_ms: int = 120_000) -> bool:
        """Cancel everything and wait for the threads to end. Safe to call twice."""
        self._closed = True
        self.cancel(detach=True)
        ok = _stop_threads(self._threads, timeout_ms)
        self._running.clear()
        return ok

    def _dispatch(self) -> None:
        while self._idle and self._pending:
            task = self._pending.pop() if self._newest_first else self._pending.popleft()
            executor = self._idle.pop()
            self._running[executor] = task
            executor.submit.emit(task)

    @Slot(object)
    def _on_idle(self, executor: _Executor) -> None:
        self._running.pop(executor, None)
        if not self._closed:
            self._idle.append(executor)
            self._dispatch()

"""The one background runner: yields become signals in the GUI thread, in order; cancel is a
flag the generator sees; a replaced job is disconnected; errors of every kind arrive."""

from __future__ import annotations

import os
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QThread  # noqa: E402

from resnet_gui.gui.tasks import TaskRunner  # noqa: E402


@pytest.fixture
def runner(qtbot):
    r = TaskRunner(name="test")
    yield r
    assert r.shutdown(10_000)


def count_to(n, delay=0.0, *, should_stop):
    for i in range(n):
        if should_stop():
            return f"stopped at {i}"
        time.sleep(delay)
        yield i
    return "done"


def record(task):
    seen = []
    task.yielded.connect(lambda v: seen.append(("yielded", v, QThread.currentThread().objectName())))
    task.returned.connect(lambda v: seen.append(("returned", v)))
    task.errored.connect(lambda exc, tb: seen.append(("errored", type(exc).__name__, str(exc), "Traceback" in tb)))
    task.finished.connect(lambda: seen.append(("finished",)))
    return seen


def test_yields_arrive_in_order_in_the_gui_thread_then_return_then_finished(runner, qtbot):
    QThread.currentThread().setObjectName("gui")
    task = runner.start(count_to, 5)
    seen = record(task)
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert seen == [("yielded", i, "gui") for i in range(5)] + [("returned", "done"), ("finished",)]
    assert task.done and not runner.busy


def test_the_job_runs_in_the_runner_thread_not_the_gui_thread(runner, qtbot):
    def where(*, should_stop):
        return threading.current_thread() is threading.main_thread()

    task = runner.start(where)
    with qtbot.waitSignal(task.returned, timeout=5000) as blocker:
        pass
    assert blocker.args == [False]


class TrainingLikeError(RuntimeError):
    pass


@pytest.mark.parametrize("exc_type", [TrainingLikeError, ValueError, MemoryError])
def test_errors_of_every_kind_arrive_then_finished(runner, qtbot, exc_type):
    # superqt 0.9 swallows RuntimeError subclasses: the reason this runner exists
    def fails(*, should_stop):
        yield 1
        raise exc_type("the folder has no classes")

    task = runner.start(fails)
    seen = record(task)
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert [s[1] for s in seen if s[0] == "yielded"] == [1]
    assert [s for s in seen if s[0] != "yielded"] == [("errored", exc_type.__name__, "the folder has no classes", True),
                                                      ("finished",)]


def test_cancel_is_seen_by_the_generator_which_still_returns(runner, qtbot):
    started = threading.Event()

    def slow(*, should_stop):
        started.set()
        for i in range(1000):
            if should_stop():
                return f"stopped at {i}"
            time.sleep(0.01)
            yield i
        return "done"

    task = runner.start(slow)
    seen = record(task)
    assert started.wait(5)
    qtbot.wait(50)
    runner.cancel()
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    returned = [s for s in seen if s[0] == "returned"]
    assert len(returned) == 1 and returned[0][1].startswith("stopped at")
    assert len([s for s in seen if s[0] == "yielded"]) < 1000


def test_a_new_job_cancels_and_disconnects_the_old_one(runner, qtbot):
    first = runner.start(count_to, 1000, 0.01)
    first_seen = record(first)
    qtbot.wait(100)
    second = runner.start(count_to, 3)
    second_seen = record(second)
    with qtbot.waitSignal(second.finished, timeout=10_000):
        pass
    qtbot.wait(50)
    assert first.should_stop() and first.detached and first.done
    assert not any(s[0] in ("returned", "finished") for s in first_seen)  # nothing after the replace
    assert [s[1] for s in second_seen if s[0] == "yielded"] == [0, 1, 2]


def test_jobs_of_one_runner_never_overlap(runner, qtbot):
    active, overlaps = [0], []

    def job(*, should_stop):
        active[0] += 1
        overlaps.append(active[0])
        time.sleep(0.05)
        active[0] -= 1
        return None

    tasks = [runner.start(job, replace=False) for _ in range(4)]
    qtbot.waitUntil(lambda: all(t.done for t in tasks), timeout=5000)
    assert overlaps == [1, 1, 1, 1]


def test_newest_first_and_a_bounded_backlog(qtbot):
    runner = TaskRunner(name="thumbs", newest_first=True, max_pending=3)
    gate = threading.Event()
    order = []

    def blocker(*, should_stop):
        gate.wait(5)

    def job(i, *, should_stop):
        order.append(i)

    first = runner.start(blocker, replace=False)
    qtbot.waitUntil(lambda: runner.busy, timeout=2000)
    waiting = [runner.start(job, i, replace=False) for i in range(6)]
    gate.set()
    qtbot.waitUntil(lambda: first.done and all(t.done or t.detached for t in waiting), timeout=5000)
    qtbot.waitUntil(lambda: len(order) == 3, timeout=5000)
    assert order == [5, 4, 3]  # newest first; 0-2 were dropped from the backlog
    assert runner.shutdown(5000)


def test_shutdown_cancels_and_waits_for_the_thread(qtbot):
    runner = TaskRunner(name="closing")
    stopped = threading.Event()

    def endless(*, should_stop):
        while not should_stop():
            time.sleep(0.01)
            yield None
        stopped.set()

    runner.start(endless)
    qtbot.wait(50)
    assert runner.shutdown(5000)
    assert stopped.is_set()
    assert all(not t.isRunning() for t in runner._threads)
    late = runner.start(endless)  # after shutdown nothing runs
    assert late.detached and not runner.busy

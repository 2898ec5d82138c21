"""A heartbeat on the GUI thread: a short timer whose late ticks measure how long the thread stalled.

The self-test and ``bench/bench_gui.py`` report its longest stall (the window's promise is
none over 100 ms).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer

TICK_MS = 10


class Heartbeat(QObject):
    """``start()``, then ``max_stall_ms``: the longest a tick came late, in milliseconds."""

    def __init__(self, parent: QObject | None = None, tick_ms: int = TICK_MS) -> None:
        super().__init__(parent)
        self.tick_ms = tick_ms
        self.max_stall_ms = 0.0
        self.stalls_over_100ms = 0
        self.worst_stall_cpu_ms = 0.0  # the GUI thread's own CPU time in the worst stall
        self.worst_stall_at_s = 0.0  # when it ended, in seconds since start(): what was going on then
        self._last = self._last_cpu = self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.reset()
        self._timer.start()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self.max_stall_ms = 0.0
        self.stalls_over_100ms = 0
        self.worst_stall_cpu_ms = self.worst_stall_at_s = 0.0
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._started = self._last

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        late = (now - self._last) * 1000.0 - self.tick_ms
        if late > self.max_stall_ms:
            # busy (CPU time close to the stall): our own code; idle: waiting for the GIL or the OS
            self.max_stall_ms, self.worst_stall_cpu_ms = late, (cpu - self._last_cpu) * 1000.0
            self.worst_stall_at_s = now - self._started
        self._last, self._last_cpu = now, cpu
        if late > 100.0:
            self.stalls_over_100ms += 1

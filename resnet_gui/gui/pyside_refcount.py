"""A guard against a PySide6 reference-count bug that aborts the app on Python 3.11.

PySide6 6.12.0's ``SignalInstance.emit()`` drops one reference to ``True`` on every call (10
lines reproduce it: ``sys.getrefcount(True)`` falls by one per ``emit``). Python 3.12+ makes
``True``/``False``/``None`` immortal, so nothing happens there; on 3.11 the count reaches zero
after a few thousand emits (about 1,200 in the window before torch loads) and the process
aborts with "Fatal Python error: bool_dealloc". Scrolling a grid of thumbnails emits several
signals per picture, so the Label page met it within seconds.

:func:`keep_singletons_alive` first checks whether the installed PySide6 has the bug (a few
emits, counting references); only then does it give the three singletons a reserve of
references, which is what 3.12 does for them. pyproject excludes 6.12.0 (6.11.3 is clean), so
a fresh install never needs it; the guard protects an environment that has it anyway.
Call it once at start, before the first emit.
"""

from __future__ import annotations

import sys

RESERVE = 1 << 40  # emits it takes to use up the reserve: never, in practice

_done = False


def keep_singletons_alive() -> None:
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    _done = True
    if not emit_leaks_true():
        return
    import ctypes

    for singleton in (True, False, None):
        ctypes.c_ssize_t.from_address(id(singleton)).value += RESERVE  # ob_refcnt is the first field


def emit_leaks_true(emits: int = 8) -> bool:
    """Does ``Signal.emit()`` of this PySide6 lose references to ``True``?"""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal(object)

    probe = _Probe()
    probe.ping.connect(lambda _value: None)
    before = sys.getrefcount(True)
    for _ in range(emits):
        probe.ping.emit(0)
    return sys.getrefcount(True) < before

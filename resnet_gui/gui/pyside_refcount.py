"""A guard against a PySide6 reference-count bug that aborts the app on Python 3.11.

PySide6 6.12.0's ``SignalInstance.emit()`` drops one reference to ``True`` on every call (10
lines reproduce it: ``sys.getrefcount(True)`` falls by one per ``emit``). Python 3.12+ makes
``True``/``False``/``None`` immortal, so nothing happens there; on 3.11 the count reaches zero
after a few thousand emits (about 1,200 in the window before torch loads) and the process
aborts with "Fatal Python error: bool_dealloc". Scrolling a grid of thumbnails emits several
signals per picture, so the Label page met it within seconds.

:func:`keep_singletons_alive` gives the three singletons a reserve of references, which is
what 3.12 does for them. Call it once at start, before the first emit.
"""

from __future__ import annotations

import sys

RESERVE = 1 << 40  # emits it takes to use up the reserve: never, in practice

_done = False


def keep_singletons_alive() -> None:
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    import ctypes

    for singleton in (True, False, None):
        ctypes.c_ssize_t.from_address(id(singleton)).value += RESERVE  # ob_refcnt is the first field
    _done = True

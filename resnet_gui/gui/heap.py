"""Python's full garbage collection walks every tracked object while it holds the GIL, so the
GUI thread waits it out: with PySide6, torch and torchvision imported that is ~340,000 objects
and 150 ms on the development VM, the window's longest stalls (docs/responsiveness.md).

What lives as long as the app (imported modules, the loaded model) is moved out of the
collector's view once it exists (``gc.freeze``); full collections then walk only newer
objects. Frozen objects are still freed by reference counting; only reference cycles among
them wait for ``unfreeze``, which the app never needs: modules and models are not cycles
that come and go."""

from __future__ import annotations

import gc

ENABLED = True  # bench/bench_gui.py --no-freeze measures the window without it


def settle() -> int:
    """Freeze what exists now (cheap: the collector's lists are spliced, nothing is walked);
    returns the number of objects now frozen."""
    if ENABLED:
        gc.freeze()
    return gc.get_freeze_count()

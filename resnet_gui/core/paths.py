"""Two small path questions asked all over the app, answered once: the first name no file has
yet (a new model, a heatmap, a photo's copy), and the nearest folder that exists (where a
destination that is not there yet will be made)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


def first_free(candidate: Callable[[int], Path], taken: Callable[[Path], bool] = Path.exists) -> Path:
    """``candidate(1)``, ``candidate(2)``, ...: the first one ``taken`` says is free (by default:
    no file or folder there). Never replaces an earlier file."""
    n = 1
    while taken(path := candidate(n)):
        n += 1
    return path


def nearest_existing(path: str | Path) -> Path:
    """``path`` itself when it exists, else its nearest parent that does (at worst the root or
    the current folder, for a relative path: the walk always ends)."""
    existing = Path(path)
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    return existing

"""Sorting classified photos into ``<destination>/<class>/`` (the unsure into ``_unsure/``):
the plan the ``sort`` command and the window's *Sort into folders* dialog share."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable

from ..text import counted
from .checks import check_folder_name, check_plan
from .names import existing_names, name_key
from .plan import FilesError, Plan, plan_transfers

UNSURE = "_unsure"


def plan_sort(items: Iterable[tuple[str, str, float]], destination: str | os.PathLike, *, min_confidence: float,
              move: bool = False, sources: Iterable[str | os.PathLike] = ()) -> Plan:
    """``items`` are ``(path, top-1 label, confidence)``; checked before anything is written
    (FilesError: a class name no filesystem takes, a read-only or full destination, ...)."""
    destination = Path(destination)
    folders = _class_folders(destination, [label for _, label, confidence in items if confidence >= min_confidence])
    pairs = [(path, destination / (folders[label] if confidence >= min_confidence else UNSURE))
             for path, label, confidence in items]
    title = f"{'move' if move else 'copy'} {counted(len(pairs), 'photo')} into {destination}"
    plan = plan_transfers(pairs, move=move, title=title)
    check_plan(plan, destination, sources)
    return plan


def _class_folders(destination: Path, labels: list[str]) -> dict[str, str]:
    """Each label's folder name: checked, and spelled as a folder already in ``destination``
    that differs only in case (so Linux, Windows and macOS fill the same folder). Two labels
    that differ only in case would share one folder on Windows and macOS: FilesError."""
    existing = existing_names(destination)
    folders: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for label in dict.fromkeys(labels):
        key = name_key(check_folder_name(label))
        if key in by_key:
            raise FilesError(f"the classes {by_key[key]!r} and {label!r} differ only in case: Windows and macOS "
                             "would sort them into one folder; rename one in the model's class names")
        by_key[key] = label
        folders[label] = existing.get(key, label)
    return folders


def sort_journal_path(destination: str | os.PathLike) -> Path:
    """A new journal for one sort, kept beside its result so it can be undone from there."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(destination) / ".resnet-gui" / f"sort-{stamp}-{time.time_ns() % 10**6:06d}.jsonl"

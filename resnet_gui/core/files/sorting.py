"""Sorting classified photos into ``<destination>/<class>/`` (the unsure into ``_unsure/``, those
the model marks as none of its classes into ``_unknown/``): the plan the ``sort`` command and
the window's *Sort into folders* dialog share."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable

from ...constants import APP_FOLDER
from ..text import counted
from .checks import check_folder_name, check_plan
from .names import existing_names, name_key
from .plan import FilesError, Plan, plan_transfers

UNSURE = "_unsure"
UNKNOWN = "_unknown"


def sort_folder(label: str, confidence: float, unknown: bool | None, min_confidence: float,
                unknown_folder: bool = True) -> str:
    """The folder one photo goes to: ``_unknown`` when the model marks it none of its classes
    (and ``unknown_folder``), else ``_unsure`` below ``min_confidence``, else its class."""
    if unknown and unknown_folder:
        return UNKNOWN
    return check_folder_name(label) if confidence >= min_confidence else UNSURE


def plan_sort(items: Iterable[tuple], destination: str | os.PathLike, *, min_confidence: float,
              move: bool = False, sources: Iterable[str | os.PathLike] = (), unknown_folder: bool = True) -> Plan:
    """``items`` are ``(path, top-1 label, confidence, unknown)`` (``unknown``: the model's "not one
    of my classes", None when it cannot tell; it may be left off); checked before anything is
    written (FilesError: a class name no filesystem takes, a read-only or full destination, ...)."""
    destination = Path(destination)
    items = list(items)
    if move:
        for path, *_ in items:
            check_not_through_link(path, sources)
    sure = [label for _, label, confidence, *unknown in items
            if confidence >= min_confidence and not (unknown_folder and unknown and unknown[0])]
    folders = _class_folders(destination, sure)
    pairs = [(path, destination / sort_folder(folders.get(label, label), confidence,
                                              unknown[0] if unknown else None, min_confidence, unknown_folder))
             for path, label, confidence, *unknown in items]
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
    return Path(destination) / APP_FOLDER / f"sort-{stamp}-{time.time_ns() % 10**6:06d}.jsonl"


def check_not_through_link(path: str | os.PathLike, sources: Iterable[str | os.PathLike]) -> None:
    """A move takes files only from the folders it was given: FilesError for a file reached
    through a linked folder inside one of them (``src/link -> elsewhere``), or itself a link."""
    path = Path(path)
    for source in map(Path, sources):
        try:
            relative = path.absolute().relative_to(source.absolute())
        except ValueError:
            continue
        real = Path(os.path.realpath(source)) / relative
        if os.path.realpath(path) != str(real) or path.is_symlink():
            raise FilesError(f"{path} is reached through a link inside {source}: a move takes files only "
                             "from the folders it was given; copy instead, or give the link's target")
        return
    if path.is_symlink():
        raise FilesError(f"{path} is a link: a move takes only the files themselves; copy instead")

"""A dataset is a plain folder with one subfolder per class (what ``train`` reads); the app
keeps only its journal inside, in a hidden ``.resnet-gui`` folder the trainer skips. A ``_none``
folder (constants.NONE_FOLDER) holds photos of none of the classes: not a class."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ...constants import APP_FOLDER, NONE_FOLDER
from ..data.images import is_image_path
from ..text import counted
from .checks import check_folder_name, check_plan
from .journal import Journal
from .names import existing_names, name_key
from .plan import FilesError, Plan, plan_transfers

JOURNAL_NAME = "journal.jsonl"


MANY_CLASSES = 200  # more subfolders than this: a home or projects folder, not a dataset
_NOT_PHOTOS = (".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv")  # signs of a code checkout


def dataset_warnings(data_dir: str | os.PathLike, scan_limit: int = 2000) -> list[str]:
    """Why ``data_dir`` does not look like a folder of class folders ([] when it does, or is new
    or empty): a code checkout, subfolders without a photo, hundreds of subfolders. Looks at
    most ``scan_limit`` entries per subfolder, so a huge folder answers quickly."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return []
    notes: list[str] = []
    if any((data_dir / sign).exists() for sign in _NOT_PHOTOS):
        signs = ", ".join(s for s in _NOT_PHOTOS if (data_dir / s).exists())
        notes.append(f"{data_dir.name} holds a code checkout ({signs})")
    try:
        subfolders = sorted((e for e in os.scandir(data_dir) if e.is_dir() and not e.name.startswith(".")),
                            key=lambda e: e.name.lower())
    except OSError as exc:
        return [f"cannot list {data_dir}: {exc.strerror or exc}"]
    if len(subfolders) > MANY_CLASSES:
        notes.append(f"it has {len(subfolders)} subfolders: each would become a class")
        subfolders = subfolders[:MANY_CLASSES]
    checkouts, empty = [], []
    for entry in subfolders:
        try:
            names = [e.name for _, e in zip(range(scan_limit), os.scandir(entry.path))]
        except OSError:
            continue
        if any(name in _NOT_PHOTOS for name in names):
            checkouts.append(entry.name)
        elif names and not any(is_image_path(n) for n in names):
            empty.append(entry.name)
    if checkouts:
        notes.append(f"{_listed(checkouts)} {'is a code checkout' if len(checkouts) == 1 else 'are code checkouts'}")
    if empty:
        notes.append(f"{_listed(empty)} {'holds' if len(empty) == 1 else 'hold'} files but no photos")
    return notes


def _listed(names: list[str], shown: int = 4) -> str:
    text = ", ".join(f"{n}/" for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


@dataclass
class ClassCount:
    name: str
    count: int


def _count(folder) -> int:
    try:
        return sum(1 for f in os.scandir(folder) if f.is_file() and is_image_path(f.name))
    except OSError:
        return 0


class Dataset:
    """``Dataset(data_dir)``: its classes and counts, and labeling through its journal.
    ``Dataset.shared(data_dir)``: one object per folder in this process, so the pages that add
    photos to the same dataset share one journal (one undo history).

    The registry is keyed by folder, not by "the current dataset": the Review page and a
    verdict's job may work on another folder than the Label page's, and the jobs that ask for
    it run in worker threads without Qt, so it stays here (not in the GUI's SessionState),
    behind a lock. The journal is made once per object under the same lock: two threads
    asking at once must get the same journal, or the undo history would split in two."""

    _shared: dict[Path, Dataset] = {}
    _shared_lock = threading.Lock()  # the pages' jobs ask from their own threads

    @classmethod
    def shared(cls, data_dir: str | os.PathLike) -> Dataset:
        key = Path(data_dir).resolve()
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(key)
            return cls._shared[key]

    def __init__(self, data_dir: str | os.PathLike) -> None:
        self.data_dir = Path(data_dir)
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise FilesError(f"{self.data_dir} is a file, not a folder")
        self._journal: Journal | None = None

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            with self._shared_lock:
                if self._journal is None:
                    self._journal = Journal(self.data_dir / APP_FOLDER / JOURNAL_NAME)
        return self._journal

    def classes(self) -> list[ClassCount]:
        """Every class folder (hidden ones and ``_none`` skipped, as the trainer does) with its photo count."""
        if not self.data_dir.is_dir():
            return []
        return [ClassCount(entry.name, _count(entry.path))
                for entry in sorted(os.scandir(self.data_dir), key=lambda e: e.name.lower())
                if not entry.name.startswith(".") and entry.name != NONE_FOLDER and entry.is_dir()]

    def none_count(self) -> int:
        """Photos in the ``_none`` folder (0 when there is none)."""
        folder = self.data_dir / NONE_FOLDER
        return _count(folder) if folder.is_dir() else 0

    def class_names(self) -> list[str]:
        return [c.name for c in self.classes()]

    def add_class(self, name: str) -> Path:
        """Create ``<data_dir>/<name>`` (refused with FilesError when no filesystem takes the name)."""
        name = check_folder_name(name.strip())
        same = existing_names(self.data_dir).get(name_key(name))
        if same is not None and same != name:
            raise FilesError(f"{name!r} and the class {same!r} differ only in case: Windows and macOS see one "
                             f"folder; use {same!r}")
        folder = self.data_dir / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FilesError(f"cannot create the class folder {folder}: {exc.strerror or exc}") from None
        return folder

    def plan_label(self, photos: Iterable[str | os.PathLike], class_name: str, *, move: bool = False) -> Plan:
        """Copy (or move) ``photos`` into the class folder, checked before anything is written."""
        folder = self.data_dir / check_folder_name(class_name)
        photos = [Path(p) for p in photos]
        plan = plan_transfers([(p, folder) for p in photos], move=move,
                              title=f"{'move' if move else 'copy'} {counted(len(photos), 'photo')} to {class_name}")
        check_plan(plan, self.data_dir)
        return plan

    def copy_in(self, class_name: str, photo: str | os.PathLike) -> Path | None:
        """This photo's journaled copy in the class folder, when it is still there (so a second
        verdict on the same photo adds nothing)."""
        folder = self.data_dir / check_folder_name(class_name)
        wanted = os.path.abspath(photo)
        for src, dst in self.labeled().items():
            if os.path.abspath(src) == wanted and Path(dst).parent == folder and Path(dst).is_file():
                return Path(dst)
        return None

    def labeled(self) -> dict[str, str]:
        """Source photo -> its copy in the dataset, for every labeling now in effect."""
        return self.journal.done_sources()

"""A dataset is a plain folder with one subfolder per class (what ``train`` reads); the app
keeps only its journal inside, in a hidden ``.resnet-gui`` folder the trainer skips."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ...constants import APP_FOLDER
from ..data.images import is_image_path
from ..text import counted
from .checks import check_folder_name, check_plan
from .journal import Journal
from .plan import FilesError, Plan, plan_transfers

JOURNAL_NAME = "journal.jsonl"


@dataclass
class ClassCount:
    name: str
    count: int


class Dataset:
    """``Dataset(root)``: its classes and counts, and labeling through its journal.
    ``Dataset.shared(root)``: one object per folder in this process, so the pages that add
    photos to the same dataset share one journal (one undo history)."""

    _shared: dict[Path, Dataset] = {}
    _shared_lock = threading.Lock()  # the pages' jobs ask from their own threads

    @classmethod
    def shared(cls, root: str | os.PathLike) -> Dataset:
        key = Path(root).resolve()
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(key)
            return cls._shared[key]

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise FilesError(f"{self.root} is a file, not a folder")
        self._journal: Journal | None = None

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self.root / APP_FOLDER / JOURNAL_NAME)
        return self._journal

    def classes(self) -> list[ClassCount]:
        """Every class folder (hidden ones skipped, as the trainer does) with its photo count."""
        if not self.root.is_dir():
            return []
        found = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name.lower()):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            try:
                count = sum(1 for f in os.scandir(entry.path) if f.is_file() and is_image_path(f.name))
            except OSError:
                count = 0
            found.append(ClassCount(entry.name, count))
        return found

    def class_names(self) -> list[str]:
        return [c.name for c in self.classes()]

    def add_class(self, name: str) -> Path:
        """Create ``<root>/<name>`` (refused with FilesError when no filesystem takes the name)."""
        folder = self.root / check_folder_name(name.strip())
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FilesError(f"cannot create the class folder {folder}: {exc.strerror or exc}") from None
        return folder

    def plan_label(self, photos: Iterable[str | os.PathLike], class_name: str, *, move: bool = False) -> Plan:
        """Copy (or move) ``photos`` into the class folder, checked before anything is written."""
        folder = self.root / check_folder_name(class_name)
        photos = [Path(p) for p in photos]
        plan = plan_transfers([(p, folder) for p in photos], move=move,
                              title=f"{'move' if move else 'copy'} {counted(len(photos), 'photo')} to {class_name}")
        check_plan(plan, self.root)
        return plan

    def copy_in(self, class_name: str, photo: str | os.PathLike) -> Path | None:
        """This photo's journaled copy in the class folder, when it is still there (so a second
        verdict on the same photo adds nothing)."""
        folder = self.root / check_folder_name(class_name)
        wanted = os.path.abspath(photo)
        for src, dst in self.labeled().items():
            if os.path.abspath(src) == wanted and Path(dst).parent == folder and Path(dst).is_file():
                return Path(dst)
        return None

    def labeled(self) -> dict[str, str]:
        """Source photo -> its copy in the dataset, for every labeling now in effect."""
        return self.journal.done_sources()

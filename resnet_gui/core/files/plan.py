"""A plan: the list of file operations a batch will do, shown to the user before any is done."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from ..paths import first_free
from ..text import counted
from .names import existing_names, name_key, portable_name

COPY, MOVE = "copy", "move"


class FilesError(ValueError):
    """A batch that must not start; ``str()`` is one line saying why, before anything moved."""


@dataclass
class Operation:
    """Copy or move ``src`` to ``dst`` (a name that was free when planned)."""

    kind: str  # COPY or MOVE
    src: str
    dst: str
    size: int = 0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Operation:
        return cls(str(data["kind"]), str(data["src"]), str(data["dst"]), int(data.get("size", 0)))


@dataclass
class Plan:
    """What a batch will do; ``title`` names it in Undo menus and journals.

    ``make_folders``: folders the batch creates (they did not exist when planned); undo removes
    them again when they are empty. ``drop_folders``: folders the batch empties and removes
    (a class renamed, merged or removed); undo puts them back."""

    operations: list[Operation] = field(default_factory=list)
    title: str = ""
    make_folders: list[str] = field(default_factory=list)
    drop_folders: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.operations)

    def folder_counts(self) -> dict[str, int]:
        """Photos per destination folder, in first-seen order (the preview's table)."""
        return dict(Counter(str(Path(op.dst).parent) for op in self.operations))

    @property
    def bytes_needed(self) -> int:
        """Space the destinations need: moves too, since a move copies before it removes."""
        return sum(op.size for op in self.operations)

    def summary(self) -> str:
        verb = "move" if any(op.kind == MOVE for op in self.operations) else "copy"
        folders = counted(len(self.folder_counts()), "folder")
        return f"{verb} {counted(len(self), 'photo')} into {folders}, {self.bytes_needed / 1e6:.1f} MB"


def free_name(folder: Path, name: str, taken: set[str]) -> str:
    """``name`` made valid everywhere (:func:`.names.portable_name`: ``aux.jpg`` -> ``aux_.jpg``),
    or ``stem (2).ext``, ``stem (3).ext`` ...: never a name that exists in ``folder`` or was
    already planned, compared without case (``taken`` holds :func:`.names.name_key` values), so
    ``A.jpg`` and ``a.jpg`` stay two photos on Windows and macOS too."""
    name = portable_name(name)
    stem, ext = os.path.splitext(name)
    candidate = first_free(lambda n: folder / (name if n == 1 else f"{stem} ({n}){ext}"),
                           lambda path: name_key(path.name) in taken or path.exists()).name
    taken.add(name_key(candidate))
    return candidate


def new_folders(folders: Iterable[Path]) -> list[str]:
    """The folders among ``folders`` and their parents that do not exist yet, deepest first."""
    found: set[Path] = set()
    for folder in folders:
        while not folder.exists() and folder.parent != folder and folder not in found:
            found.add(folder)
            folder = folder.parent
    return [str(f) for f in sorted(found, key=lambda f: (-len(f.parts), str(f)))]


def plan_transfers(pairs: Iterable[tuple[str | os.PathLike, str | os.PathLike]], *, move: bool = False,
                   title: str = "") -> Plan:
    """A plan putting each source file into its destination folder, names kept unless taken
    (or invalid on some filesystem).

    ``pairs`` are ``(source file, destination folder)``; unreadable sources are left out by
    the caller's checks (:func:`.checks.check_plan` says which)."""
    taken: dict[Path, set[str]] = {}
    operations = []
    for src, folder in pairs:
        # absolute: a journal must not depend on the folder undo is run from
        src, folder = Path(os.path.abspath(src)), Path(os.path.abspath(folder))
        try:
            size = src.stat().st_size
        except OSError:
            size = 0
        if folder not in taken:  # what the folder holds, without case: read once per folder
            taken[folder] = set(existing_names(folder))
        name = free_name(folder, src.name, taken[folder])
        operations.append(Operation(MOVE if move else COPY, str(src), str(folder / name), size))
    return Plan(operations, title, make_folders=new_folders(taken))

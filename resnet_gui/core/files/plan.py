"""A plan: the list of file operations a batch will do, shown to the user before any is done."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from ..text import counted

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
    """What a batch will do; ``title`` names it in Undo menus and journals."""

    operations: list[Operation] = field(default_factory=list)
    title: str = ""

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
    """``name``, or ``stem (2).ext``, ``stem (3).ext`` ...: never a name that exists in
    ``folder`` or was already planned (``taken``, lower-cased: case-insensitive filesystems)."""
    stem, ext = os.path.splitext(name)
    candidate, n = name, 1
    while candidate.lower() in taken or (folder / candidate).exists():
        n += 1
        candidate = f"{stem} ({n}){ext}"
    taken.add(candidate.lower())
    return candidate


def plan_transfers(pairs: Iterable[tuple[str | os.PathLike, str | os.PathLike]], *, move: bool = False,
                   title: str = "") -> Plan:
    """A plan putting each source file into its destination folder, names kept unless taken.

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
        name = free_name(folder, src.name, taken.setdefault(folder, set()))
        operations.append(Operation(MOVE if move else COPY, str(src), str(folder / name), size))
    return Plan(operations, title)

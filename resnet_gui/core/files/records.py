"""A journal read from disk is untrusted data, like a weights file: every line is bounded and
every record checked for its shape before the journal acts on it.

An edited journal must not make ``undo`` or ``finish`` act on files the batch never wrote;
:func:`check_pass` says, in one line and before any file is touched, why it refuses.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterator

from .plan import COPY, MOVE, FilesError, Operation

MAX_LINE = 32 * 1024 * 1024  # bytes; a batch of 100,000 photos with long paths takes about 30 MB
MAX_TEXT = 4096  # a title or a failure reason
_SHA256 = re.compile(r"[0-9a-f]{64}")
KINDS = ("batch", "pass", "start", "dst", "wrote", "ok", "fail", "end")


def read_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, record)`` for each JSON object; a torn line (a kill mid-write) is
    skipped; a line over :data:`MAX_LINE` or nested too deep refuses the whole file."""
    with open(path, "rb") as handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE:
                raise FilesError(f"{path} line {number} is longer than {MAX_LINE >> 20} MB: "
                                 "not a journal of this app; nothing was touched")
            try:
                record = json.loads(raw)
            except RecursionError:
                raise FilesError(f"{path} line {number} is nested too deep: not a journal of this app; "
                                 "nothing was touched") from None
            except ValueError:
                continue
            if isinstance(record, dict):
                yield number, record


def _int(value, low: int = 0, high: int | None = None) -> int:
    if type(value) is not int or value < low or (high is not None and value >= high):
        raise ValueError("a number out of range")
    return value


def _path(value) -> str:
    if not isinstance(value, str) or not value or "\0" in value or len(value) > 16384:
        raise ValueError("a path that is not text")
    if not os.path.isabs(value):
        raise ValueError(f"a relative path {value!r}")
    return value


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("text that is not text")
    return value[:MAX_TEXT]


def parse_operation(data) -> Operation:
    if not isinstance(data, dict) or data.get("kind") not in (COPY, MOVE):
        raise ValueError("an operation that is neither copy nor move")
    return Operation(data["kind"], _path(data.get("src")), _path(data.get("dst")), _int(data.get("size", 0)))


def check_record(r: dict, batches: dict) -> None:
    """ValueError naming what is wrong with ``r``, given the batches read so far."""
    kind = r.get("t")
    if kind not in KINDS:
        raise ValueError(f"an unknown record {str(kind)[:20]!r}")
    number = _int(r.get("b"), 1)
    if kind == "batch":
        if number in batches:
            raise ValueError(f"batch {number} twice")
        if not isinstance(r.get("ops"), list):
            raise ValueError("a batch without operations")
        roots = r.get("roots")
        if roots is not None and (not isinstance(roots, list) or len(roots) > 2 * len(r["ops"]) + 2):
            raise ValueError("a batch whose folders are not a list")
        for root in roots or ():
            _path(root)
        for key in ("mk", "rm"):  # class folders a batch makes or empties: paths, a few per batch
            folders = r.get(key, [])
            if not isinstance(folders, list) or len(folders) > len(r["ops"]) + 2:
                raise ValueError(f"a batch whose {key!r} folders are not a short list")
            for folder in folders:
                _path(folder)
        _text(r.get("title"))
        if not isinstance(r.get("time", 0), (int, float)):
            raise ValueError("a batch time that is not a number")
        return
    if number not in batches:
        raise ValueError(f"a record for batch {number}, which the journal never started")
    count = len(batches[number].operations)
    if kind == "pass" and r.get("dir") not in ("do", "undo"):
        raise ValueError("a pass that is neither do nor undo")
    if kind in ("start", "dst", "wrote", "ok", "fail"):
        i = _int(r.get("i"), 0, count)
        if kind == "dst":
            new, old = Path(_path(r.get("dst"))), Path(batches[number].operations[i].dst)
            if new.parent != old.parent or new.name in ("", ".", ".."):
                raise ValueError(f"a new name {str(new)!r} outside the planned folder {str(old.parent)!r}")
        elif kind == "wrote":
            _int(r.get("size"))
            if not isinstance(r.get("sha"), str) or not _SHA256.fullmatch(r["sha"]):
                raise ValueError("a hash that is not a SHA-256")
        elif kind == "fail":
            _text(r.get("why"))
    if kind == "end":
        _text(r.get("stopped"))


def folders_of(operations: list[Operation]) -> list[str]:
    """The folders a batch is planned for, symlinks resolved: what its passes may touch."""
    return sorted({str(Path(p).parent.resolve()) for op in operations for p in (op.src, op.dst)})


def check_pass(state, direction: str, order: list[int], home: Path, journal: Path) -> None:
    """FilesError, before any file is touched, when a pass over ``state`` would act on a path
    outside the folders its batch was planned for (resolved now, so a folder swapped for a
    link counts as outside), on a destination outside ``home`` (the folder the journal
    serves), on a link, or undo a file the batch has no record of writing."""
    where = f"{journal} batch {state.batch}"
    if state.roots is None:
        raise FilesError(f"{where} was written by an older version, without the folders and hashes "
                         "that let it be replayed safely: refused; nothing was touched")
    roots = set(state.roots)
    resolved: dict[Path, str] = {}  # a batch has thousands of photos in a few folders

    def real(folder: Path) -> str:
        if folder not in resolved:
            resolved[folder] = str(folder.resolve())
        return resolved[folder]

    try:
        home = home.resolve()
        for folder in state.make_folders + state.drop_folders:  # made or removed (when empty) by the pass
            inside = Path(real(Path(folder)))
            if inside != home and home not in inside.parents:
                raise FilesError(f"refused: {where} names the folder {folder}, outside {home} where the "
                                 "journal lives; nothing was touched")
        for i in order:
            op = state.operations[i]
            for side, path in (("source", Path(op.src)), ("destination", Path(op.dst))):
                if real(path.parent) not in roots:
                    raise FilesError(f"refused: {where} names the {side} {path}, outside the folders "
                                     "it was planned for; nothing was touched")
                linked = path.is_symlink() and (side == "destination" or op.kind == MOVE)  # a copy may read one
                if linked or (path.exists() and not path.is_file()):
                    raise FilesError(f"refused: {where} names {path}, which is a link or not a file; "
                                     "nothing was touched")
            destination = Path(real(Path(op.dst).parent))
            if destination != home and home not in destination.parents:
                raise FilesError(f"refused: {where} names the destination {op.dst}, outside {home} "
                                 "where the journal lives; nothing was touched")
            if direction == "undo" and Path(op.dst).exists() and i not in state.wrote:
                raise FilesError(f"refused: {where} has no record of writing {op.dst}; nothing was touched")
    except OSError as exc:  # a link loop, a folder we may not enter
        raise FilesError(f"refused: {where}: {exc.strerror or exc}; nothing was touched") from None

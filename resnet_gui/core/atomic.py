"""The one way the app writes a file: to a temp file beside it, then ``os.replace``.

A crash, a kill or an error mid-write leaves the previous file intact; an error also
removes the temp file. Checkpoints, CSVs and downloads all go through here.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

_PROCESS_STARTED = time.time()  # temp files older than this are not ours (this module loads at start)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """``with atomic_write(path, "w", newline="") as f: ...`` writes ``path`` all or nothing.

    The temp file is made with an ordinary ``open()``, so it gets the user's umask like any
    file they save (``mkstemp`` would make it 0600, and changing the process umask is not
    thread-safe). Data is fsynced before the rename, so a power cut cannot leave an empty file.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(_temp_name(path.name))
    try:
        with open(tmp, mode.replace("w", "x"), **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        check_replaceable(path)  # again: something may have appeared there while we wrote
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class OutputError(OSError):
    """An output location that cannot be written; ``str()`` is one line saying why."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cannot write the output"


def _temp_name(name: str) -> str:
    """``.<name>.<12 hex>.tmp``, the name cut to 200 bytes so the temp name stays under the
    255 bytes a file name may have."""
    short = name.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore")
    return f".{short}.{secrets.token_hex(6)}.tmp"


def check_replaceable(path: str | os.PathLike) -> None:
    """OutputError unless ``path`` does not exist or is a regular file (a link is judged by its
    target): ``os.replace`` would swap out a device (``/dev/null`` as root), a FIFO or a socket."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"{path} is a folder; give a file name")
    if not stat.S_ISREG(mode):
        raise OutputError(f"{path} is not a regular file (a device, a pipe or a socket): refusing to replace it")


def check_output_file(path: str | os.PathLike, need_bytes: int = 0, example: str = "model.pt") -> Path:
    """Fail fast, before any work: ``path`` must be a file name (not a folder) that does not
    exist yet or is a regular file, in a folder we can create and write, with ``need_bytes``
    free. A probe file proves it (permission bits say nothing for root, read-only mounts, or
    ACLs), and is removed at once. The one check of every output (train, calibrate, export,
    ``--csv``, ``--cam``)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name, e.g. {path / example}")
    check_replaceable(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(_temp_name(path.name))
        with open(probe, "xb"):
            pass
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    free = shutil.disk_usage(path.parent).free
    if free < need_bytes:
        raise OutputError(f"not enough free space for {path.name}: {free / 1e6:.0f} MB free in {path.parent}, "
                          f"about {need_bytes / 1e6:.0f} MB needed")
    return path


def output_file_problem(path: str | os.PathLike, example: str = "model.pt") -> str:
    """:func:`check_output_file` as its one-line reason, or "" when ``path`` can be written."""
    try:
        check_output_file(path, example=example)
    except OutputError as exc:
        return str(exc)
    return ""


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove temp files that a killed earlier run left beside ``path``: only names of
    :func:`atomic_write`'s own pattern, and only files older than this process."""
    path = Path(path)
    pattern = re.compile(rf"^{re.escape(_temp_name(path.name)[:-17])}\.[0-9a-f]{{12}}\.tmp$")
    removed = []
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        try:
            if pattern.match(candidate.name) and candidate.stat().st_mtime < _PROCESS_STARTED:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue
    return removed


_ANY_TEMP = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


def remove_stale_temps_in(folder: str | os.PathLike) -> list[Path]:
    """:func:`remove_stale_temps` for every file of ``folder`` (a cache the app alone writes)."""
    removed = []
    try:
        candidates = list(Path(folder).iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        try:
            if _ANY_TEMP.match(candidate.name) and candidate.stat().st_mtime < _PROCESS_STARTED:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue
    return removed

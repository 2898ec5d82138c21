"""The one way the app writes a file: to a temp file beside it, then ``os.replace``.

A crash, a kill or an error mid-write leaves the previous file intact; an error also
removes the temp file. Checkpoints, CSVs and downloads all go through here.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, mode.replace("w", "x"), **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

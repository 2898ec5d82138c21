"""Each operation forward and backward, idempotent: run again after a kill, it finishes the
job from whatever state the files are in, and never removes the last copy of a photo.
(Torn temp files of a killed copy are removed once per folder by the journal's pass.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .plan import COPY, Operation
from .transfer import TransferError, copy_file, move_file, remove_verified, same_content, send_to_trash


def name_for(folder: Path, name: str, like: Path) -> Path:
    """The first of ``name``, ``stem (2).ext``, ... that is free or already holds ``like``'s bytes
    (so running a step again finds its own earlier copy instead of making another)."""
    stem, ext = os.path.splitext(name)
    n = 1
    candidate = folder / name
    while candidate.exists() and not same_content(like, candidate):
        n += 1
        candidate = folder / f"{stem} ({n}){ext}"
    return candidate


def do(op: Operation, record_dst: Callable[[str], None] = lambda dst: None) -> str:
    """Bring ``op`` to done; returns the destination used. When another file took the planned
    name meanwhile, a free one is chosen and passed to ``record_dst`` before anything is
    written (the journal must know where a photo goes before it goes). Raises OSError or
    TransferError, leaving the source as it was."""
    src, dst = Path(op.src), Path(op.dst)
    if not src.exists():
        if op.kind != COPY and dst.exists():
            return str(dst)  # a move that finished before a kill
        raise TransferError(f"{src} is gone")
    chosen = name_for(dst.parent, dst.name, src)
    if chosen != dst:
        record_dst(str(chosen))
    if op.kind == COPY:
        if not chosen.exists():
            copy_file(src, chosen)
    elif chosen.exists():
        remove_verified(src, chosen)  # a move killed between its two steps
    else:
        move_file(src, chosen)
    return str(chosen)


def undo(op: Operation) -> str | None:
    """Bring ``op`` back to not done. A copy made by the app is removed when the original is
    still there, byte for byte; otherwise it goes to the system trash. A move comes back to
    its source name (or a free one beside it). Returns a note for the user, or None."""
    src, dst = Path(op.src), Path(op.dst)
    if not dst.exists():
        return None if src.exists() else f"{src.name} is in neither {src.parent} nor {dst.parent}"
    if src.exists() and same_content(src, dst):
        dst.unlink()  # an identical copy of a photo that is still in place: nothing is lost
        return None
    if op.kind == COPY:
        send_to_trash(dst)  # changed since, or its original is gone: keep it recoverable
        return f"{dst} went to the system trash (it no longer matched {src})"
    back = name_for(src.parent, src.name, dst)
    if back.exists():
        remove_verified(dst, back)
    else:
        move_file(dst, back)
    return None if back == src else f"{src.name} came back as {back.name} ({src.name} was taken)"

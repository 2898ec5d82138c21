"""Each operation forward and backward, idempotent: run again after a kill, it finishes the
job from whatever state the files are in, and never removes the last copy of a photo.
(Torn temp files of a killed copy are removed once per folder by the journal's pass.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..paths import first_free
from .plan import COPY, Operation
from .transfer import TransferError, copy_file, file_hash, move_file, remove_verified, same_content, send_to_trash


def name_for(folder: Path, name: str, like: Path) -> Path:
    """The first of ``name``, ``stem (2).ext``, ... that is free or already holds ``like``'s bytes
    (so running a step again finds its own earlier copy instead of making another)."""
    stem, ext = os.path.splitext(name)
    return first_free(lambda n: folder / (name if n == 1 else f"{stem} ({n}){ext}"),
                      lambda path: os.path.lexists(path) and not (path.is_file() and not path.is_symlink()
                                                                  and same_content(like, path)))


def do(op: Operation, record_dst: Callable[[str], None] = lambda dst: None,
       record_wrote: Callable[[int, str], None] = lambda size, sha: None) -> str:
    """Bring ``op`` to done; returns the destination used. When another file took the planned
    name meanwhile, a free one is chosen and passed to ``record_dst`` before anything is
    written (the journal must know where a photo goes before it goes); the copy's size and
    SHA-256 go to ``record_wrote`` before it gets its name (undo removes only what matches).
    Raises OSError or TransferError, leaving the source as it was."""
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
            copy_file(src, chosen, before_link=record_wrote)
        else:  # its own earlier copy (a kill after the link), or the same bytes put there meanwhile
            record_wrote(chosen.stat().st_size, file_hash(chosen))
    elif chosen.exists():  # a move killed between its two steps
        record_wrote(chosen.stat().st_size, file_hash(chosen))
        remove_verified(src, chosen)
    else:
        move_file(src, chosen, before_link=record_wrote)
    return str(chosen)


def undo(op: Operation, wrote: tuple[int, str] | None = None) -> str | None:
    """Bring ``op`` back to not done. Only a destination whose size and hash match ``wrote``
    (what the batch wrote) is touched: one changed since is left in place with a note. A copy
    made by the app is removed when the original is still there, byte for byte; otherwise it
    goes to the system trash. A move comes back to its source name (or a free one beside
    it). Returns a note for the user, or None."""
    src, dst = Path(op.src), Path(op.dst)
    if not dst.exists():
        return None if src.exists() else f"{src.name} is in neither {src.parent} nor {dst.parent}"
    if wrote is None or dst.stat().st_size != wrote[0] or file_hash(dst) != wrote[1]:
        return f"{dst} was left in place: it changed since this batch wrote it"
    if src.exists() and same_content(src, dst):
        dst.unlink()  # an identical copy of a photo that is still in place: nothing is lost
        return None
    if op.kind == COPY:
        send_to_trash(dst)  # its original changed or is gone: keep the copy recoverable
        return f"{dst} went to the system trash (its original {src} changed or is gone)"
    back = name_for(src.parent, src.name, dst)
    if back.exists():
        remove_verified(dst, back)
    else:
        move_file(dst, back)
    return None if back == src else f"{src.name} came back as {back.name} ({src.name} was taken)"

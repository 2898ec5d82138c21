"""One file at a time, safely: copy with timestamps, verify, remove a source only after.

Every step here is idempotent given the files on disk, so the journal can run an
interrupted step again after a kill: a destination appears only once it is complete
(written to a hidden temp name, fsynced, then linked into place without overwriting).
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
from pathlib import Path

HASH_LIMIT = 64 * 1024 * 1024  # files up to this size are compared by content after a copy, larger ones by size
TEMP_PREFIX = ".resnet-gui-"
TEMP_SUFFIX = ".partial"
FULL_DISK = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class TransferError(OSError):
    """One file could not be handled; ``str()`` is one line saying why."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "file operation failed"


def is_full_disk(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FULL_DISK


def file_hash(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def same_content(a: Path, b: Path, *, full: bool = True) -> bool:
    """Same size, and (``full`` or small enough) the same SHA-256."""
    try:
        size = a.stat().st_size
        if size != b.stat().st_size:
            return False
    except OSError:
        return False
    if not full and size > HASH_LIMIT:
        return True
    return file_hash(a) == file_hash(b)


def fsync_dir(folder: Path) -> None:
    """Make a new name in ``folder`` survive a power cut (not possible, nor needed, on Windows)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_no_clobber(tmp: Path, dst: Path) -> None:
    """Give ``tmp`` the name ``dst``, failing with FileExistsError rather than overwriting."""
    try:
        os.link(tmp, dst)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links (FAT, some network shares)
        if dst.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(dst)) from None
        os.rename(tmp, dst)
        return
    tmp.unlink()


def copy_file(src: Path, dst: Path, before_link=None) -> str:
    """Copy ``src`` to the new name ``dst`` with its timestamps (shutil.copy2), fsynced and
    verified (size, and content up to HASH_LIMIT); returns the copy's SHA-256, which goes to
    ``before_link(size, sha)`` before ``dst`` appears. ``dst`` appears only when complete; an
    existing ``dst`` raises FileExistsError and is left alone. ``src`` is only read."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f"{TEMP_PREFIX}{secrets.token_hex(4)}-{dst.name}{TEMP_SUFFIX}")
    try:
        shutil.copy2(src, tmp)
        fd = os.open(tmp, os.O_RDONLY)  # copy2 also copies a read-only mode: fsync through a read fd
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        size, sha = tmp.stat().st_size, file_hash(tmp)
        if size != src.stat().st_size or (size <= HASH_LIMIT and sha != file_hash(src)):
            raise TransferError(f"the copy of {src.name} differs from the original")
        if before_link is not None:
            before_link(size, sha)
        _link_no_clobber(tmp, dst)
        fsync_dir(dst.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return sha


def move_file(src: Path, dst: Path, before_link=None) -> None:
    """Move ``src`` to the new name ``dst``: a hard link then an unlink on the same filesystem
    (a rename that never overwrites: an existing ``dst`` raises FileExistsError); across drives
    (EXDEV), or where links are refused (FAT, some shares), :func:`copy_file` then
    :func:`remove_verified`. Either way ``src`` goes only once ``dst`` is complete;
    ``before_link(size, sha)`` as in :func:`copy_file`."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if before_link is not None:  # the journal learns what ``dst`` will hold before it appears
        before_link(src.stat().st_size, file_hash(src))
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:  # EXDEV: another drive; EPERM/ENOTSUP/EMLINK: no hard links here
        copy_file(src, dst)
        remove_verified(src, dst)
        return
    fsync_dir(dst.parent)
    src.unlink()
    fsync_dir(src.parent)


def remove_verified(src: Path, copy: Path) -> None:
    """Remove ``src`` only when ``copy`` holds the same bytes (the last step of a move)."""
    if not same_content(src, copy, full=False):
        raise TransferError(f"not removing {src.name}: its copy {copy} differs")
    src.unlink()
    fsync_dir(src.parent)


def send_to_trash(path: Path) -> None:
    """The system trash (send2trash), never a plain delete."""
    from send2trash import send2trash

    send2trash(str(path))


def remove_stale_partials(folder: Path) -> None:
    """Temp files a killed copy left behind: only our own name pattern."""
    try:
        names = list(folder.iterdir())
    except OSError:
        return
    for path in names:
        if path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX):
            path.unlink(missing_ok=True)

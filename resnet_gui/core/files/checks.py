"""Checks before anything is written: the problems that would otherwise show up mid-batch."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Iterable

from ..paths import nearest_existing
from .names import WINDOWS_FORBIDDEN, is_reserved
from .plan import FilesError, Plan

SPACE_MARGIN = 1.02  # filesystems need a little more than the bytes themselves


def check_folder_name(name: str) -> str:
    """A class name usable as one folder name on any common filesystem, or FilesError."""
    shown = repr(name)
    if not name or name in (".", "..") or name.strip() != name:
        raise FilesError(f"{shown} cannot be a folder name (empty, '.' or '..', or spaces at an end)")
    if "\0" in name or "/" in name or "\\" in name or any(ord(c) < 32 for c in name):
        raise FilesError(f"{shown} cannot be a folder name: it holds a slash or a control character")
    if set(name) & WINDOWS_FORBIDDEN or is_reserved(name) or name.endswith("."):
        raise FilesError(f"{shown} cannot be a folder name on Windows or a USB disk (characters <>:\"|?* "
                         "or a reserved name); rename the class")
    if len(name.encode("utf-8")) > 255:
        raise FilesError(f"{shown[:40]}... is too long for a folder name (over 255 bytes)")
    return name


def is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def check_not_inside_sources(destination: Path, sources: Iterable[str | os.PathLike]) -> None:
    """Sorting a folder into itself would sort the results again on the next run."""
    for source in sources:
        source = Path(source)
        if source.is_dir() and is_inside(destination, source):
            raise FilesError(f"the destination {destination} is inside the source folder {source}: "
                             "choose a folder outside it")


def _probe_writable(folder: Path) -> None:
    """Create and remove a probe file: mode bits say nothing for root, read-only mounts or ACLs."""
    existing = nearest_existing(folder)
    if not existing.is_dir():
        raise FilesError(f"{existing} is not a folder")
    probe = existing / f".resnet-gui-probe-{secrets.token_hex(4)}"
    try:
        with open(probe, "xb"):
            pass
        probe.unlink()
    except OSError as exc:
        raise FilesError(f"cannot write into {existing}: {exc.strerror or exc} (read-only?)") from None


def _probe_folder_name(folder: Path) -> None:
    """A name the filesystem refuses (FAT, NTFS, length) is found by trying it."""
    if folder.exists():
        return
    parent = nearest_existing(folder.parent)
    try:
        probe = parent / folder.name if folder.parent == parent else parent / f".resnet-gui-probe-{folder.name}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise FilesError(f"the filesystem refuses the folder name {folder.name!r}: {exc.strerror or exc}") from None


def check_plan(plan: Plan, destination: str | os.PathLike, sources: Iterable[str | os.PathLike] = ()) -> None:
    """Everything that can be known before the first file is touched, or FilesError:
    a destination inside a source folder, read-only, too full, or with refused names;
    sources that are gone or unreadable."""
    destination = Path(destination)
    check_not_inside_sources(destination, sources)
    _probe_writable(destination)
    for op in plan.operations:
        if not os.access(op.src, os.R_OK) or not Path(op.src).is_file():
            raise FilesError(f"cannot read {op.src}: it is gone or not readable")
        if is_inside(Path(op.src).parent, Path(op.dst).parent):
            raise FilesError(f"{op.src} is already in {Path(op.dst).parent}")
    for folder in {Path(op.dst).parent for op in plan.operations}:
        check_folder_name(folder.name)
        if os.path.lexists(folder) and not folder.is_dir():
            raise FilesError(f"{folder} is in the way: it is not a folder; move it or choose another destination")
        _probe_folder_name(folder)
    need = plan.bytes_needed * SPACE_MARGIN
    existing = nearest_existing(destination)
    free = shutil.disk_usage(existing).free
    if free < need:
        raise FilesError(f"not enough free space in {existing}: {free / 1e6:.0f} MB free, "
                         f"{need / 1e6:.0f} MB needed; free some space or copy fewer photos")

"""File and folder names that work on every common filesystem: the photos a Linux user sorts
may end up on a USB stick (FAT/exFAT), a Windows share or a Mac.

- Windows refuses ``<>:"/\\|?*`` and control characters, names ending in a dot or a space,
  and the device names ``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM1``-``COM9``, ``LPT1``-``LPT9``
  (also ``COM¹``..., and with any extension: ``aux.jpg`` is the device too).
- Windows and macOS compare names without case: ``Roses`` and ``roses`` are one folder,
  ``A.jpg`` and ``a.jpg`` one file.
"""

from __future__ import annotations

import os
from pathlib import Path

WINDOWS_FORBIDDEN = frozenset('<>:"/\\|?*')
WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$",
                              *(f"{dev}{n}" for dev in ("com", "lpt") for n in "123456789¹²³")})


def name_key(name: str) -> str:
    """How a case-insensitive filesystem compares names (NTFS, APFS and exFAT by default)."""
    return name.casefold()


def is_reserved(name: str) -> bool:
    """A Windows device name, with or without an extension (``CON``, ``aux.jpg``, ``Com1.tar.gz``)."""
    return name.split(".")[0].rstrip(" ").lower() in WINDOWS_RESERVED


def portable_name(name: str) -> str:
    """``name`` changed as little as needed to be valid on Windows, FAT and exFAT too:
    forbidden characters become ``_``, trailing dots and spaces go, and a device name gets a
    ``_`` (``aux.jpg`` -> ``aux_.jpg``). Names that need nothing come back unchanged."""
    cleaned = "".join("_" if c in WINDOWS_FORBIDDEN or ord(c) < 32 else c for c in name).rstrip(". ")
    if not cleaned:
        cleaned = "_"
    if is_reserved(cleaned):
        stem, dot, rest = cleaned.partition(".")
        cleaned = f"{stem}_{dot}{rest}"
    return cleaned


def existing_names(folder: Path) -> dict[str, str]:
    """The entries of ``folder`` by :func:`name_key` (empty when it does not exist yet)."""
    try:
        return {name_key(name): name for name in os.listdir(folder)}
    except OSError:
        return {}

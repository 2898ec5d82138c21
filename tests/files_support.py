"""Helpers for the file-operation tests: photo trees, hashes, read-only and tiny filesystems."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest


def make_files(folder: Path, n: int, size: int = 1000, prefix: str = "photo") -> list[Path]:
    """``n`` files of distinct random bytes (the core handles any file; images where decoding matters)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        path = folder / f"{prefix}_{i:03d}.jpg"
        path.write_bytes(os.urandom(size))
        os.utime(path, (1_500_000_000 + i, 1_500_000_000 + i))  # an old, distinct mtime to check later
        files.append(path)
    return files


def hashes(*folders: Path) -> Counter:
    """SHA-256 of every file under ``folders``, the app's own journal folder and temps left out."""
    found = Counter()
    for folder in folders:
        for path in folder.rglob("*") if folder.exists() else ():
            if path.is_file() and ".resnet-gui" not in path.parts and not path.name.startswith(".resnet-gui-"):
                found[hashlib.sha256(path.read_bytes()).hexdigest()] += 1
    return found


def snapshot(folder: Path) -> dict[str, tuple[str, float]]:
    """name -> (hash, mtime): to prove sources are never modified."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
            for p in folder.rglob("*") if p.is_file()}


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m", readonly: bool = False):
    """A real small (or read-only) filesystem at ``path``: needs root (mount), else the test skips."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if readonly else "")
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def run_steps(steps):
    """Drive a core generator to its end: ``(what it yielded, what it returned)``."""
    lines = []
    try:
        while True:
            lines.append(next(steps))
    except StopIteration as stop:
        return lines, stop.value

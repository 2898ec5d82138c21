"""Teacher features kept per photo in the user data folder, so a second review or fit of the
same photos decodes nothing.

One ``.npy`` (5 KB) per photo, named by the SHA-256 of the teacher's version, the photo's
absolute path, size and modification time: an edited or replaced photo gets a new key, and
a new teacher never reads an old teacher's rows. Written atomically; anything unreadable or
of the wrong shape is a miss, never an error. The folder is trimmed to :data:`MAX_BYTES`,
oldest first.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

MAX_BYTES = 256 * 1024 * 1024  # about 50,000 photos


def default_dir() -> Path:
    from ...resources import user_data_dir

    return user_data_dir() / "teacher-features"


class FeatureCache:
    def __init__(self, folder: str | os.PathLike, version: str, dim: int, max_bytes: int = MAX_BYTES):
        self.folder = Path(folder)
        self.version = version
        self.dim = dim
        self.max_bytes = max_bytes

    def key(self, path: str | os.PathLike) -> str | None:
        try:
            resolved = Path(path).resolve()
            stat = resolved.stat()
        except OSError:
            return None
        text = f"{self.version}\0{resolved}\0{stat.st_size}\0{stat.st_mtime_ns}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def _file(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str | None):
        import numpy as np

        if key is None:
            return None
        try:
            row = np.load(self._file(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if row.shape != (self.dim,) or row.dtype != np.float32 or not np.isfinite(row).all():
            return None
        return row

    def put(self, key: str | None, row) -> None:
        import numpy as np

        from ..atomic import atomic_write

        if key is None:
            return
        try:
            with atomic_write(self._file(key)) as handle:
                np.save(handle, np.ascontiguousarray(row, dtype=np.float32), allow_pickle=False)
        except OSError:  # a full or read-only disk costs speed, never a result
            pass

    def trim(self) -> None:
        """Remove the oldest rows until the folder is under ``max_bytes``."""
        entries = []
        try:
            for sub in self.folder.iterdir():
                if sub.is_dir():
                    for entry in os.scandir(sub):
                        if entry.name.endswith(".npy"):
                            stat = entry.stat()
                            entries.append((stat.st_mtime, stat.st_size, entry.path))
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, name in sorted(entries):
            if total <= self.max_bytes:
                break
            try:
                os.unlink(name)
                total -= size
            except OSError:
                pass

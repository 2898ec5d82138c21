"""Where shipped files live (source checkout or PyInstaller bundle) and where user files go.

No Qt and no torch here: both the CLI and the GUI use it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resource_root() -> Path:
    """The folder holding ``assets/`` and ``weights/``.

    In a PyInstaller bundle that is ``sys._MEIPASS``; from a checkout (editable install)
    it is the repository root, one level above the package.
    """
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def weights_dir() -> Path:
    return Path(os.environ.get("RESNET_GUI_WEIGHTS_DIR", resource_root() / "weights"))


def assets_dir() -> Path:
    return resource_root() / "assets"


def default_weights() -> Path | None:
    """The model the app uses when the user has chosen none: ``weights/default.pt`` if present,
    else the first checkpoint found in ``weights/``."""
    folder = weights_dir()
    preferred = folder / "default.pt"
    if preferred.is_file():
        return preferred
    if folder.is_dir():
        for suffix in (".pt", ".pth", ".safetensors"):
            found = sorted(folder.glob(f"*{suffix}"))
            if found:
                return found[0]
    return None


def user_data_dir() -> Path:
    """Per-user app-data folder (logs, downloaded weights live in torch's own cache)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    path = base / "ResNetClassifier"
    path.mkdir(parents=True, exist_ok=True)
    return path

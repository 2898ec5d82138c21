"""Where the shipped files are (the default model, the icons) and where user files go.

The model and the icons are package data of two small packages, ``resnet_gui.weights`` and
``resnet_gui.assets``. In the repository they are the top-level folders ``weights/`` and
``assets/`` (each with an empty ``__init__.py``); pyproject.toml maps the packages onto them
(setuptools ``package-dir``). So one lookup, :mod:`importlib.resources`, finds them in every
install:

- editable (``pip install -e .``): setuptools' import finder maps ``resnet_gui.weights`` to
  ``<checkout>/weights``;
- wheel: they are ``resnet_gui/weights/`` and ``resnet_gui/assets/`` in site-packages;
- PyInstaller bundle: packaging/resnet_gui.spec puts them at ``_internal/resnet_gui/weights/``
  and ``_internal/resnet_gui/assets/``, the same place relative to the package.

No Qt and no torch here: the CLI, the window and the frozen entry point all use it.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

import platformdirs

from .constants import APP_ID

WEIGHTS_PACKAGE = "resnet_gui.weights"
ASSETS_PACKAGE = "resnet_gui.assets"


def _package_folder(package: str) -> Path:
    """The folder of a data package, as a real filesystem path.

    Only unpacked installs are supported (site-packages, editable, a PyInstaller folder), where
    ``files()`` is a plain :class:`~pathlib.Path`. That is why there is no
    ``importlib.resources.as_file()`` here: it would only matter for an import from a zip file,
    and there it would extract the 22 MB model to a temporary file on every call.
    """
    try:
        folder = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"{package} is missing from this install; in a checkout, reinstall it "
            f"(pip install -e .) so that {package.rsplit('.', 1)[-1]}/ is mapped into the package",
            name=package,
        ) from exc
    if not isinstance(folder, Path):
        raise RuntimeError(f"{package} is not a folder on disk ({folder!r}): zipped installs are not supported")
    return folder


def weights_dir() -> Path:
    """The shipped models' folder, or ``$RESNET_GUI_WEIGHTS_DIR`` when set."""
    override = os.environ.get("RESNET_GUI_WEIGHTS_DIR")
    if override:
        return Path(override)
    return _package_folder(WEIGHTS_PACKAGE)


def assets_dir() -> Path:
    """The icons' folder."""
    return _package_folder(ASSETS_PACKAGE)


def default_weights() -> Path | None:
    """The model the app uses when the user has chosen none: ``default.pt`` in
    :func:`weights_dir` if present, else the first checkpoint found there."""
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
    """Per-user app-data folder (logs, fine-tuned models; downloaded weights live in torch's own
    cache), created if missing: ``~/.local/share/ResNetClassifier`` (or ``$XDG_DATA_HOME``),
    ``%LOCALAPPDATA%\\ResNetClassifier``, ``~/Library/Application Support/ResNetClassifier``."""
    # platformdirs knows each platform's rules (Windows' known folders, XDG, macOS); no author
    # folder on Windows (appauthor=False), roaming=False: models are big and machine-bound
    return platformdirs.user_data_path(APP_ID, appauthor=False, roaming=False, ensure_exists=True)


def output_folder_for(weights: str | os.PathLike) -> Path:
    """Where a file made from ``weights`` goes (a retrained model, an export): beside it, or in
    the user's models folder when ``weights`` is a shipped model (maybe read-only, and replaced
    by an update) or its folder is not writable."""
    folder = Path(weights).parent
    try:
        shipped = folder.resolve() == weights_dir().resolve()
    except (OSError, RuntimeError, ImportError):  # no weights package in this install
        shipped = False
    return user_data_dir() / "models" if shipped or not os.access(folder, os.W_OK) else folder

"""``.pt`` weights converted once into an engine model, kept in the user's cache folder and
found again by the weights' SHA-256: the next run loads no torch at all."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from ...constants import APP_ID
from .export import file_sha256

FORMAT_VERSION = 2  # 2: the features output and trust metadata; bump when the exported graph or its metadata changes


def cache_dir() -> Path:
    """The platform's per-user cache folder for the app's engine models (``$RESNET_GUI_CACHE_DIR`` wins)."""
    override = os.environ.get("RESNET_GUI_CACHE_DIR")
    if override:
        return Path(override)
    # ~/.cache/ResNetClassifier (or $XDG_CACHE_HOME), %LOCALAPPDATA%\ResNetClassifier\Cache,
    # ~/Library/Caches/ResNetClassifier
    return platformdirs.user_cache_path(APP_ID, appauthor=False) / "engines"


def cached_path(sha256: str, arch: str | None = None) -> Path:
    return cache_dir() / f"{sha256[:40]}-{arch or 'auto'}-v{FORMAT_VERSION}.onnx"


def cached_conversion(weights: str | os.PathLike, arch: str | None = None, sha256: str = "") -> tuple[Path, bool]:
    """``(onnx path, made now)``: the cached conversion of ``weights``, exported (with torch)
    only when missing. A weights file that does not load raises its WeightsError as usual."""
    sha256 = sha256 or file_sha256(weights)
    target = cached_path(sha256, arch)
    if target.is_file():
        return target, False
    from ..model.loading import load_model
    from .export import export_onnx

    export_onnx(load_model(weights, arch=arch), target, source_sha256=sha256)
    return target, True

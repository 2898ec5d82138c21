"""``.pt`` weights converted once into an engine model, kept in the user's cache folder and
found again by everything that goes into the conversion: the weights' SHA-256 (their sizes and
normalisation are inside), the bytes of every sidecar that can name the classes, the
architecture asked for, and the converter's version. The next run loads no torch at all."""

from __future__ import annotations

import hashlib
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


def conversion_key(weights: str | os.PathLike, sha256: str, arch: str | None = None) -> str:
    """A digest of the weights' hash, each sidecar beside them (its bytes, or absent: the class
    names baked into the engine model come from there), ``arch`` and :data:`FORMAT_VERSION`."""
    from ..model.class_names import sidecar_paths

    digest = hashlib.sha256(f"{sha256}\0{arch or 'auto'}\0v{FORMAT_VERSION}".encode())
    for sidecar in sidecar_paths(Path(weights)):
        try:
            data = sidecar.read_bytes() if sidecar.is_file() and sidecar.stat().st_size <= 10_000_000 else b"?"
        except OSError:
            data = b"?"
        digest.update(f"\0{sidecar.name}\0".encode() + (hashlib.sha256(data).digest() if sidecar.exists() else b"-"))
    return digest.hexdigest()


def cached_path(key: str, arch: str | None = None) -> Path:
    return cache_dir() / f"{key[:40]}-{arch or 'auto'}-v{FORMAT_VERSION}.onnx"


def cached_conversion(weights: str | os.PathLike, arch: str | None = None, sha256: str = "") -> tuple[Path, bool]:
    """``(onnx path, made now)``: the cached conversion of ``weights``, exported (with torch)
    only when missing. A weights file that does not load raises its WeightsError as usual.
    Temp files a killed conversion left in the cache are removed first."""
    from ..atomic import remove_stale_temps_in

    sha256 = sha256 or file_sha256(weights)
    target = cached_path(conversion_key(weights, sha256, arch), arch)
    remove_stale_temps_in(target.parent)
    if target.is_file():
        return target, False
    from ..model.loading import load_model
    from .export import export_onnx

    export_onnx(load_model(weights, arch=arch), target, source_sha256=sha256)
    return target, True

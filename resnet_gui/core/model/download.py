"""Downloading ImageNet weights through torchvision's weights API, with progress.

Files land where torch caches them (``torch.hub.get_dir()/checkpoints``), so a model
fetched by torchvision itself is reused and vice versa. Written through atomic_write,
so an interrupted download never leaves a half file in the cache.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from ..atomic import atomic_write

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total or 0 if unknown)
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")


class DownloadError(RuntimeError):
    """The weights could not be downloaded; the message says why and what to do."""


class DownloadCancelled(DownloadError):
    pass


def imagenet_weights(arch: str):
    """torchvision's default ImageNet weights enum member for ``arch`` (e.g. ResNet50_Weights.IMAGENET1K_V2)."""
    from torchvision.models import get_model_weights

    from .architectures import ARCH_NAMES

    if arch not in ARCH_NAMES:
        raise DownloadError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCH_NAMES)}")
    return get_model_weights(arch).DEFAULT


def cache_dir() -> Path:
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_imagenet_path(arch: str) -> Path:
    url = imagenet_weights(arch).url
    return cache_dir() / os.path.basename(urlparse(url).path)


def download_imagenet_weights(
    arch: str,
    progress: ProgressCallback | None = None,
    *,
    url: str | None = None,
    destination: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Return the path of ``arch``'s ImageNet weights, downloading them if not cached.

    ``url`` overrides torchvision's address (tests use a ``file://`` URL).
    """
    source = url or imagenet_weights(arch).url
    if destination is None:
        destination = cache_dir() / os.path.basename(urlparse(source).path)
    destination = Path(destination)
    if destination.is_file() and destination.stat().st_size > 0:
        return destination
    expected_hash = _HASH_IN_NAME.search(destination.name)
    try:
        response = urllib.request.urlopen(source, timeout=timeout)  # noqa: S310 - http(s) or file only
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason}"
        raise DownloadError(
            f"could not download {arch} ImageNet weights from {source}: {reason}. "
            "Check the internet connection, or download the file elsewhere and open it as a weights file."
        ) from None
    # An error below (cancel, short read, wrong hash) leaves nothing in the cache.
    with response, atomic_write(destination) as out:
        _copy(response, out, arch, expected_hash.group(1) if expected_hash else None, progress, should_stop)
    return destination


def _copy(response, out, arch: str, expected_hash: str | None, progress: ProgressCallback | None,
          should_stop: Callable[[], bool] | None) -> None:
    total = int(response.headers.get("Content-Length") or 0)
    digest = hashlib.sha256()
    done = 0
    while True:
        if should_stop and should_stop():
            raise DownloadCancelled("download cancelled")
        try:
            chunk = response.read(1 << 16)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"download of {arch} weights interrupted: {exc!r}") from None
        if not chunk:
            break
        out.write(chunk)
        digest.update(chunk)
        done += len(chunk)
        if progress:
            progress(done, total)
    if total and done != total:
        raise DownloadError(f"download of {arch} weights incomplete: {done} of {total} bytes")
    # torchvision names its files with the sha256 prefix, e.g. resnet18-f37072fd.pth
    if expected_hash and not digest.hexdigest().startswith(expected_hash):
        raise DownloadError(f"downloaded {arch} weights are corrupt (sha256 does not match the file name)")

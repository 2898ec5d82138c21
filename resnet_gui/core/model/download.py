"""Downloading ImageNet weights through torchvision's weights API, with progress.

Files land where torch caches them (``torch.hub.get_dir()/checkpoints``), so a model
fetched by torchvision itself is reused and vice versa. Written through atomic_write,
so an interrupted download never leaves a half file in the cache.

A URL is untrusted: only https is fetched (plain http only from this computer, for
tests), the size is capped, and the file must load strictly as the requested
architecture before it is moved into place.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlparse

from ..atomic import atomic_write

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total or 0 if unknown)
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")
MAX_DOWNLOAD_BYTES = 1 << 30  # resnet152 is 230 MB; anything past 1 GiB is not a ResNet
WEIGHTS_SUFFIXES = (".pth", ".pt", ".safetensors")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")  # plain http only here: a test server


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
    should_stop: Callable[[], bool] | None = None,
    **options,
) -> Path:
    """Return the path of ``arch``'s ImageNet weights, downloading them if not cached.
    ``options``: those of :func:`iter_download`."""
    steps = iter_download(arch, **options)
    while True:
        if should_stop and should_stop():
            steps.close()  # the temp file goes with it
            raise DownloadCancelled("download cancelled")
        try:
            done, total = next(steps)
        except StopIteration as finished:
            return finished.value
        if progress:
            progress(done, total)


def iter_download(
    arch: str,
    *,
    url: str | None = None,
    destination: Path | None = None,
    timeout: float = 30.0,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> Iterator[tuple[int, int]]:
    """Download ``arch``'s ImageNet weights, yielding ``(bytes done, bytes total or 0)`` after
    each chunk (a cancel point for the caller), returning the path (``yield from``'s value).

    ``url`` overrides torchvision's address (https, or http from localhost for tests).
    """
    source = url or imagenet_weights(arch).url
    check_url(source)
    if destination is None:
        destination = cache_dir() / os.path.basename(urlparse(source).path)
    destination = Path(destination)
    if not destination.name.lower().endswith(WEIGHTS_SUFFIXES) or destination.name.startswith("."):
        raise DownloadError(f"refused {_short(source)}: the file name must end in "
                            f"{', '.join(WEIGHTS_SUFFIXES)}, not {destination.name!r}")
    if destination.is_file() and destination.stat().st_size > 0:
        return destination
    expected_hash = _HASH_IN_NAME.search(destination.name)
    try:
        response = _OPENER.open(source, timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        raise DownloadError(
            f"could not download {arch} ImageNet weights from {_short(source)}: {_reason(exc, source)}. "
            "Check the internet connection, or download the file elsewhere and open it as a weights file."
        ) from None
    # An error below (cancel, short read, too big, wrong hash, not weights) leaves nothing in the cache.
    with response, atomic_write(destination) as out:
        yield from _copy(response, out, arch, expected_hash.group(1) if expected_hash else None, max_bytes)
        out.flush()
        _verify(Path(out.name), arch, destination.name)
    return destination


def check_url(source: str) -> None:
    """Refuse anything but https (and http to this computer): no file:, data:, ftp:, ..."""
    try:
        parts = urlparse(source)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:  # e.g. an unclosed [ipv6 bracket
        scheme = host = None
    if scheme == "https" or (scheme == "http" and host in _LOCAL_HOSTS):
        return
    raise DownloadError(f"refused {_short(source)}: only https:// addresses are downloaded")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect must not lead from https to plain http elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _build_opener() -> urllib.request.OpenerDirector:
    # Only the http(s) handlers: urlopen's default opener also reads file:, data: and ftp:.
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.UnknownHandler(), urllib.request.HTTPHandler(),
                    urllib.request.HTTPSHandler(), urllib.request.HTTPDefaultErrorHandler(), _CheckedRedirects(),
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


_OPENER = _build_opener()


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."


def _reason(exc: BaseException, source: str) -> str:
    """What went wrong, in words (not "[Errno -2] Name or service not known")."""
    host = urlparse(source).hostname or source
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    reason = getattr(exc, "reason", exc)  # URLError wraps the socket error
    if isinstance(reason, socket.gaierror):
        return f"no internet connection or the server cannot be found ({host})"
    if isinstance(reason, ConnectionRefusedError):
        return f"the server refused the connection ({host})"
    if isinstance(reason, TimeoutError):
        return f"no answer from the server ({host})"
    if isinstance(reason, ssl.SSLError):
        return f"the secure connection failed ({getattr(reason, 'reason', None) or reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _verify(tmp: Path, arch: str, name: str) -> None:
    """The finished temp file must load strictly as ``arch`` before it replaces anything."""
    from .checkpoint import WeightsError
    from .loading import load_model

    try:
        load_model(tmp, arch=arch)
    except WeightsError as exc:
        text = str(exc).replace(tmp.name, name)
        raise DownloadError(f"the downloaded file is not usable {arch} weights, nothing was kept ({text})") from None


def _copy(response, out, arch: str, expected_hash: str | None, max_bytes: int) -> Iterator[tuple[int, int]]:
    try:
        total = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        total = 0
    if total > max_bytes:  # refused before a byte is read
        raise DownloadError(f"refused: the file is {total / 1e6:.0f} MB, more than the {max_bytes / 1e6:.0f} MB limit")
    digest = hashlib.sha256()
    done = 0
    while True:
        try:
            chunk = response.read(1 << 16)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"download of {arch} weights interrupted: {_reason(exc, response.url)}") from None
        if not chunk:
            break
        done += len(chunk)
        if done > max_bytes:
            raise DownloadError(f"refused: the download passed the {max_bytes / 1e6:.0f} MB limit")
        out.write(chunk)
        digest.update(chunk)
        yield done, total
    if total and done != total:
        raise DownloadError(f"download of {arch} weights incomplete: {done} of {total} bytes")
    # torchvision names its files with the sha256 prefix, e.g. resnet18-f37072fd.pth
    if expected_hash and not digest.hexdigest().startswith(expected_hash):
        raise DownloadError(f"downloaded {arch} weights are corrupt (sha256 does not match the file name)")

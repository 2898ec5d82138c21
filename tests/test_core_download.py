"""ImageNet weight downloads, against a local http server on 127.0.0.1 only: https or
local http, a size cap, and the file verified as the requested architecture before use."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import pytest
import torch
import torchvision

from resnet_gui.core.model.checkpoint import ModelInfo, save_safetensors
from resnet_gui.core.model.download import (
    DownloadCancelled,
    DownloadError,
    cache_dir,
    cached_imagenet_path,
    check_url,
    download_imagenet_weights,
    imagenet_weights,
)
from resnet_gui.core.model.loading import load_model


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    """torch's cache goes to tmp_path; nothing in the real cache is touched."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    return home


def _hashed(path: Path, arch: str) -> Path:
    """Rename ``path`` the way torchvision names its files: arch-<sha256 prefix>.pth."""
    named = path.with_name(f"{arch}-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}{path.suffix}")
    path.rename(named)
    return named


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; under /nolength/ without a Content-Length header (size unknown up front)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.startswith("/nolength/"):
            return super().do_GET()
        body = (Path(self.directory) / self.path.removeprefix("/nolength/")).read_bytes()
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that stops early (size cap, cancel) resets the connection: expected here


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(folder, base URL): put files in folder, fetch them from base URL + name."""
    folder = tmp_path_factory.mktemp("server")
    httpd = _QuietServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def served(server):
    """A real 1000-class resnet18 state_dict named the way torchvision names its files."""
    torch.manual_seed(0)
    folder, base = server
    tmp = folder / "tmp.pth"
    torch.save(torchvision.models.resnet18().state_dict(), tmp)
    path = _hashed(tmp, "resnet18")
    return path, base + path.name


def _leftovers(folder: Path):
    """Temp files of an unfinished download (atomic_write names them .<name>.<random>.tmp)."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []


def _nothing_cached() -> bool:
    return not cache_dir().exists() or not list(cache_dir().iterdir())


def test_torchvision_weights_api():
    assert imagenet_weights("resnet50") == torchvision.models.ResNet50_Weights.DEFAULT
    assert cached_imagenet_path("resnet18").name == "resnet18-f37072fd.pth"
    with pytest.raises(DownloadError, match="unknown architecture"):
        imagenet_weights("resnet7")


def test_cache_is_where_torch_caches(torch_home):
    assert cache_dir() == torch_home / "hub" / "checkpoints"
    assert cached_imagenet_path("resnet34").parent == Path(torch.hub.get_dir()) / "checkpoints"


def test_download_over_local_http(served, torch_home):
    path, url = served
    calls = []
    got = download_imagenet_weights("resnet18", lambda done, total: calls.append((done, total)), url=url)
    assert got == torch_home / "hub" / "checkpoints" / path.name
    assert got.read_bytes() == path.read_bytes()
    size = path.stat().st_size
    assert calls and calls[-1] == (size, size)  # Content-Length known
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) > 1  # progress during, not only at the end
    assert not _leftovers(got.parent)
    assert got.stat().st_mode & 0o044 == 0o044 or os.umask(os.umask(0)) & 0o044  # not 0600 like mkstemp
    loaded = load_model(got)
    assert loaded.info.class_names_from == "imagenet" and loaded.info.arch == "resnet18"


def test_cached_file_is_reused(served):
    first = download_imagenet_weights("resnet18", url=served[1])
    calls = []
    again = download_imagenet_weights("resnet18", lambda d, t: calls.append(d), url=served[1])
    assert again == first and not calls


def test_http_404_and_no_length(served, server, tmp_path):
    path, url = served
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_imagenet_weights("resnet18", url=url + ".missing.pth", destination=tmp_path / "dl" / "x.pth")
    totals = set()
    got = download_imagenet_weights("resnet18", lambda d, t: totals.add(t), url=server[1] + "nolength/" + path.name,
                                    destination=tmp_path / "dl" / path.name)
    assert got.read_bytes() == path.read_bytes() and totals == {0}
    assert not _leftovers(tmp_path / "dl")


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "file:///tmp/resnet18-f37072fd.pth", "data:,hello", "data:application/octet-stream,x.pth",
    "ftp://example.com/resnet18.pth", "http://example.com/resnet18-f37072fd.pth",
    "http://127.0.0.1.evil.example/r.pth", "http://127.0.0.1@evil.example/r.pth", "javascript:alert(1)",
    "/etc/passwd", "http://[::1/r.pth",
])
def test_only_https_and_local_http_are_fetched(url):
    with pytest.raises(DownloadError, match="only https://") as err:
        download_imagenet_weights("resnet18", url=url)
    assert "\n" not in str(err.value)
    assert _nothing_cached()


def test_allowed_addresses():
    for url in ("https://download.pytorch.org/models/resnet18-f37072fd.pth", "http://localhost:8000/r.pth",
                "http://127.0.0.1/r.pth", "http://[::1]:80/r.pth", "HTTPS://Example.com/r.pth"):
        check_url(url)


@pytest.mark.parametrize("name", ["passwd", "resnet18.txt", "weights.pth.exe", ".pth", "x.pkl"])
def test_destination_must_be_a_weights_name(server, name):
    folder, base = server
    (folder / name).write_bytes(b"root:x:0:0")
    with pytest.raises(DownloadError, match="must end in .pth"):
        download_imagenet_weights("resnet18", url=base + name)
    assert _nothing_cached()


def test_redirect_to_file_or_plain_http_is_refused(monkeypatch, tmp_path):
    from resnet_gui.core.model import download

    for target in ("file:///etc/passwd", "http://example.com/r.pth"):
        with pytest.raises(DownloadError, match="only https://"):
            download._CheckedRedirects().redirect_request(None, None, 302, "Found", {}, target)


def test_size_cap(served, server, tmp_path):
    path, url = served
    dest = tmp_path / "cap" / path.name
    calls = []
    with pytest.raises(DownloadError, match="more than the 1 MB limit"):  # Content-Length says so up front
        download_imagenet_weights("resnet18", lambda d, t: calls.append(d), url=url, destination=dest,
                                  max_bytes=1_000_000)
    assert not calls
    with pytest.raises(DownloadError, match="passed the 1 MB limit"):  # no length: stopped while streaming
        download_imagenet_weights("resnet18", url=server[1] + "nolength/" + path.name, destination=dest,
                                  max_bytes=1_000_000)
    assert not dest.exists() and not _leftovers(dest.parent)


def test_content_is_verified_before_it_is_kept(server, tmp_path):
    folder, base = server
    torch.save(torchvision.models.resnet34(num_classes=3).state_dict(), folder / "other.pth")
    (folder / "garbage.pth").write_bytes(b"<html>not weights</html>" * 100)
    torch.save({"state_dict": {"x": torch.zeros(2)}}, folder / "resnet18-junk.pth")
    for name, why in (("other.pth", "these weights are a resnet34"), ("garbage.pth", "not a PyTorch weights file"),
                      ("resnet18-junk.pth", "not a ResNet")):
        with pytest.raises(DownloadError, match="not usable resnet18 weights, nothing was kept") as err:
            download_imagenet_weights("resnet18", url=base + name)
        assert name in str(err.value) and ".tmp" not in str(err.value)
        assert why.split()[0] in str(err.value)
    assert _nothing_cached()


def test_safetensors_download(server):
    folder, base = server
    model = torchvision.models.resnet18(num_classes=2)
    save_safetensors(folder / "r18.safetensors", model, ModelInfo("resnet18", ["cat", "dog"]))
    got = download_imagenet_weights("resnet18", url=base + "r18.safetensors")
    assert load_model(got).info.class_names == ["cat", "dog"]


def test_hash_mismatch_is_refused_and_nothing_kept(served, server):
    folder, base = server
    (folder / "resnet18-deadbeef.pth").write_bytes(served[0].read_bytes())
    with pytest.raises(DownloadError, match="corrupt"):
        download_imagenet_weights("resnet18", url=base + "resnet18-deadbeef.pth")
    assert _nothing_cached() and not _leftovers(cache_dir())


def test_refused_connection_is_a_clear_error(tmp_path):
    dest = tmp_path / "c" / "resnet18-f37072fd.pth"
    with pytest.raises(DownloadError) as err:
        download_imagenet_weights("resnet18", url="http://127.0.0.1:9/resnet18-f37072fd.pth",
                                  destination=dest, timeout=5)
    message = str(err.value)
    assert "could not download resnet18" in message and "internet connection" in message
    assert "refused the connection" in message and "Errno" not in message
    assert not dest.exists() and not _leftovers(dest.parent)


def test_offline_says_so_in_words(monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(DownloadError) as err:
        download_imagenet_weights("resnet18", url="https://download.example/resnet18-f37072fd.pth")
    message = str(err.value)
    assert "no internet connection or the server cannot be found (download.example)" in message
    assert "Errno" not in message and "-2" not in message
    assert _nothing_cached()


def test_cancel_leaves_no_partial_file(served, tmp_path):
    dest = tmp_path / "cancel" / served[0].name
    calls = []
    with pytest.raises(DownloadCancelled):
        download_imagenet_weights("resnet18", lambda d, t: calls.append(d), url=served[1],
                                  destination=dest, should_stop=lambda: len(calls) >= 2)
    assert not dest.exists() and not _leftovers(dest.parent)

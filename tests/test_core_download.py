"""ImageNet weight downloads, against local file:// and http://127.0.0.1 URLs only."""

from __future__ import annotations

import functools
import os
import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import torch
import torchvision

from resnet_gui.core.model.loading import load_model
from resnet_gui.core.model.download import (
    DownloadCancelled,
    DownloadError,
    cache_dir,
    cached_imagenet_path,
    download_imagenet_weights,
    imagenet_weights,
)


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    """torch's cache goes to tmp_path; nothing in the real cache is touched."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    return home


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real 1000-class resnet18 state_dict named the way torchvision names its files."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("server")
    tmp = folder / "tmp.pth"
    torch.save(torchvision.models.resnet18().state_dict(), tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"resnet18-{digest[:8]}.pth"
    tmp.rename(path)
    return path


def _leftovers(folder: Path):
    """Temp files of an unfinished download (atomic_write names them .<name>.<random>.tmp)."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []


def test_torchvision_weights_api():
    assert imagenet_weights("resnet50") == torchvision.models.ResNet50_Weights.DEFAULT
    assert cached_imagenet_path("resnet18").name == "resnet18-f37072fd.pth"
    with pytest.raises(DownloadError, match="unknown architecture"):
        imagenet_weights("resnet7")


def test_cache_is_where_torch_caches(torch_home):
    assert cache_dir() == torch_home / "hub" / "checkpoints"
    assert cached_imagenet_path("resnet34").parent == Path(torch.hub.get_dir()) / "checkpoints"


def test_download_from_file_url(served, torch_home):
    calls = []
    path = download_imagenet_weights("resnet18", lambda done, total: calls.append((done, total)),
                                     url=served.as_uri())
    assert path == torch_home / "hub" / "checkpoints" / served.name
    assert path.read_bytes() == served.read_bytes()
    size = served.stat().st_size
    assert calls and calls[-1] == (size, size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) > 1  # progress during, not only at the end
    assert not _leftovers(path.parent)
    loaded = load_model(path)
    assert loaded.info.class_names_from == "imagenet" and loaded.info.arch == "resnet18"


def test_cached_file_is_reused(served):
    first = download_imagenet_weights("resnet18", url=served.as_uri())
    calls = []
    again = download_imagenet_weights("resnet18", lambda d, t: calls.append(d), url=served.as_uri())
    assert again == first and not calls


def test_download_over_local_http(served, tmp_path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served.parent))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{served.name}"
        totals = set()
        path = download_imagenet_weights("resnet18", lambda d, t: totals.add(t), url=url,
                                         destination=tmp_path / "dl" / served.name)
        assert path.read_bytes() == served.read_bytes()
        assert totals == {served.stat().st_size}  # Content-Length known
        assert path.stat().st_mode & 0o044 == 0o044 or os.umask(os.umask(0)) & 0o044  # not 0600 like mkstemp
        with pytest.raises(DownloadError, match="HTTP 404"):
            download_imagenet_weights("resnet18", url=url + ".missing", destination=tmp_path / "dl" / "x.pth")
    finally:
        server.shutdown()
        server.server_close()
    assert not _leftovers(tmp_path / "dl")


def test_hash_mismatch_is_refused_and_nothing_kept(served, tmp_path):
    wrong = tmp_path / "src" / "resnet18-deadbeef.pth"
    wrong.parent.mkdir()
    wrong.write_bytes(served.read_bytes())
    with pytest.raises(DownloadError, match="corrupt"):
        download_imagenet_weights("resnet18", url=wrong.as_uri())
    dest = cache_dir()
    assert not (dest / wrong.name).exists()
    assert not _leftovers(dest)


def test_offline_is_a_clear_error(tmp_path):
    dest = tmp_path / "c" / "resnet18-f37072fd.pth"
    with pytest.raises(DownloadError) as err:
        download_imagenet_weights("resnet18", url="http://127.0.0.1:9/resnet18-f37072fd.pth",
                                  destination=dest, timeout=5)
    message = str(err.value)
    assert "could not download resnet18" in message and "internet connection" in message
    assert not dest.exists() and not _leftovers(dest.parent)


def test_missing_local_file_url(tmp_path):
    with pytest.raises(DownloadError, match="could not download"):
        download_imagenet_weights("resnet18", url=(tmp_path / "nope.pth").as_uri(),
                                  destination=tmp_path / "out" / "nope.pth")
    assert not _leftovers(tmp_path / "out")


def test_cancel_leaves_no_partial_file(served, tmp_path):
    dest = tmp_path / "cancel" / served.name
    calls = []
    with pytest.raises(DownloadCancelled):
        download_imagenet_weights("resnet18", lambda d, t: calls.append(d), url=served.as_uri(),
                                  destination=dest, should_stop=lambda: len(calls) >= 2)
    assert not dest.exists() and not _leftovers(dest.parent)

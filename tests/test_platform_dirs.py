"""Per-user folders come from platformdirs, one way for every platform (docs/packaging.md).

The Linux cases run everywhere the suite runs; the Windows and macOS cases run on CI's
windows-latest and macos-14 runners (.github/workflows/build.yml)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import platformdirs
import platformdirs.macos
import pytest

from resnet_gui.constants import APP_ID
from resnet_gui.core.engines.cache import cache_dir
from resnet_gui.resources import user_data_dir

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders are Linux's")
def test_linux_folders_follow_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RESNET_GUI_CACHE_DIR", raising=False)
    assert user_data_dir() == tmp_path / "data" / APP_ID
    assert user_data_dir().is_dir()  # created on first use: the log and models go straight in
    assert cache_dir() == tmp_path / "cache" / APP_ID / "engines"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders are Linux's")
def test_linux_defaults_without_xdg_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "RESNET_GUI_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert user_data_dir() == tmp_path / ".local" / "share" / APP_ID
    assert cache_dir() == tmp_path / ".cache" / APP_ID / "engines"


@pytest.mark.skipif(sys.platform != "win32", reason="runs on CI's Windows runner")
def test_windows_folders_are_local_app_data():
    local = Path(os.environ["LOCALAPPDATA"])
    assert user_data_dir() == local / APP_ID  # no author folder, not roaming
    assert cache_dir() == local / APP_ID / "Cache" / "engines"


@pytest.mark.skipif(sys.platform != "darwin", reason="runs on CI's macOS runner")
def test_macos_folders_are_library_ones():
    home = Path.home()
    assert user_data_dir() == home / "Library" / "Application Support" / APP_ID
    assert cache_dir() == home / "Library" / "Caches" / APP_ID / "engines"


def test_macos_layout_through_our_calls(tmp_path, monkeypatch):
    """Our calls (app name, no author) give macOS's layout when platformdirs picks its macOS
    rules, checked on any system (its Windows rules need Windows' own API, see the test above)."""
    monkeypatch.setattr(platformdirs, "PlatformDirs", platformdirs.macos.MacOS)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("RESNET_GUI_CACHE_DIR", raising=False)
    assert user_data_dir() == tmp_path / "Library" / "Application Support" / APP_ID
    assert cache_dir() == tmp_path / "Library" / "Caches" / APP_ID / "engines"


def test_no_hand_written_per_user_folders():
    """One way to find a per-user folder: no module spells a platform's folder itself."""
    pattern = re.compile(r"LOCALAPPDATA|APPDATA\"|XDG_(DATA|CACHE|CONFIG|STATE)_HOME|Application Support\"|"
                         r"\"Library\"|\.local/share|\"\.cache\"")
    offenders = []
    for path in sorted((ROOT / "resnet_gui").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if pattern.search(code) and '"""' not in code and "``" not in code:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, offenders

"""Before the window on Linux: a missing xcb library gives one apt-get line and exit 1, not a core dump."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from resnet_gui.gui import platform_check

REPO = Path(__file__).resolve().parents[1]
X11 = {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}


def test_a_missing_library_names_the_apt_package(monkeypatch):
    monkeypatch.setitem(platform_check.XCB_LIBRARIES, "libresnet-gui-absent.so.7", "libresnet-gui-absent7")
    line = platform_check.xcb_problem(X11, "linux")
    assert line.endswith("sudo apt-get install libresnet-gui-absent7")
    assert "\n" not in line


def test_libraries_that_load_are_not_listed(monkeypatch):
    monkeypatch.setattr(platform_check, "XCB_LIBRARIES", {"libc.so.6": "libc6"})
    assert platform_check.xcb_problem(X11, "linux") == ""
    assert "DISPLAY" in platform_check.xcb_problem({"QT_QPA_PLATFORM": "xcb"}, "linux")


def test_only_when_qt_would_use_xcb():
    assert platform_check.uses_xcb({"DISPLAY": ":0"}, "linux")
    assert platform_check.uses_xcb({"QT_QPA_PLATFORM": "xcb:no-glx"}, "linux")
    assert not platform_check.uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not platform_check.uses_xcb({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not platform_check.uses_xcb({"DISPLAY": ":0"}, "darwin")


def test_the_command_exits_1_with_one_line(tmp_path):
    """The real entry point in a fresh process, with one library made missing."""
    code = ("import sys; from resnet_gui.gui import platform_check as p; "
            "p.XCB_LIBRARIES['libresnet-gui-absent.so.7'] = 'libresnet-gui-absent7'; "
            "from resnet_gui.cli import main; sys.exit(main([]))")
    env = {**os.environ, **X11, "HOME": str(tmp_path)}
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "The window needs system libraries that are missing here: sudo apt-get install libresnet-gui-absent7"]

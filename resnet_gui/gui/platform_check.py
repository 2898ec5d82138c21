"""Before the QApplication on Linux: are the system libraries Qt's X11 (xcb) platform needs there?

Without them Qt prints a long message and aborts the process (exit 134, a core dump). This
looks first and returns one line with the exact ``apt-get install`` command instead.
"""

from __future__ import annotations

import ctypes
import os
import sys

# what PySide6's libqxcb.so links to beyond Qt itself (ldd), with the Debian/Ubuntu package
# that ships each; libxcb-cursor0 is the one a fresh desktop install most often lacks
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(environ=os.environ, platform: str = sys.platform) -> bool:
    """Qt will pick its X11 platform: Linux, no other platform asked for, not a Wayland session."""
    if not platform.startswith("linux"):
        return False
    wanted = environ.get("QT_QPA_PLATFORM", "")
    if wanted:
        return wanted.split(";")[0].split(":")[0] == "xcb"
    return not environ.get("WAYLAND_DISPLAY")


def missing_libraries(libraries: dict[str, str] | None = None) -> list[str]:
    """The Debian packages of the libraries that cannot be loaded, in order, each once."""
    packages: list[str] = []
    for soname, package in (XCB_LIBRARIES if libraries is None else libraries).items():
        if not _loadable(soname) and package not in packages:
            packages.append(package)
    return packages


def xcb_problem(environ=os.environ, platform: str = sys.platform) -> str:
    """One line saying what to install (or that there is no display); "" when Qt can start."""
    if not uses_xcb(environ, platform):
        return ""
    packages = missing_libraries()
    if packages:
        return ("The window needs system libraries that are missing here: "
                f"sudo apt-get install {' '.join(packages)}")
    if not environ.get("DISPLAY"):
        return ("No display to open the window on (DISPLAY is not set): start it from a desktop session, "
                "or use the command line (resnet-gui classify -h).")
    return ""

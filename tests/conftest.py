"""Shared fixtures: small real models and real image files made in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt runs without a screen in tests; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# ../shared/data beside the checkout, or wherever RESNET_GUI_SHARED_DATA points
SHARED_DATA = Path(os.environ.get("RESNET_GUI_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture(scope="session", autouse=True)
def engine_cache(tmp_path_factory) -> Path:
    """Engine conversions of .pt weights (the window converts on the CPU) go to the tests' own
    cache, never the user's; one per session, so each tiny model is converted once."""
    folder = tmp_path_factory.mktemp("engine-cache")
    os.environ["RESNET_GUI_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(autouse=True)
def unfrozen_heap():
    """The window freezes the heap once a model loads (gui/heap.py): one app, one freeze. A test
    session opens hundreds of windows, so each test gives the collector everything back."""
    yield
    import gc

    gc.unfreeze()


@pytest.fixture
def settings(tmp_path):
    """The window's settings in a throwaway INI file (never the user's)."""
    from PySide6.QtCore import QSettings

    from resnet_gui.gui.settings import AppSettings

    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A random-initialised resnet18 with 3 classes saved as a plain state_dict, with a
    class_indices.json sidecar like the classic tutorial writes."""
    import json

    import torch
    import torchvision

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("weights")
    model = torchvision.models.resnet18(num_classes=3)
    path = folder / "tiny.pth"
    torch.save(model.state_dict(), path)
    (folder / "class_indices.json").write_text(json.dumps({"0": "red", "1": "green", "2": "blue"}))
    return path


@pytest.fixture
def make_images(tmp_path):
    """make_images(n, size=(64, 48), folder=...) -> list of real JPEG/PNG files of varied colours."""
    from PIL import Image

    def make(n: int = 4, size=(64, 48), folder: Path | None = None, fmt: str = "png") -> list[Path]:
        folder = folder or tmp_path / "images"
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for i in range(n):
            colour = ((i * 67) % 256, (i * 131) % 256, (i * 197) % 256)
            img = Image.new("RGB", size, colour)
            for x in range(0, size[0], 8):  # some structure so the network sees edges
                img.paste((255 - colour[0], colour[1], 255 - colour[2]), (x, 0, x + 3, size[1]))
            path = folder / f"img_{i:03d}.{fmt}"
            img.save(path)
            files.append(path)
        return files

    return make

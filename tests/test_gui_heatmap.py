"""Issue 16 item 3 in the window: the preview's *Heatmap* toggle and opacity slider; the
Grad-CAM of the class chosen in the top-k chart (a click on a bar), computed in the background,
cached per (photo, class); a bare .onnx model says heatmaps need the .pt weights. Real tiny
resnet18 models, real image files, real widgets (offscreen)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from resnet_gui.core.infer import Prediction
from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
from resnet_gui.core.model.loading import load_model
from resnet_gui.gui.classify.heatmap import HeatmapImages
from resnet_gui.gui.classify.heatmap_jobs import NEEDS_WEIGHTS, HeatmapModels, HeatmapReady, HeatmapUnavailable, heatmap
from resnet_gui.gui.classify.page import ClassifyPage
from resnet_gui.gui.classify.preview import PreviewPane
from resnet_gui.gui.thumbnails import Thumbnails

WAIT = 60_000
CLASSES = ["daisy", "rose", "tulip"]


def never() -> bool:
    return False


@pytest.fixture
def model(tmp_path) -> Path:
    import torch
    import torchvision

    torch.manual_seed(1)
    info = ModelInfo("resnet18", CLASSES, image_size=64, resize_size=72)
    return save_checkpoint(tmp_path / "models" / "flowers.pt", torchvision.models.resnet18(num_classes=3), info)


@pytest.fixture
def page(qtbot, settings):
    page = ClassifyPage(settings)
    page.state.device = "cpu"
    wiring = page.trust
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    yield page
    page.close()
    assert wiring.shutdown() and page.shutdown()


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = [np.frombuffer(bytes(image.constScanLine(y))[: 3 * image.width()], dtype=np.uint8)
            for y in range(image.height())]
    return np.stack(rows).reshape(image.height(), image.width(), 3).astype(int)


def test_the_toggle_overlays_a_heatmap_in_the_background_and_a_bar_click_changes_it(qtbot, page, model,
                                                                                   make_images):
    photos = make_images(3, size=(120, 90))
    with qtbot.waitSignal(page.model_loaded, timeout=WAIT):
        page.use_model(model)
    with qtbot.waitSignal(page.run_finished, timeout=WAIT):
        page.classify([str(p) for p in photos])
    preview = page.preview
    page.results.select_row(0)
    item = preview._item
    qtbot.waitUntil(lambda: preview._photo is not None, timeout=WAIT)
    plain = preview.image.pixmap().toImage()

    preview.heatmap_bar.toggle.setChecked(True)
    # the click returned at once: the map is computed in the background, the photo stays meanwhile
    assert preview.heatmaps.pending == (item.path, item.label)
    # what it waits for: the weights' first read (torch is imported already in this process)
    assert preview.heatmap_images() is None
    assert preview.heatmap_bar.status.text() == f"reading the weights for the heatmap of {item.label}…"
    assert preview.heatmap_bar.slider.isEnabled()
    assert preview.chart.chosen_bar() == item.label  # default: the top-1
    qtbot.waitUntil(lambda: preview.heatmap_images() is not None, timeout=WAIT)
    top1 = preview.heatmap_images()
    assert preview.heatmap_bar.status.text() == f"what made it say {item.label}"
    shown = preview.image.pixmap().toImage()
    assert shown.size() == plain.size() and _pixels(shown).tolist() != _pixels(plain).tolist()

    # the opacity slider blends in the GUI thread, no new job: 0 is the photo itself
    preview.heatmap_bar.slider.setValue(0)
    assert preview.heatmaps.pending is None  # no job started
    assert np.abs(_pixels(top1.blended(0.0).toImage()) - _pixels(top1.photo)).max() == 0
    preview.heatmap_bar.slider.setValue(80)

    # another class: a click on its bar
    other = item.topk[1][0]
    qtbot.mouseClick(preview.chart.viewport(), Qt.MouseButton.LeftButton, pos=preview.chart.bar_centre(other))
    assert preview.heatmap_class() == other and preview.chart.chosen_bar() == other
    assert preview.heatmap_bar.status.text() == f"computing the heatmap of {other}…"
    qtbot.waitUntil(lambda: preview.heatmap_images() is not None, timeout=WAIT)
    second = preview.heatmap_images()
    assert second is not top1 and _pixels(second.heat).tolist() != _pixels(top1.heat).tolist()
    assert preview.heatmap_bar.status.text() == f"what made it say {other}"

    # back to the top-1: from the cache, at once, no job
    qtbot.mouseClick(preview.chart.viewport(), Qt.MouseButton.LeftButton, pos=preview.chart.bar_centre(item.label))
    assert preview.heatmap_images() is top1 and preview.heatmaps.pending is None

    # off: the plain photo again
    preview.heatmap_bar.toggle.setChecked(False)
    assert preview.heatmap_images() is None and preview.chart.chosen_bar() == ""
    assert _pixels(preview.image.pixmap().toImage()).tolist() == _pixels(plain).tolist()


def test_the_window_blend_matches_the_core_overlay(model, make_images):
    from resnet_gui.core.review.cam import explain, overlay

    photo = make_images(1, size=(150, 100))[0]
    ready = heatmap(HeatmapModels(), str(model), str(photo), "rose", should_stop=never)
    assert isinstance(ready, HeatmapReady) and ready.class_name == "rose"
    maps = HeatmapImages.of(ready)
    core = np.asarray(overlay(explain(load_model(model), photo, "rose"), 0.5)).astype(int)
    window = _pixels(maps.blended(0.5).toImage())
    assert window.shape == core.shape
    assert np.abs(window - core).max() <= 2  # QPainter's 8-bit opacity vs numpy's rounding


def test_heatmap_job_reads_the_weights_once_and_explains_unreadable_input(model, tmp_path, make_images):
    photo = make_images(1)[0]
    models = HeatmapModels()
    first = heatmap(models, str(model), str(photo), "daisy", should_stop=never)
    loaded = models.loaded
    heatmap(models, str(model), str(photo), "tulip", should_stop=never)
    assert isinstance(first, HeatmapReady) and models.loaded is loaded  # read once
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    bad = heatmap(models, str(model), str(broken), "daisy", should_stop=never)
    assert isinstance(bad, HeatmapUnavailable) and bad.message.startswith("no heatmap: ")
    assert heatmap(models, str(model), str(photo), "daisy", should_stop=lambda: True) is None
    onnx = heatmap(HeatmapModels(), str(tmp_path / "flowers.onnx"), str(photo), "daisy", should_stop=never)
    assert isinstance(onnx, HeatmapUnavailable) and onnx.message == NEEDS_WEIGHTS


def test_an_onnx_model_says_heatmaps_need_the_pt_weights(qtbot, make_images, tmp_path):
    photo = make_images(1)[0]
    thumbnails = Thumbnails()
    preview = PreviewPane(thumbnails)
    qtbot.addWidget(preview)
    preview.show()
    info = ModelInfo("resnet18", CLASSES, source=str(tmp_path / "flowers.onnx"))
    preview.set_model(info)
    assert preview.trust_hint.isVisible() and "Calibrate…" not in preview.trust_hint.text()
    assert "calibrate the .pt weights" in preview.trust_hint.text()
    preview.show_item(Prediction(0, str(photo), topk=[("rose", 0.7), ("daisy", 0.2)]))
    preview.heatmap_bar.toggle.setChecked(True)
    qtbot.waitUntil(lambda: preview.heatmap_bar.status.text() == NEEDS_WEIGHTS, timeout=WAIT)
    assert preview.heatmap_images() is None
    assert preview.shutdown() and thumbnails.shutdown()


def test_the_first_heatmap_says_it_waits_for_pytorch(qtbot, monkeypatch):
    """The CPU engines never import torch, so the first heatmap's seconds go to importing it: said so."""
    import sys

    from resnet_gui.gui.classify.heatmap import Heatmaps

    maps = Heatmaps()
    maps.set_source("model.pt")
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert maps.waiting_for("daisy") == "loading PyTorch for the heatmap of daisy (the first takes several seconds)…"
    monkeypatch.undo()
    import torch  # noqa: F401 - what the first heatmap job does
    assert maps.waiting_for("daisy") == "reading the weights for the heatmap of daisy…"
    maps.models.key = ("model.pt", 1, 2)
    assert maps.waiting_for("daisy") == "computing the heatmap of daisy…"

"""Issue 16 in the window: "not one of my classes" (the "?" badge in the table and the grid, the
*Unknown only* filter, the preview's title), the hint and *Calibrate…* for a model without that
data, and honest confidence (what is shown is the core's probability at the model's
temperature). Real tiny resnet18 models, real image files, real widgets (offscreen)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
from resnet_gui.core.model.loading import load_model
from resnet_gui.core.trust.record import TrustInfo
from resnet_gui.gui.calibrate_dialog import CalibrateDialog, free_calibrated_path
from resnet_gui.gui.classify.page import ClassifyPage
from resnet_gui.gui.classify.results import COL_CONFIDENCE, COL_LABEL, ResultsFilter
from resnet_gui.gui.classify.trust_wiring import TrustWiring
from resnet_gui.gui.unknown_badge import UNKNOWN_COLOUR, score_text
from resnet_gui.gui.results_model import COL_GRID, UNKNOWN_ROLE

WAIT = 60_000
CLASSES = ["blue", "green", "red"]
TEMPERATURE = 2.5


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _logits(model_path: Path, files: list[Path]) -> np.ndarray:
    """The model's raw logits for ``files``, through the one eval transform, by plain torch."""
    import torch

    from resnet_gui.core.infer import preprocess

    loaded = load_model(model_path)
    info = loaded.info
    x = torch.stack([preprocess(f, info) for f in files]).float()
    mean = torch.tensor(info.mean).view(1, 3, 1, 1) * 255
    std = torch.tensor(info.std).view(1, 3, 1, 1) * 255
    with torch.inference_mode():
        return loaded.model.eval()((x - mean) / std).numpy()


@pytest.fixture
def photos(make_images, tmp_path) -> list[Path]:
    return make_images(8, size=(64, 48), folder=tmp_path / "photos")


@pytest.fixture
def plain_model(tmp_path) -> Path:
    import torch
    import torchvision

    torch.manual_seed(0)
    info = ModelInfo("resnet18", CLASSES, image_size=32, resize_size=36)
    return save_checkpoint(tmp_path / "models" / "plain.pt", torchvision.models.resnet18(num_classes=3), info)


@pytest.fixture
def trusted_model(plain_model, photos, tmp_path) -> tuple[Path, np.ndarray]:
    """The plain model with trust data: energy scores, a threshold at the photos' median score
    (half of them are unknown), a temperature; returns (path, the photos' scores)."""
    from resnet_gui.core.trust.scores import energy_score

    logits = _logits(plain_model, photos)
    scores = energy_score(logits)
    threshold = float(np.median(scores))
    loaded = load_model(plain_model)
    loaded.info.trust = TrustInfo(method="energy", threshold=threshold, temperature=TEMPERATURE, photos=40,
                                  pass_rate=0.95, fitted_on="a test")
    path = save_checkpoint(tmp_path / "models" / "trusted.pt", loaded.model, loaded.info)
    return path, scores


@pytest.fixture
def page(qtbot, settings):
    page = ClassifyPage(settings)
    page.state.device = "cpu"
    wiring = page.trust
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    yield page
    page.close()
    assert wiring.shutdown() and page.shutdown()


def wiring_of(page) -> TrustWiring:
    return page.findChild(TrustWiring)


def load_and_classify(qtbot, page, model: Path, files: list[Path]) -> None:
    with qtbot.waitSignal(page.model_loaded, timeout=WAIT):
        page.use_model(model)
    with qtbot.waitSignal(page.run_finished, timeout=WAIT):
        page.classify([str(f) for f in files])


def _has_colour(image: QImage, colour: str, rect) -> bool:
    want = QColor(colour)
    for x in range(rect.left(), rect.right()):
        for y in range(rect.top(), rect.bottom()):
            c = image.pixelColor(x, y)
            if abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) < 30:
                return True
    return False


def test_unknown_photos_get_a_badge_a_filter_and_a_title(qtbot, page, trusted_model, photos):
    model, scores = trusted_model
    load_and_classify(qtbot, page, model, photos)
    items = page.result_items()
    assert len(items) == len(photos)
    by_name = {Path(item.path).name: item for item in items}
    expected_unknown = {p.name for p, s in zip(photos, scores) if s > page.model.trust.threshold}
    assert 0 < len(expected_unknown) < len(photos)
    assert {name for name, item in by_name.items() if item.unknown} == expected_unknown
    assert all(item.ood_score == pytest.approx(float(s), rel=1e-4, abs=1e-4)
               for item, s in zip(sorted(items, key=lambda i: i.index), scores))
    assert not page.preview.trust_hint.isVisible()  # the model has the data

    # the table: a "?" badge on the label of unknown rows only, said in the tooltip too
    results = page.results.model
    for row in range(results.rowCount()):
        item = results.item(row)
        badge = results.data(results.index(row, COL_LABEL), Qt.ItemDataRole.DecorationRole)
        tip = results.data(results.index(row, COL_LABEL), Qt.ItemDataRole.ToolTipRole)
        assert (badge is not None and not badge.isNull()) == bool(item.unknown)
        assert ("Not one of this model" in tip) == bool(item.unknown)

    # the filter: Unknown only
    panel = page.results
    panel.show_combo.setCurrentIndex(ResultsFilter.SHOW_UNKNOWN)
    assert panel.show_combo.currentText().startswith("Unknown")
    shown = panel.visible_items()
    assert {Path(i.path).name for i in shown} == expected_unknown
    assert panel.count_text() == f"Results ({len(expected_unknown)} of {len(photos)})"

    # the preview's title says it, with the score
    panel.select_row(0)
    qtbot.waitUntil(lambda: page.preview._item is not None and page.preview._item.unknown)
    title = page.preview.title.text()
    assert "not one of this model's classes (out-of-class score" in title
    assert f"{score_text(page.preview._item.ood_score)}; this model's limit {score_text(page.model.trust.threshold)})" \
        in title
    panel.show_combo.setCurrentIndex(ResultsFilter.SHOW_ALL)
    known = next(i for i in items if not i.unknown)
    page.preview.show_item(known)
    assert "not one of" not in page.preview.title.text() and f"{known.confidence:.1%}" in page.preview.title.text()

    # the grid: a violet "?" at the top left of unknown cells only
    grid = page.loop.grid
    page.loop.show_view(1)
    qtbot.waitUntil(lambda: grid.model().rowCount() == len(photos))
    grid.resize(900, 600)
    shot = grid.viewport().grab().toImage()
    for row in range(grid.model().rowCount()):
        index = grid.model().index(row, COL_GRID)
        rect = grid.visualRect(index)
        corner = rect.adjusted(2, 2, -(rect.width() - 28), -(rect.height() - 24))
        unknown = bool(grid.model().item(row).unknown)
        assert index.data(UNKNOWN_ROLE) is unknown
        if rect.bottom() < shot.height():
            assert _has_colour(shot, UNKNOWN_COLOUR, corner) == unknown, grid.caption(row)


def test_shown_confidence_is_the_core_probability_at_the_temperature(qtbot, page, trusted_model, photos):
    model, _ = trusted_model
    load_and_classify(qtbot, page, model, photos)
    logits = _logits(model, photos)
    scaled = np.exp(logits / TEMPERATURE - (logits / TEMPERATURE).max(1, keepdims=True))
    scaled /= scaled.sum(1, keepdims=True)
    raw = np.exp(logits - logits.max(1, keepdims=True))
    raw /= raw.sum(1, keepdims=True)
    results = page.results.model
    for row in range(results.rowCount()):
        item = results.item(row)
        i = item.index
        assert item.confidence == pytest.approx(scaled[i].max(), abs=1e-5)
        assert abs(scaled[i].max() - raw[i].max()) > 1e-3  # the temperature changes the number...
        # ...and the window shows the core's number, not one of its own
        assert results.data(results.index(row, COL_CONFIDENCE)) == f"{item.confidence:.1%}"
        page.preview.show_item(item)
        bars = page.preview.chart.bars()
        assert [label for label, _ in bars] == [label for label, _ in item.topk[:len(bars)]]
        assert [p for _, p in bars] == pytest.approx([p for _, p in item.topk[:len(bars)]], abs=1e-6)


def test_a_model_without_the_data_shows_the_hint_and_no_badge(qtbot, page, plain_model, photos):
    load_and_classify(qtbot, page, plain_model, photos)
    hint = page.preview.trust_hint
    assert hint.isVisible()
    assert "Out-of-class detection not available for this model" in hint.text() and "Calibrate…" in hint.text()
    assert all(item.unknown is None and item.ood_score is None for item in page.result_items())
    results = page.results.model
    assert all(results.data(results.index(r, COL_LABEL), Qt.ItemDataRole.DecorationRole) is None
               for r in range(results.rowCount()))
    page.results.show_combo.setCurrentIndex(ResultsFilter.SHOW_UNKNOWN)
    assert page.results.visible_items() == []
    # the link opens the dialog for this model, on the session's dataset (the Label page sets it)
    page.state.data_dir = "/some/dataset"
    hint.linkActivated.emit("calibrate")
    dialog = wiring_of(page).dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.weights == str(plain_model) and dialog.folder_edit.text() == "/some/dataset"
    dialog.reject()


def _labeled_folder(root: Path, make_images, per_class_train: int = 4, per_class_val: int = 7,
                    classes=CLASSES) -> Path:
    for split, n in (("train", per_class_train), ("val", per_class_val)):
        for c, name in enumerate(classes):
            make_images(n + c, size=(40, 40), folder=root / split / name)  # c: varied images across classes
    return root


def test_calibrate_dialog_writes_a_new_file_and_leaves_the_model_untouched(qtbot, page, plain_model, photos,
                                                                         make_images, tmp_path):
    folder = _labeled_folder(tmp_path / "labeled", make_images)
    load_and_classify(qtbot, page, plain_model, photos[:2])
    before = _sha(plain_model)
    earlier = free_calibrated_path(plain_model)
    earlier.write_bytes(b"an earlier calibration the user keeps")
    dialog = wiring_of(page).open_calibrate()
    dialog.folder_edit.setText(str(folder))
    assert dialog.out_label.text().startswith("plain.calibrated-2.pt")
    dialog.start_button.click()
    assert dialog.running and not dialog.start_button.isEnabled()  # the work is in the background
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
    assert dialog.out is not None, dialog.message.text()
    out = dialog.out
    assert out == plain_model.with_name("plain.calibrated-2.pt") and out.is_file()
    assert _sha(plain_model) == before  # the model itself is untouched...
    assert earlier.read_bytes() == b"an earlier calibration the user keeps"  # ...and so is the earlier file
    trust = load_model(out).info.trust
    assert trust is not None and trust.photos == sum(7 + c for c in range(3))
    assert "Wrote plain.calibrated-2.pt" in dialog.message.text() and dialog.use_button.isVisible()
    # opening it converts it and loads the teacher its trust data needs, while its int8 twin is
    # being made beside it: slower than a plain open on 2 busy cores
    with qtbot.waitSignal(page.model_loaded, timeout=3 * WAIT):
        dialog.use_button.click()
    assert page.model.source == str(out) and page.model.trust is not None
    assert not page.preview.trust_hint.isVisible()


def test_calibrate_refuses_a_folder_of_other_classes_in_one_line(qtbot, plain_model, make_images, tmp_path):
    folder = _labeled_folder(tmp_path / "pets", make_images, classes=["cat", "dog", "red"])
    dialog = CalibrateDialog(str(plain_model), str(folder), "cpu")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
    text = dialog.message.text()
    assert text.startswith("Cannot calibrate: the folder's classes do not match the model's")
    assert "blue, green, red" in text and "cat, dog, red" in text and "\n" not in text
    assert dialog.out is None and not dialog.use_button.isVisible()
    assert sorted(p.name for p in plain_model.parent.iterdir()) == ["plain.pt"]  # nothing written
    assert dialog.shutdown()


def test_calibrate_dialog_names_an_unnamed_model_and_keeps_its_form_on_a_long_error(qtbot, make_images, tmp_path):
    import torch
    import torchvision

    torch.manual_seed(0)
    info = ModelInfo("resnet18", ["class 0", "class 1", "class 2"], image_size=32, resize_size=36)
    unnamed = save_checkpoint(tmp_path / "models" / "unnamed.pt", torchvision.models.resnet18(num_classes=3), info)
    many = tmp_path / "many"
    for i in range(30):  # a long error: both class lists
        make_images(2, size=(40, 40), folder=many / f"a long class name {i}")
    dialog = CalibrateDialog(str(unnamed), str(many), "cpu")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
    assert dialog.message.text().startswith("Cannot calibrate: the folder's classes do not match")
    for widget in (dialog.folder_edit, dialog.out_label):  # the form is not squashed by the long message
        assert widget.height() >= widget.sizeHint().height(), widget
    dialog.folder_edit.setText(str(_labeled_folder(tmp_path / "labeled", make_images)))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT)
    assert "it now uses the folder's names, in order: blue, green, red." in dialog.message.text()
    assert load_model(dialog.out).info.class_names == CLASSES
    assert dialog.shutdown()


def test_scores_are_shown_at_their_scale():
    assert score_text(3502.6) == "3,503" and score_text(0.82314) == "0.823" and score_text(-12.345) == "-12.3"


def test_free_calibrated_path_never_names_an_existing_file(tmp_path):
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"x")
    assert free_calibrated_path(model) == tmp_path / "m.calibrated.pt"
    (tmp_path / "m.calibrated.pt").write_bytes(b"x")
    (tmp_path / "m.calibrated-2.pt").write_bytes(b"x")
    assert free_calibrated_path(model) == tmp_path / "m.calibrated-3.pt"

"""Issue 16 item 4 in the window: the Review page reviews a real labeled folder in the
background (the core's review_folder), lists the planted mislabeled photo and the planted
duplicates, and moves photos as journaled batches that Undo brings back. Real tiny resnet18,
real files, real widgets (offscreen)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, Qt

from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
from resnet_gui.gui.dataset_review.jobs import removed_folder
from resnet_gui.gui.dataset_review.page import UNLIKE_HINT, DatasetReviewPage
from resnet_gui.gui.dataset_review.views import LEAK_TEXT

WAIT = 120_000
COLOURS = {"blue": (30, 40, 210), "red": (210, 30, 30)}


def _photo(path: Path, colour, seed: int) -> Path:
    """The class colour over a random 8x8 block pattern of its own (no two photos alike)."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = np.random.default_rng(seed).integers(0, 256, (8, 8, 3))
    pattern = np.kron(blocks, np.ones((5, 5, 1)))
    pixels = 0.6 * np.array(colour)[None, None, :] + 0.4 * pattern
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(path)
    return path


@pytest.fixture
def dataset(tmp_path) -> tuple[Path, Path, Path]:
    """blue/ and red/ with 14 photos each, one blue photo in red/ and an exact copy of a red photo;
    returns (root, the planted blue photo, the copy)."""
    root = tmp_path / "dataset"
    for name, colour in COLOURS.items():
        for i in range(14):
            _photo(root / name / f"{name}_{i:02d}.png", colour, {"blue": 1000, "red": 2000}[name] + i)
    planted = _photo(root / "red" / "planted_blue.png", COLOURS["blue"], 99)
    copy = root / "red" / "red_copy.png"
    shutil.copyfile(root / "red" / "red_05.png", copy)
    return root, planted, copy


@pytest.fixture
def model(tmp_path) -> Path:
    import torch
    import torchvision

    torch.manual_seed(0)
    info = ModelInfo("resnet18", ["blue", "red"], image_size=32, resize_size=36)
    return save_checkpoint(tmp_path / "models" / "colours.pt", torchvision.models.resnet18(num_classes=2), info)


@pytest.fixture
def page(qtbot, settings, dataset, model, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))  # the saved reviews land here
    settings.data_dir = str(dataset[0])
    page = DatasetReviewPage(settings)
    page.weights_provider = lambda: str(model)
    page.state.device = "cpu"
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    yield page
    page.close()
    assert page.shutdown()


def _review(qtbot, page) -> None:
    page.start()
    assert page.cancel_button.isVisible() and not page.review_button.isEnabled()  # in the background
    qtbot.waitUntil(lambda: page._task is None, timeout=WAIT)


def _select(page, path: Path, photos=None) -> None:
    """Select ``path`` in a list of photos (the mislabeled one) and show its tab: the actions
    apply to the tab shown."""
    photos = photos or page.mislabeled
    page.tabs.setCurrentIndex(page.tabs.indexOf(photos if photos is page.mislabeled else photos.parentWidget()))
    model = photos.model_
    row = next(i for i, item in enumerate(model.items) if item.path == str(path))
    photos.selectionModel().select(model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)


def _wait_files(qtbot, page) -> None:
    qtbot.waitUntil(lambda: page._files_task is None, timeout=WAIT)


def test_review_lists_the_planted_problems_and_moves_are_undoable(qtbot, page, dataset):
    root, planted, copy = dataset
    assert page.data_dir == str(root)  # the Label page's dataset by default
    _review(qtbot, page)
    report = page.report
    assert report is not None, page.status.text()
    assert page.status.text() == report.summary()

    # likely mislabeled: the blue photo in red/, suggested blue
    items = page.mislabeled.model_.items
    assert [i.path for i in items] == [i.path for i in report.issues]
    found = next(i for i in items if i.path == str(planted))
    assert (found.given, found.suggested) == ("red", "blue")
    row = items.index(found)
    caption = page.mislabeled.model_.data(page.mislabeled.model_.index(row))
    assert caption.startswith("red \u2192 blue\nscore ")
    assert page.tabs.tabText(0) == f"Likely mislabeled ({len(items)})"
    # a model without out-of-class data: the tab says so instead of listing nothing
    assert page.tabs.tabText(1) == "Unlike any class (\u2013)" and not page.unlike.model_.items
    assert page.unlike_note.text().startswith("Out-of-class detection: not available for this model")

    # duplicates: the exact copy and its original in one group
    groups = [sorted(Path(p).name for p in g.paths) for g in report.duplicates]
    assert ["red_05.png", "red_copy.png"] in groups
    titles = page.duplicates.group_titles()
    assert any("exact copies" in t for t in titles)
    leaking = [g for g in report.duplicates if g.leaks]
    assert page.leak_banner.isVisible() == bool(leaking)
    assert sum(LEAK_TEXT in t for t in titles) == len(leaking)

    # the confusion tab: the out-of-fold matrix; a click on (red, blue) shows the planted photo
    matrix_view = page.confusion.matrix
    assert matrix_view.matrix() == report.confusion and matrix_view.classes() == ["blue", "red"]
    page.tabs.setCurrentIndex(3)
    rect = matrix_view.visualItemRect(matrix_view.item(1, 0))
    qtbot.mouseClick(matrix_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    shown = page.confusion.photos.paths()
    assert str(planted) in shown and shown == [i.path for i in report.cell("red", "blue")]
    # thumbnails come centred in squares, so captions under tall and wide photos line up
    cells = page.confusion.photos.model_
    qtbot.waitUntil(lambda: cells.data(cells.index(0), Qt.ItemDataRole.DecorationRole) is not None, timeout=WAIT)
    icon = cells.data(cells.index(0), Qt.ItemDataRole.DecorationRole)
    assert icon.width() == icon.height() == cells._thumbs.size
    assert page.confusion.photos.title.text().startswith(f"in red, suggested blue: {len(shown)} photo")

    # move to the suggested class: one journaled batch; the photo leaves the list
    assert not page.to_suggested.isEnabled()
    _select(page, planted)
    assert page.to_suggested.isEnabled()
    page.to_suggested.click()
    _wait_files(qtbot, page)
    assert not planted.exists() and (root / "blue" / "planted_blue.png").is_file()
    assert str(planted) not in [i.path for i in page.mislabeled.model_.items]
    assert page.status.text().startswith("1 photo moved")
    assert page.undo_button.isEnabled() and page.undo_button.text().startswith("Undo move 1")

    # Undo brings it back, byte for byte where it was
    before = (root / "blue" / "planted_blue.png").read_bytes()
    page.undo_button.click()
    _wait_files(qtbot, page)
    assert planted.read_bytes() == before and not (root / "blue" / "planted_blue.png").exists()
    assert page.redo_button.isEnabled()


def test_remove_moves_out_of_the_dataset_where_training_does_not_look(qtbot, page, dataset):
    from resnet_gui.core.data.datasets import scan_labeled_folder

    root, planted, _ = dataset
    _review(qtbot, page)
    _select(page, planted)
    page.remove_button.click()
    _wait_files(qtbot, page)
    moved = removed_folder(root, "red") / "planted_blue.png"
    assert not planted.exists() and moved.is_file()
    scanned = scan_labeled_folder(root)
    assert scanned.classes == ["blue", "red"]
    assert all("removed" not in str(path) for path, _ in scanned.train)
    assert page.status.text() == "1 photo moved out of the dataset"
    page.undo_button.click()
    _wait_files(qtbot, page)
    assert planted.is_file() and not moved.exists()


def test_a_folder_that_cannot_be_trained_on_is_refused_in_one_line(qtbot, page, tmp_path):
    lonely = tmp_path / "lonely"
    for i in range(5):
        _photo(lonely / "red" / f"r{i}.png", COLOURS["red"], i)
    page.set_folder(str(lonely))
    _review(qtbot, page)
    assert page.report is None
    assert page.status.text().startswith("Cannot review: ") and "\n" not in page.status.text()


def test_a_model_of_other_classes_is_refused_with_both_lists(qtbot, page, dataset, tmp_path):
    import torchvision

    other = save_checkpoint(tmp_path / "pets.pt", torchvision.models.resnet18(num_classes=2),
                            ModelInfo("resnet18", ["cat", "dog"], image_size=32, resize_size=36))
    page.weights_provider = lambda: str(other)
    _review(qtbot, page)
    text = page.status.text()
    assert text.startswith("Cannot review: ") and "cat, dog" in text and "blue, red" in text


def test_photos_unlike_any_class_are_listed_and_can_leave_the_dataset(qtbot, page, dataset, model, tmp_path):
    """A calibrated model (out-of-class data from ``calibrate``, as every trained model has) lists
    the photos above its threshold, most unlike first; Remove acts on that tab's selection."""
    from resnet_gui.core.trust.calibrate import calibrate_model

    root, _, _ = dataset
    calibrated = tmp_path / "models" / "calibrated.pt"
    steps = calibrate_model(model, root, calibrated, val_split=0.7, device="cpu")  # 20 held out: its minimum
    try:
        while True:
            next(steps)
    except StopIteration:
        pass
    stranger = root / "red" / "stranger.png"  # added after the model was made, as a stray file would be
    Image.new("RGB", (40, 40), (128, 128, 128)).save(stranger)  # flat: no pattern at any scale
    _review(qtbot, page)  # first with the plain model: the tab says why it lists nothing
    assert page.unlike_note.text().startswith("Out-of-class detection: not available")
    page.weights_provider = lambda: str(calibrated)
    _review(qtbot, page)
    report = page.report
    assert report is not None and not report.unlike_note, page.status.text()
    assert page.unlike_note.text() == UNLIKE_HINT  # the calibrated model's review brings the hint back
    assert all(item.ood_score is not None for item in report.items)
    shown = page.unlike.model_.items
    assert shown == report.unlike and shown, "the flat grey photo should look like neither colour"
    assert [i.ood_score for i in shown] == sorted((i.ood_score for i in shown), reverse=True)
    assert shown[0].path == str(stranger)
    assert page.tabs.tabText(1) == f"Unlike any class ({len(shown)})"
    assert page.unlike.model_.data(page.unlike.model_.index(0)).startswith("in red\nclosest: ")

    _select(page, stranger, page.unlike)
    assert page.remove_button.isEnabled()
    page.tabs.setCurrentIndex(2)  # Duplicates: nothing there to act on
    assert not page.remove_button.isEnabled()
    _select(page, stranger, page.unlike)
    page.remove_button.click()
    _wait_files(qtbot, page)
    assert not stranger.exists() and (removed_folder(root, "red") / "stranger.png").is_file()
    assert str(stranger) not in [i.path for i in page.unlike.model_.items]


def _dup_groups(root: Path):
    """Two groups of exact copies in red/: red_05 with two copies, red_06 with one."""
    from resnet_gui.core.review.duplicates import DuplicateGroup

    groups = []
    for name, n in (("red_05", 2), ("red_06", 1)):
        paths = [root / "red" / f"{name}.png"] + [root / "red" / f"{name}_copy{i}.png" for i in range(n)]
        for copy in paths[1:]:
            shutil.copyfile(paths[0], copy)
        groups.append(DuplicateGroup([str(p) for p in paths], "exact", 1.0, ["train"] + ["val"] * n))
    return groups


def _select_duplicate(page, path: Path) -> None:
    page.tabs.setCurrentIndex(page.duplicates_tab)
    tree = page.duplicates
    tree.clearSelection()
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount()):
            if top.child(j).data(0, Qt.ItemDataRole.UserRole) == str(path):
                top.child(j).setSelected(True)


def test_duplicates_tab_acts_like_the_lists_keyboard_and_menu_included(qtbot, page, dataset):
    root = dataset[0]
    groups = _dup_groups(root)
    page.show_leaks(str(root), groups)
    copy = Path(groups[0].paths[1])
    assert not page.remove_button.isEnabled() and not page.to_class.isEnabled()
    _select_duplicate(page, copy)
    assert page.selected_paths() == [str(copy)]
    assert page.remove_button.isEnabled() and page.to_class.isEnabled()
    assert not page.to_suggested.isEnabled()  # a duplicate has no suggested class
    menu = page.context_menu(page.duplicates)
    texts = [a.text() for a in menu.actions()]
    assert texts[0] == "Move to" and texts[1].startswith("Remove from dataset")
    assert [a.text() for a in menu.actions()[0].menu().actions()] == ["blue", "red"]

    # the Delete key removes the selected copy: one journaled batch; its group shrinks
    page.duplicates.setFocus()
    qtbot.keyClick(page.duplicates, Qt.Key.Key_Delete)
    _wait_files(qtbot, page)
    assert not copy.exists() and (removed_folder(root, "red") / copy.name).is_file()
    assert [len(g.paths) for g in page.duplicates.groups] == [2, 2]
    page.undo_button.click()
    _wait_files(qtbot, page)
    assert copy.is_file()

    # Move to (the combo, as the button does) another class
    other = Path(groups[1].paths[1])
    _select_duplicate(page, other)
    page.class_combo.setCurrentText("blue")
    page.to_class.click()
    _wait_files(qtbot, page)
    assert (root / "blue" / other.name).is_file() and not other.exists()
    assert [len(g.paths) for g in page.duplicates.groups] == [2]


def test_keep_the_first_of_each_group_is_one_undoable_batch(qtbot, page, dataset):
    from resnet_gui.core.files.dataset import Dataset

    root = dataset[0]
    groups = _dup_groups(root)
    page.show_leaks(str(root), groups)
    assert page.keep_first_button.isEnabled()
    page.keep_first_button.click()
    _wait_files(qtbot, page)
    assert all(Path(g.paths[0]).is_file() for g in groups)
    extra = [Path(p) for g in groups for p in g.paths[1:]]
    assert not any(p.exists() for p in extra)
    assert page.duplicates.groups == [] and not page.keep_first_button.isEnabled()
    assert page.tabs.tabText(page.duplicates_tab) == "Duplicates (0)" and not page.leak_banner.isVisible()
    assert page.status.text() == "3 photos moved out of the dataset"
    title = Dataset.shared(root).journal.can_undo.title
    assert title == "remove 3 duplicate copies"
    assert page.undo_button.text() == f"Undo {title}"
    page.undo_button.click()
    _wait_files(qtbot, page)
    assert all(p.is_file() for p in extra)
    assert not (root / ".resnet-gui" / "removed").exists()  # the folders the batch made went too


def test_the_last_review_comes_back_after_a_restart_with_its_date(qtbot, page, dataset, settings, model):
    root, planted, _ = dataset
    stages, show = [], page._on_stage
    page._on_stage = lambda stage: (show(stage), stages.append((stage.message, stage.done, stage.total)))
    _review(qtbot, page)
    assert page.report is not None and page.review_button.text() == "&Review again"
    looking = [s for s in stages if s[0].startswith("looking for duplicates")]
    assert looking and looking[-1][1] == looking[-1][2] == len(page.report.items)  # a count, not "0 / 1"
    issues = [i.path for i in page.report.issues]

    planted.unlink()  # gone since: left out of the lists shown again
    again = DatasetReviewPage(settings)  # the window after a restart
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.report is not None, timeout=WAIT)
    assert again.status.text().startswith("Review of 20") and "Review again to see the folder" in again.status.text()
    assert again.review_button.text() == "&Review again"
    assert [i.path for i in again.mislabeled.model_.items] == [p for p in issues if p != str(planted)]
    assert again.shutdown()


def test_every_review_phase_shows_a_count_and_an_eta():
    from types import SimpleNamespace

    from resnet_gui.gui.dataset_review.views import PhaseEta

    now = [100.0]
    eta = PhaseEta(clock=lambda: now[0])
    stage = lambda done, total, message="computing features of 400 photos": SimpleNamespace(  # noqa: E731
        message=message, done=done, total=total)
    assert eta.text(stage(0, 400)) == "0 / 400"
    now[0] += 10
    assert eta.text(stage(100, 400)) == "100 / 400 \u00b7 0:30 left"
    now[0] += 1  # a new phase starts its own clock
    assert eta.text(stage(1, 5, "out-of-fold predictions: fold 2 of 5")) == "1 / 5"
    now[0] += 2
    assert eta.text(stage(2, 5, "out-of-fold predictions: fold 3 of 5")) == "2 / 5 \u00b7 0:06 left"

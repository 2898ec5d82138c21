"""The photo loop end to end in the real window (offscreen), with real files and a real model:
label on the Label tab with the keys, undo one, classify, turn a wrong guess into training
data, retrain from the panel and use the new model, sort the results into folders and undo.
Nothing the user owns is ever changed: the originals' hashes and times are the same at the end."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from files_support import hashes, snapshot
from resnet_gui.gui.classify.photo_loop import GRID, TABLE
from resnet_gui.gui.main_window import MainWindow

WAIT = 60_000


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _photos_in(folder: Path) -> dict[str, list[str]]:
    """class -> sorted file names (hidden folders, such as the journal's, left out)."""
    return {c.name: sorted(p.name for p in c.iterdir()) for c in sorted(folder.iterdir())
            if c.is_dir() and not c.name.startswith(".")}


@pytest.fixture
def pets_model(tmp_path) -> Path:
    """A random-initialised resnet18 for cat/dog at 32 px, recorded as trained head-only."""
    import torch
    import torchvision

    from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint

    torch.manual_seed(0)
    info = ModelInfo(arch="resnet18", class_names=["cat", "dog"], image_size=32, resize_size=36,
                     training={"config": {"mode": "head"}, "val_acc": 0.5})
    path = save_checkpoint(tmp_path / "models" / "pets.pt", torchvision.models.resnet18(num_classes=2), info)
    os.utime(path, (1_000_000_000, 1_000_000_000))  # trained long before the labels below
    return path


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(1180, 760)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)  # shortcuts (1-9, Ctrl+Z) go to the active window
    yield win
    win.close()
    assert win.label_page.shutdown() and win.classify_page.shutdown()  # nothing left running


def test_label_classify_correct_retrain_sort_and_undo(qtbot, window, tmp_path, make_images, pets_model):
    photos = make_images(6, size=(64, 48), folder=tmp_path / "photos", fmt="jpg")
    originals = snapshot(tmp_path / "photos")
    dataset = tmp_path / "dataset"
    label, classify = window.label_page, window.classify_page
    loop = classify.loop

    with qtbot.waitSignal(classify.model_loaded, timeout=WAIT):
        classify.use_model(pets_model)

    # ---- Label tab: a dataset, two classes, photos labeled with the keys 1 and 2
    window.tabs.setCurrentWidget(label)
    with qtbot.waitSignal(label.dataset_changed):
        label.open_dataset(str(dataset))
    assert loop.data_dir == str(dataset) and loop.dataset_label.text() == "Dataset: dataset"  # Classify follows

    def idle():
        qtbot.waitUntil(lambda: not (label.files_runner.busy or label.scan_runner.busy), timeout=WAIT)

    label.open_photos(str(tmp_path / "photos"))
    idle()
    assert label.proxy.rowCount() == 6
    for name in ("cat", "dog"):  # typed with nothing selected: just the class folder
        qtbot.keyClicks(label.classes.add_field, name)
        qtbot.keyClick(label.classes.add_field, Qt.Key.Key_Return)
    assert label.classes.names == ["cat", "dog"]
    qtbot.waitUntil(lambda: len(label.model.suggestions) == 6, timeout=WAIT)  # the model fits the dataset now

    def press(key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        label.view.setFocus()  # the keys are the page's shortcuts: they work where the focus is
        qtbot.keyClick(label.view, key, modifier)
        idle()

    by_name = {p.name: p for p in photos}
    for rows, key in (([0, 1, 2], Qt.Key.Key_1), ([0, 1], Qt.Key.Key_2), ([0], Qt.Key.Key_2)):
        label.select_rows(rows)
        press(key)
    assert {k: len(v) for k, v in _photos_in(dataset).items()} == {"cat": 3, "dog": 3}
    assert label.proxy.rowCount() == 0 and label.undo_action.text() == "Undo copy 1 photo to dog"
    dog_before_undo = set(_photos_in(dataset)["dog"])
    press(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the last batch (one photo) leaves the dataset
    (undone,) = dog_before_undo - set(_photos_in(dataset)["dog"])
    assert {k: len(v) for k, v in _photos_in(dataset).items()} == {"cat": 3, "dog": 2}
    assert label.proxy.rowCount() == 1 and _sha(by_name[undone]) == originals[undone][0]  # the photo is untouched
    assert [b.text() for b in label.classes.buttons] == ["1: cat (3)", "2: dog (2)"]

    # ---- Classify tab: the results as a table and a grid
    window.tabs.setCurrentWidget(classify)
    with qtbot.waitSignal(classify.run_finished, timeout=WAIT):
        classify.classify([str(tmp_path / "photos")])
    assert classify.results.model.rowCount() == 6 and loop.grid.model().rowCount() == 6
    assert window.sort_action.isEnabled() and loop.sort_button.isEnabled()
    classify.results.make_current(0)
    loop.show_view(GRID)
    assert loop.grid.model() is classify.results.model  # one model, two views
    assert loop.grid.current_item() is classify.results.model.item(0)  # the photo shown stays current
    row = next(i for i, p in enumerate(classify.result_items()) if Path(p.path).name == undone)
    loop.grid.setCurrentIndex(loop.grid.model().index(row, loop.grid.modelColumn()))
    guess = classify.result_items()[row].label
    assert loop.verdict.path == str(by_name[undone]) and loop.verdict.correct.text() == f"Correct ({guess})"
    assert undone in classify.preview.title.text()  # the preview follows the grid

    # ---- the guess is wrong: it is the other class; the photo becomes training data
    truth = "cat" if guess == "dog" else "dog"
    loop.verdict.classes.setCurrentText(truth)
    with qtbot.waitSignal(loop.verdict.added, timeout=WAIT) as added:
        loop.verdict.wrong.click()
    assert added.args == [str(by_name[undone]), truth]
    assert (dataset / truth / undone).read_bytes() == by_name[undone].read_bytes()
    assert label.proxy.rowCount() == 0  # the Label page saw it: labeled, out of the "to label" view
    assert loop.retrain.count.text().startswith("6 photos added")  # 3 + 2 labeled + 1 corrected
    loop.show_view(TABLE)
    assert classify.lists.currentWidget() is loop.results_stack and loop.results_stack.currentIndex() == TABLE
    assert classify.results.current_item().path == str(by_name[undone]) and undone in classify.preview.title.text()

    # ---- retrain from the panel (teacher-guided, 1 epoch) and use the new model
    loop.retrain.epochs = 1
    loop.retrain.button.click()
    qtbot.waitUntil(lambda: not loop.retrain.runner.busy, timeout=WAIT)
    assert loop.retrain.take.isVisibleTo(loop.retrain), loop.retrain.progress.text()
    new_model = Path(loop.retrain.new_checkpoint)
    assert new_model.name == "dataset-retrained-1.pt" and loop.retrain.progress.text().startswith("Validation ")
    assert "(current model 50.0%)" in loop.retrain.progress.text()  # as recorded in pets.pt, same classes
    assert loop.retrain.progress.text().endswith("teacher-guided retrain")  # the teacher is installed
    with qtbot.waitSignal(classify.run_finished, timeout=WAIT):  # 6 results: classified again at once
        loop.retrain.take.click()
    assert classify.model.source == str(new_model) and classify.results_model == str(new_model)
    assert loop.retrain.weights == str(new_model) and loop.retrain.count.text().startswith("0 photos")
    assert classify.results.model.rowCount() == 6 and loop.grid.model().rowCount() == 6

    # ---- sort the results into folders (copies), then undo
    window.sort_action.trigger()
    dialog = loop.sort_dialog
    assert dialog is not None and len(dialog.items) == 6
    dialog.destination.setText(str(tmp_path / "sorted"))
    dialog.refresh_preview()
    qtbot.waitUntil(dialog.sort_button.isEnabled, timeout=WAIT)
    dialog.sort_button.click()
    qtbot.waitUntil(dialog.undo_button.isEnabled, timeout=WAIT)
    assert hashes(tmp_path / "sorted") == hashes(tmp_path / "photos")  # one copy of each photo
    dialog.undo_button.click()
    qtbot.waitUntil(lambda: dialog.summary.text().startswith("Undone"), timeout=WAIT)
    assert not hashes(tmp_path / "sorted")
    dialog.done(0)

    # ---- nothing the user owns changed; the dataset holds exactly what was labeled
    assert snapshot(tmp_path / "photos") == originals
    in_dataset = hashes(dataset)
    assert sum(in_dataset.values()) == 6 and set(in_dataset) <= set(hashes(tmp_path / "photos"))
    assert QApplication.activeModalWidget() is None

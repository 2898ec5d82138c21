"""The review widgets standalone, with real files: verdicts into the dataset, the sort dialog
with its preview and Undo, the results grid, and a head-only retrain that reports accuracies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from files_support import hashes, snapshot
from resnet_gui.core.files.dataset import Dataset
from resnet_gui.core.files.journal import run_all
from resnet_gui.core.infer import Prediction
from resnet_gui.gui.results_model import COL_GRID, COL_IMAGE, ResultsModel
from resnet_gui.gui.verdicts.grid import ResultsGrid
from resnet_gui.gui.verdicts.retrain import RetrainPanel
from resnet_gui.gui.verdicts.sort_dialog import SortDialog
from resnet_gui.gui.verdicts.verdict import VerdictBar
from resnet_gui.gui.thumbnails import Thumbnails


def _idle(qtbot, runner, timeout=20_000):
    qtbot.waitUntil(lambda: not runner.busy, timeout=timeout)


def test_correct_and_wrong_add_the_photo_to_the_dataset_undoably(qtbot, tmp_path, make_images):
    photos = make_images(2)
    (tmp_path / "data" / "red").mkdir(parents=True)
    bar = VerdictBar()
    qtbot.addWidget(bar)
    bar.set_dataset(str(tmp_path / "data"))
    bar.set_photo(str(photos[0]), "red")
    with qtbot.waitSignal(bar.added) as added:
        bar.correct.click()
    assert added.args == [str(photos[0]), "red"]
    bar.set_photo(str(photos[1]), "red")
    bar.classes.setCurrentText("blue")  # a new class, typed: the bar asks first
    asked = []
    bar.ask_new_class = lambda name, names: asked.append((name, names)) or len(asked) > 1  # no, then yes
    bar.wrong.click()
    assert asked == [("blue", ["red"])] and bar.status.text() == "not added: blue is not a class of this dataset"
    assert not (tmp_path / "data" / "blue").exists()
    with qtbot.waitSignal(bar.added):
        bar.wrong.click()
    assert (tmp_path / "data" / "red" / photos[0].name).read_bytes() == photos[0].read_bytes()
    assert (tmp_path / "data" / "blue" / photos[1].name).exists()
    assert bar.status.text() == "added to blue"
    assert [bar.classes.itemText(i) for i in range(bar.classes.count())] == ["blue", "red", "none of these"]
    run_all(Dataset.shared(tmp_path / "data").journal.undo())  # the Label page's Undo takes it back
    assert not (tmp_path / "data" / "blue" / photos[1].name).exists() and photos[1].exists()
    assert not (tmp_path / "data" / "blue").exists()  # with the class folder that verdict made
    bar.set_dataset(str(tmp_path / "data"))  # what the window does after an undo
    assert bar.status.text() == "" and [bar.classes.itemText(i) for i in range(bar.classes.count())] == ["red", "none of these"]
    bar.set_photo(str(photos[0]), "red")  # a second "Correct" on the same photo adds no second copy
    bar.correct.click()
    qtbot.waitUntil(lambda: bar.status.text() == "already in red")
    assert sorted(p.name for p in (tmp_path / "data" / "red").iterdir()) == [photos[0].name]
    bar.shutdown()


def test_wrong_offers_none_of_these_which_goes_to_the_none_folder(qtbot, tmp_path, make_images):
    from resnet_gui.constants import NONE_FOLDER

    photo = make_images(1)[0]
    (tmp_path / "data" / "red").mkdir(parents=True)
    bar = VerdictBar()
    qtbot.addWidget(bar)
    bar.set_dataset(str(tmp_path / "data"))
    bar.set_photo(str(photo), "red")
    bar.classes.setCurrentIndex(bar.classes.findText("none of these"))
    with qtbot.waitSignal(bar.added) as added:
        bar.wrong.click()
    assert added.args == [str(photo), NONE_FOLDER]
    assert (tmp_path / "data" / NONE_FOLDER / photo.name).read_bytes() == photo.read_bytes()
    assert bar.status.text() == "added to none of these"
    assert Dataset.shared(tmp_path / "data").class_names() == ["red"]  # still one class
    assert [bar.classes.itemText(i) for i in range(bar.classes.count())] == ["red", "none of these"]
    bar.shutdown()


def test_verdict_without_a_dataset_is_disabled(qtbot, make_images):
    bar = VerdictBar()
    qtbot.addWidget(bar)
    bar.set_photo(str(make_images(1)[0]), "red")
    assert not bar.correct.isEnabled() and not bar.wrong.isEnabled()
    bar.shutdown()


def test_sort_dialog_previews_sorts_and_undoes(qtbot, tmp_path, settings, make_images):
    photos = make_images(5)
    before = snapshot(tmp_path / "images")
    items = [(str(p), "red" if i < 3 else "blue", 0.9 if i != 4 else 0.3) for i, p in enumerate(photos)]
    dialog = SortDialog(items, settings)
    qtbot.addWidget(dialog)
    dialog.destination.setText(str(tmp_path / "sorted"))
    # Sort is enabled only once a click can start it: start_sort ignores clicks while the
    # preview's task is still ending (a quick click was lost on a loaded machine)
    seen, show = [], dialog._show_preview
    dialog._show_preview = lambda preview: (show(preview), seen.append((dialog.sort_button.isEnabled(),
                                                                         dialog.runner.busy)))
    dialog.refresh_preview()
    qtbot.waitUntil(dialog.sort_button.isEnabled, timeout=10_000)
    assert seen and not any(enabled and busy for enabled, busy in seen) and not dialog.runner.busy
    table = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert table == {"_unsure/": "1", "blue/": "1", "red/": "3"}
    assert "Will copy 5 photos:" in dialog.summary.text() and "MB needed" in dialog.summary.text() and not (tmp_path / "sorted").exists()  # a preview writes nothing
    dialog.sort_button.click()
    qtbot.waitUntil(dialog.undo_button.isEnabled, timeout=10_000)
    assert hashes(tmp_path / "sorted") == hashes(tmp_path / "images") and snapshot(tmp_path / "images") == before
    assert dialog.summary.text().startswith("Sorted 5 photos. Journal:")
    dialog.undo_button.click()
    qtbot.waitUntil(lambda: dialog.summary.text().startswith("Undone: 5 photos back"), timeout=10_000)
    assert not list((tmp_path / "sorted").rglob("*.png"))
    assert settings.sort_destination == str(tmp_path / "sorted")
    dialog.done(0)


def test_sort_dialog_sends_photos_marked_unknown_to_their_own_folder(qtbot, tmp_path, settings, make_images):
    photos = make_images(3)
    items = [(str(photos[0]), "dandelion", 0.923, True), (str(photos[1]), "dandelion", 0.95, False),
             (str(photos[2]), "roses", 0.9, None)]  # None: a model without out-of-class data

    def table():
        qtbot.waitUntil(lambda: dialog.preview is not None and not dialog.runner.busy, timeout=10_000)
        return {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    dialog = SortDialog(items, settings)
    qtbot.addWidget(dialog)
    assert dialog.unknown_box.isChecked()
    dialog.destination.setText(str(tmp_path / "sorted"))
    dialog.refresh_preview()
    assert table() == {"_unknown/": "1", "dandelion/": "1", "roses/": "1"}
    dialog.unknown_box.setChecked(False)  # off: by the top-1 class, remembered
    assert table() == {"dandelion/": "2", "roses/": "1"} and settings.sort_unknown is False
    assert settings.qs.value("review/sort_unknown") == "false"  # the key on disk stays the same
    dialog.unknown_box.setChecked(True)
    table()
    dialog.sort_button.click()
    qtbot.waitUntil(dialog.undo_button.isEnabled, timeout=10_000)
    assert [p.name for p in (tmp_path / "sorted" / "_unknown").iterdir()] == [photos[0].name]
    dialog.undo_button.click()
    qtbot.waitUntil(lambda: dialog.summary.text().startswith("Undone"), timeout=10_000)
    assert sorted(p.name for p in (tmp_path / "sorted").iterdir()) == [".resnet-gui"]  # its folders went too
    dialog.done(0)


def test_sort_dialog_refuses_a_destination_inside_nothing_writable(qtbot, tmp_path, settings, make_images):
    items = [(str(p), "a/b", 0.9) for p in make_images(1)]
    dialog = SortDialog(items, settings)
    qtbot.addWidget(dialog)
    dialog.destination.setText(str(tmp_path / "sorted"))
    dialog.refresh_preview()
    qtbot.waitUntil(lambda: "folder name" in dialog.summary.text(), timeout=10_000)
    assert not dialog.sort_button.isEnabled()
    dialog.done(0)


def test_results_grid_is_a_second_view_on_the_results_model(qtbot, make_images):
    """The grid shows the results' own model (its COL_GRID column): rows, clearing and
    thumbnails come once for the table and the grid; its thumbnails are large ones."""
    photos = make_images(6, size=(400, 300))
    thumbnails = Thumbnails()
    model = ResultsModel(thumbnails)
    grid = ResultsGrid(model)
    qtbot.addWidget(grid)
    grid.resize(800, 500)
    grid.show()
    model.append([Prediction(i, str(p), topk=[("red", 0.2 + 0.1 * i)]) for i, p in enumerate(photos)])
    assert grid.model() is model and grid.modelColumn() == COL_GRID
    cell = model.index(5, COL_GRID)
    assert cell.data() == "red" and grid.visualRect(cell).height() > 150  # the label under a large cell
    qtbot.waitUntil(lambda: cell.data(Qt.ItemDataRole.DecorationRole) is not None, timeout=10_000)
    big = cell.data(Qt.ItemDataRole.DecorationRole)
    assert max(big.width(), big.height()) == 160
    small = model.index(5, COL_IMAGE).data(Qt.ItemDataRole.DecorationRole)  # asks for the table's
    qtbot.waitUntil(lambda: model.thumbnail(str(photos[5])) is not None, timeout=10_000)
    assert small is None and max(model.thumbnail(str(photos[5])).size().toTuple()) == 56  # none at first
    assert grid.caption(5) == "img_005.png: red 70%"
    assert not grid.grab().isNull()  # the badge delegate paints
    grid.setCurrentIndex(model.index(3, COL_GRID))
    assert grid.current_item().path == str(photos[3])
    with qtbot.waitSignal(grid.activated_path) as activated:
        grid.activated.emit(model.index(2, COL_GRID))
    assert activated.args == [str(photos[2])]
    model.clear()
    assert grid.model().rowCount() == 0 and grid.current_item() is None
    thumbnails.shutdown()


@pytest.mark.slow
def test_retrain_from_a_head_only_model_reports_both_accuracies(qtbot, tmp_path, make_images, tiny_weights):
    from resnet_gui.core.train.config import TrainConfig
    from resnet_gui.core.train.fine_tune import fine_tune

    for name in ("red", "green"):
        make_images(8, folder=tmp_path / "data" / name)
    first = tmp_path / "models" / "first.pt"
    list(fine_tune(TrainConfig(data_dir=str(tmp_path / "data"), out=str(first), start=str(tiny_weights),
                               mode="head", epochs=2, image_size=64, batch_size=8)))
    os.utime(first, (1_000_000_000, 1_000_000_000))  # trained long before the verdicts below
    bar = VerdictBar()
    panel = RetrainPanel()
    qtbot.addWidget(bar)
    qtbot.addWidget(panel)
    panel.set_sources("", str(first))  # no dataset yet: a hint, no count, no Retrain
    assert panel.count.text().startswith("choose a dataset") and not panel.button.isEnabled()
    bar.set_dataset(str(tmp_path / "data"))
    panel.set_sources(str(tmp_path / "data"), str(first))
    bar.added.connect(lambda *_: panel.refresh_count())
    for photo in make_images(3, folder=tmp_path / "new"):
        bar.set_photo(str(photo), "red")
        with qtbot.waitSignal(bar.added):
            bar.correct.click()
    assert panel.count.text().startswith("3 photos added")
    (tmp_path / "data" / "roses").mkdir()  # an empty class folder (an undone verdict's) is left out, not refused
    # before it starts, the button says how long it will take (measured in the background)
    qtbot.waitUntil(lambda: panel.button.text().startswith("Retrain (about "), timeout=600_000)
    panel.epochs = 2  # the teacher-guided schedule, shortened for the test
    panel.start()
    assert panel.progress.text().startswith("Retraining: about ")
    qtbot.waitUntil(lambda: not panel.runner.busy, timeout=900_000)
    text = panel.progress.text()
    assert text.startswith("Validation ") and "(current model " in text, text
    assert text.endswith("new: data-retrained-1.pt, teacher-guided retrain; ignored empty class folder: roses/"), text
    assert Path(panel.new_checkpoint).name == "data-retrained-1.pt" and Path(panel.new_checkpoint).is_file()
    # then its int8 twin, on the line below: too few validation photos here to check one, and it says so
    qtbot.waitUntil(lambda: not panel.twin.running, timeout=120_000)
    assert panel.twin.isVisibleTo(panel) and panel.twin.result.out is None
    assert panel.twin.text().startswith("int8 twin not made: ") and "validation photos to check it on" in panel.twin.text()
    with qtbot.waitSignal(panel.use_model) as used:
        panel.take.click()
    assert used.args == [panel.new_checkpoint]
    panel.set_sources(str(tmp_path / "data"), panel.new_checkpoint)  # another model: the line was about the old one
    assert panel.progress.text() == "" and not panel.take.isVisibleTo(panel)
    bar.shutdown()
    panel.shutdown()


def test_retrain_does_not_compare_with_a_model_of_other_classes(tmp_path, make_images):
    import torch
    import torchvision

    from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
    from resnet_gui.gui.verdicts import jobs

    for name in ("ants", "bees"):
        make_images(6, folder=tmp_path / "data" / name)
    torch.manual_seed(0)
    info = ModelInfo("resnet18", ["daisy", "roses"], image_size=32, resize_size=36,
                     training={"config": {"mode": "head"}, "val_acc": 0.89})
    flowers = save_checkpoint(tmp_path / "models" / "flowers.pt", torchvision.models.resnet18(num_classes=2), info)
    out = tmp_path / "models" / "data-retrained-1.pt"
    run = jobs.retrain(str(tmp_path / "data"), str(flowers), str(out), 1, should_stop=lambda: False)
    try:
        while True:
            next(run)
    except StopIteration as stop:
        result = stop.value
    assert result.checkpoint == str(out) and not result.same_classes and result.old_val_acc is None


def test_the_new_jobs_modules_import_no_qt_and_no_torch():
    """Like the import-linter contract for the other pages' jobs (pyproject lists those)."""
    import subprocess
    import sys

    code = ("import sys, resnet_gui.gui.label.jobs, resnet_gui.gui.verdicts.jobs, resnet_gui.core.files.journal; "
            "print(sorted(m for m in ('PySide6', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_retrained_models_get_the_next_free_name(tmp_path):
    from resnet_gui.gui.verdicts.retrain import next_free

    weights = tmp_path / "flowers.pt"
    weights.write_bytes(b"w")
    dataset = str(tmp_path / "photos" / "ants-bees")  # named after the dataset it learned
    assert next_free(str(weights), dataset) == str(tmp_path / "ants-bees-retrained-1.pt")
    (tmp_path / "ants-bees-retrained-1.pt").write_bytes(b"1")
    assert next_free(str(weights), dataset) == str(tmp_path / "ants-bees-retrained-2.pt")
    assert next_free(str(weights), "") == str(tmp_path / "flowers-retrained-1.pt")  # no dataset: the model's name

"""The Label page with real files: keyboard labeling, filter, move, collisions, undo/redo
across a restart, an interrupted batch, and model suggestions."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from resnet_gui.gui.label.page import LabelPage


def _page(qtbot, settings) -> LabelPage:
    page = LabelPage(settings)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)  # shortcuts go to the active window
    page.view.setFocus()
    return page


def _wait(qtbot, page: LabelPage) -> None:
    qtbot.waitUntil(lambda: not page.files_runner.busy and not page.scan_runner.busy, timeout=20_000)


def _open(qtbot, page, dataset: Path, photos: Path) -> None:
    page.open_dataset(str(dataset))
    page.open_photos(str(photos))
    _wait(qtbot, page)


def _add_classes(qtbot, page, *names) -> None:
    for name in names:
        qtbot.keyClicks(page.classes.add_field, name)
        qtbot.keyClick(page.classes.add_field, Qt.Key.Key_Return)
        _wait(qtbot, page)


def test_label_30_photos_with_the_keyboard_then_undo_redo_across_a_restart(qtbot, settings, tmp_path, make_images):
    make_images(30, folder=tmp_path / "photos")
    page = _page(qtbot, settings)
    _open(qtbot, page, tmp_path / "data", tmp_path / "photos")
    assert page.proxy.rowCount() == 30
    page.select_rows([0])
    _add_classes(qtbot, page, "red", "green", "blue")  # typing a new class labels the selection with it
    assert page.classes.names == ["blue", "green", "red"] and page.proxy.rowCount() == 29
    for key, count in ((Qt.Key.Key_1, 10), (Qt.Key.Key_2, 10), (Qt.Key.Key_3, 9)):
        page.select_rows(list(range(count)))
        qtbot.keyClick(page.view, key)
        _wait(qtbot, page)
    assert page.proxy.rowCount() == 0, page.status.text()  # every photo left the "to label" view
    counts = {p.name: len(list(p.iterdir())) for p in (tmp_path / "data").iterdir() if not p.name.startswith(".")}
    assert counts == {"blue": 10, "green": 10, "red": 10}
    assert len(list((tmp_path / "photos").iterdir())) == 30  # copies: the photos stay
    page.show_labeled.setChecked(True)
    assert page.proxy.rowCount() == 30
    page.shutdown()

    again = _page(qtbot, settings)  # a restart: dataset and photos come back from the settings
    _wait(qtbot, again)
    assert again.undo_action.isEnabled() and again.proxy.rowCount() == 0
    qtbot.keyClick(again.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _wait(qtbot, again)
    assert len(list((tmp_path / "data" / "red").iterdir())) == 1 and again.proxy.rowCount() == 9
    qtbot.keyClick(again.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    _wait(qtbot, again)
    assert len(list((tmp_path / "data" / "red").iterdir())) == 10 and again.proxy.rowCount() == 0
    again.shutdown()


def test_move_option_and_name_collisions(qtbot, settings, tmp_path, make_images):
    photos = make_images(3, folder=tmp_path / "photos")
    (tmp_path / "data" / "cat").mkdir(parents=True)
    (tmp_path / "data" / "cat" / photos[0].name).write_bytes(b"already there")
    page = _page(qtbot, settings)
    _open(qtbot, page, tmp_path / "data", tmp_path / "photos")
    page.move_box.setChecked(True)
    page.select_all()
    qtbot.keyClick(page.view, Qt.Key.Key_1)
    _wait(qtbot, page)
    assert not list((tmp_path / "photos").iterdir())
    names = sorted(p.name for p in (tmp_path / "data" / "cat").iterdir())
    assert names == ["img_000 (2).png", "img_000.png", "img_001.png", "img_002.png"]
    assert (tmp_path / "data" / "cat" / "img_000.png").read_bytes() == b"already there"
    page.shutdown()


def test_a_key_pressed_while_a_batch_is_still_copying_says_so(qtbot, settings, tmp_path, make_images):
    import threading

    make_images(2, folder=tmp_path / "photos")
    (tmp_path / "data" / "cat").mkdir(parents=True)
    page = _page(qtbot, settings)
    _open(qtbot, page, tmp_path / "data", tmp_path / "photos")
    release = threading.Event()
    page.files_runner.start(lambda should_stop: release.wait(20), replace=False)  # a slow batch in flight
    qtbot.waitUntil(lambda: page.files_runner.busy)
    page.select_rows([0])
    qtbot.keyClick(page.view, Qt.Key.Key_1)
    assert page.status.text().startswith("Still copying the last photos")  # not silently dropped
    assert not any((tmp_path / "data" / "cat").iterdir())
    release.set()
    _wait(qtbot, page)
    qtbot.keyClick(page.view, Qt.Key.Key_1)
    _wait(qtbot, page)
    assert len(list((tmp_path / "data" / "cat").iterdir())) == 1
    page.shutdown()


def test_a_bad_class_name_is_one_line_and_nothing_moves(qtbot, settings, tmp_path, make_images):
    make_images(2, folder=tmp_path / "photos")
    page = _page(qtbot, settings)
    _open(qtbot, page, tmp_path / "data", tmp_path / "photos")
    page.select_all()
    _add_classes(qtbot, page, "a/b")
    assert "folder name" in page.status.text() and "\n" not in page.status.text()
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
    page.shutdown()


def test_interrupted_batch_is_offered_to_finish(qtbot, settings, tmp_path, make_images):
    photos = make_images(2, folder=tmp_path / "photos")
    journal = tmp_path / "data" / ".resnet-gui" / "journal.jsonl"
    journal.parent.mkdir(parents=True)
    ops = [{"kind": "copy", "src": str(p), "dst": str(tmp_path / "data" / "cat" / p.name), "size": 1} for p in photos]
    roots = sorted({str(tmp_path.resolve() / "photos"), str(tmp_path.resolve() / "data" / "cat")})
    journal.write_text(json.dumps({"t": "batch", "b": 1, "title": "copy 2 to cat", "ops": ops, "roots": roots}) + "\n"
                       + json.dumps({"t": "pass", "b": 1, "dir": "do"}) + "\n")  # the app was killed here
    page = _page(qtbot, settings)
    _open(qtbot, page, tmp_path / "data", tmp_path / "photos")
    assert page.interrupted_bar.isVisibleTo(page) and "interrupted" in page.interrupted_label.text()
    page._journal_action("finish")
    _wait(qtbot, page)
    assert not page.interrupted_bar.isVisibleTo(page) and len(list((tmp_path / "data" / "cat").iterdir())) == 2
    page.shutdown()


def test_suggestions_least_sure_first_and_accept_above(qtbot, settings, tmp_path, make_images, tiny_weights):
    make_images(12, folder=tmp_path / "photos")
    page = _page(qtbot, settings)
    _open(qtbot, page, tmp_path / "data", tmp_path / "photos")
    page.set_model(str(tiny_weights))
    qtbot.waitUntil(lambda: len(page.model.suggestions) == 12, timeout=60_000)
    page.least_sure.setChecked(True)
    shown = [page.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 2) for r in range(page.proxy.rowCount())]
    assert shown == sorted(shown)
    assert "%?" in page.proxy.index(0, 0).data()
    page.accept_percent.setValue(50)
    page.accept_suggestions()
    _wait(qtbot, page)
    sure = {p for p, (_, c) in page.model.suggestions.items() if c >= 0.5}
    assert set(page.model.labeled) == sure and page.proxy.rowCount() == 12 - len(sure)
    page.shutdown()


def test_rename_merge_and_remove_a_class_are_undoable_batches(qtbot, settings, tmp_path, make_images):
    make_images(4, folder=tmp_path / "photos")
    page = _page(qtbot, settings)
    _open(qtbot, page, tmp_path / "data", tmp_path / "photos")
    page.select_rows([0, 1])
    _add_classes(qtbot, page, "rose")
    page.select_rows([0, 1])
    _add_classes(qtbot, page, "daisy")
    (tmp_path / "data" / "empty").mkdir()
    page.refresh()
    assert [b.text() for b in page.classes.buttons] == ["1: daisy (2)", "2: empty (0)", "3: rose (2)"]
    menu = page.class_menu("rose")
    assert [a.text() for a in menu.actions()] == ["Rename class…", "Merge into", "Remove class…"]
    assert [a.text() for a in menu.actions()[1].menu().actions()] == ["daisy", "empty"]
    # the Undo button and the action (the Edit menu's) name the batch
    assert page.undo_button.isEnabled() and page.undo_button.toolTip() == "Undo copy 2 photos to daisy"

    page.edit_class("rename", "rose", "roses")
    _wait(qtbot, page)
    assert page.classes.names == ["daisy", "empty", "roses"] and not (tmp_path / "data" / "rose").exists()
    assert page.undo_action.text() == "Undo rename class rose to roses"
    page.edit_class("merge", "roses", "daisy")
    _wait(qtbot, page)
    assert [b.text() for b in page.classes.buttons] == ["1: daisy (4)", "2: empty (0)"]
    page.edit_class("remove", "empty")
    _wait(qtbot, page)
    assert page.classes.names == ["daisy"] and page.status.text() == "class removed: 0 photos"

    for _ in range(3):  # the buttons take all three back, in order
        page.undo_button.click()
        _wait(qtbot, page)
    assert [b.text() for b in page.classes.buttons] == ["1: daisy (2)", "2: empty (0)", "3: rose (2)"]
    page.redo_button.click()
    _wait(qtbot, page)
    assert page.classes.names == ["daisy", "empty", "roses"]
    page.shutdown()


def test_a_folder_that_is_not_a_dataset_is_named_before_it_is_adopted(tmp_path, make_images):
    from resnet_gui.core.files.dataset import dataset_warnings

    good = tmp_path / "good"
    make_images(2, folder=good / "ants")
    (good / "bees").mkdir()  # a class just added: fine
    assert dataset_warnings(good) == [] and dataset_warnings(tmp_path / "new") == []
    home = tmp_path / "newcomer"
    (home / "resnet_gui" / ".git").mkdir(parents=True)
    (home / "notes").mkdir()
    (home / "notes" / "todo.txt").write_text("x")
    make_images(2, folder=home / "holiday")
    assert dataset_warnings(home) == ["resnet_gui/ is a code checkout", "notes/ holds files but no photos"]
    for i in range(201):
        (home / f"project{i:03d}").mkdir()
    assert dataset_warnings(home)[0] == "it has 204 subfolders: each would become a class"


def test_the_dataset_dialog_creates_a_typed_folder_and_asks_about_a_strange_one(qtbot, tmp_path, make_images,
                                                                              monkeypatch):
    from resnet_gui.gui.label import dataset_dialog
    from resnet_gui.gui.label.dataset_dialog import DatasetFolderDialog

    dialog = DatasetFolderDialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name_edit.setFocus()
    dialog.name_edit.setText(str(tmp_path / "my new dataset"))  # typed or pasted (keyClicks meet Qt's completer)
    assert dialog.choose_button.isEnabled()  # Qt's own dialog greys it out for a folder not there yet
    dialog.choose_button.click()
    assert dialog.result() == 1 and (tmp_path / "my new dataset").is_dir()
    assert dialog.chosen() == str(tmp_path / "my new dataset")

    (tmp_path / "checkout" / "src" / ".git").mkdir(parents=True)
    asked = []
    monkeypatch.setattr(dataset_dialog, "confirm_dataset_folder", lambda parent, folder: asked.append(folder) or False)
    dialog = DatasetFolderDialog(None, str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.selectFile(str(tmp_path / "checkout"))
    dialog.accept()
    assert asked == [str(tmp_path / "checkout")] and dialog.result() == 0  # still choosing
def test_key_0_puts_photos_in_none_of_these_never_a_class(qtbot, settings, tmp_path, make_images):
    from resnet_gui.constants import NONE_FOLDER

    make_images(4, folder=tmp_path / "photos")
    page = _page(qtbot, settings)
    _open(qtbot, page, tmp_path / "data", tmp_path / "photos")
    page.select_rows([0])
    _add_classes(qtbot, page, "cat")
    assert page.classes.none_button.text() == "0: none of these (0)" and page.classes.none_button.isVisible()
    page.select_rows([0, 1])
    qtbot.keyClick(page.view, Qt.Key.Key_0)
    _wait(qtbot, page)
    assert len(list((tmp_path / "data" / NONE_FOLDER).iterdir())) == 2
    assert page.classes.names == ["cat"]  # not a class: no class button, no number
    assert page.classes.none_button.text() == "0: none of these (2)"
    page.show_labeled.setChecked(True)
    captions = [page.proxy.index(r, 0).data(Qt.ItemDataRole.DisplayRole) for r in range(page.proxy.rowCount())]
    assert sum("✓ none of these" in c for c in captions) == 2
    qtbot.keyClick(page.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undoable like any label
    _wait(qtbot, page)
    assert page.classes.none_button.text() == "0: none of these (0)"


def test_remove_class_asks_first_and_says_what_happens_to_its_photos(qtbot, settings, tmp_path, make_images,
                                                                     monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    make_images(2, folder=tmp_path / "data" / "roses")
    (tmp_path / "data" / "empty").mkdir()
    page = _page(qtbot, settings)
    page.open_dataset(str(tmp_path / "data"))
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.No)
    page._ask_remove("roses")
    page._ask_remove("empty")
    assert "Its 2 photos move to the dataset's hidden .resnet-gui/removed folder" in asked[0]
    assert "It holds no photos" in asked[1]
    assert page.classes.names == ["empty", "roses"]  # No: nothing moved
    page.shutdown()

"""Folders a batch creates go away on undo; renaming, merging and removing a class are journaled
batches that undo restores byte for byte."""

from __future__ import annotations

import pytest

from files_support import hashes, make_files, snapshot
from resnet_gui.core.files.classes import plan_merge_class, plan_remove_class, plan_rename_class, removed_folder
from resnet_gui.core.files.dataset import Dataset
from resnet_gui.core.files.journal import Journal, run_all
from resnet_gui.core.files.plan import FilesError


def _classes(root):
    return {c.name: c.count for c in Dataset(root).classes()}


def test_undo_removes_the_class_folder_its_batch_created_and_redo_makes_it_again(tmp_path):
    root = tmp_path / "data"
    make_files(root / "ants", 2)
    photo = make_files(tmp_path / "inbox", 1)[0]
    dataset = Dataset(root)
    plan = dataset.plan_label([photo], "roses")
    assert plan.make_folders == [str(root / "roses")]
    run_all(dataset.journal.run(plan))
    assert _classes(root) == {"ants": 2, "roses": 1}
    run_all(dataset.journal.undo())
    assert not (root / "roses").exists() and _classes(root) == {"ants": 2}
    dataset.journal.close()
    journal = Journal(dataset.journal.path)  # the folder list survives a restart
    run_all(journal.redo())
    assert _classes(root) == {"ants": 2, "roses": 1}


def test_undo_keeps_a_created_folder_that_holds_something_else_now(tmp_path):
    root = tmp_path / "data"
    photo = make_files(tmp_path / "inbox", 1)[0]
    dataset = Dataset(root)
    run_all(dataset.journal.run(dataset.plan_label([photo], "roses")))
    (root / "roses" / "notes.txt").write_text("mine")
    run_all(dataset.journal.undo())
    assert (root / "roses" / "notes.txt").read_text() == "mine"


def test_rename_class_moves_every_file_and_undo_restores_it(tmp_path):
    root = tmp_path / "data"
    make_files(root / "roses", 3)
    make_files(root / "roses" / "old", 1, prefix="nested")
    make_files(root / "daisy", 2)
    before = snapshot(root / "roses")
    dataset = Dataset(root)
    plan = plan_rename_class(root, "roses", "tulips")
    assert plan.title == "rename class roses to tulips"
    run_all(dataset.journal.run(plan))
    assert not (root / "roses").exists()
    assert snapshot(root / "tulips") == before  # names, bytes and times, the subfolder too
    run_all(dataset.journal.undo())
    assert not (root / "tulips").exists() and snapshot(root / "roses") == before


def test_merge_class_into_another_keeps_both_photos_of_a_taken_name(tmp_path):
    root = tmp_path / "data"
    make_files(root / "rose", 2)
    make_files(root / "roses", 2)  # same names: photo_000.jpg, photo_001.jpg
    everything = hashes(root)
    dataset = Dataset(root)
    run_all(dataset.journal.run(plan_merge_class(root, "rose", "roses")))
    assert _classes(root) == {"roses": 4} and hashes(root) == everything
    run_all(dataset.journal.undo())
    assert _classes(root) == {"rose": 2, "roses": 2} and hashes(root) == everything


def test_remove_class_hides_its_photos_and_undo_brings_them_back(tmp_path):
    root = tmp_path / "data"
    make_files(root / "roses", 2)
    make_files(root / "daisy", 2)
    (root / "empty").mkdir()
    dataset = Dataset(root)
    run_all(dataset.journal.run(plan_remove_class(root, "roses")))
    assert _classes(root) == {"daisy": 2, "empty": 0}
    assert sorted(p.name for p in removed_folder(root, "roses").iterdir()) == ["photo_000.jpg", "photo_001.jpg"]
    run_all(dataset.journal.run(plan_remove_class(root, "empty")))  # an empty class: a batch without photos
    assert _classes(root) == {"daisy": 2}
    run_all(dataset.journal.undo())
    run_all(dataset.journal.undo())
    assert _classes(root) == {"daisy": 2, "empty": 0, "roses": 2}
    assert not removed_folder(root, "roses").exists()


@pytest.mark.parametrize("call, message", [
    (lambda r: plan_rename_class(r, "roses", "daisy"), "already a class"),
    (lambda r: plan_rename_class(r, "roses", "a/b"), "slash"),
    (lambda r: plan_rename_class(r, "roses", ".hidden"), "hidden"),
    (lambda r: plan_rename_class(r, "tulips", "x"), "not a class"),
    (lambda r: plan_merge_class(r, "roses", "roses"), "into itself"),
    (lambda r: plan_remove_class(r, ".resnet-gui", ), "not a class"),
])
def test_bad_class_operations_are_refused_before_anything_moves(tmp_path, call, message):
    root = tmp_path / "data"
    make_files(root / "roses", 1)
    make_files(root / "daisy", 1)
    (root / ".resnet-gui").mkdir()
    before = snapshot(root)
    with pytest.raises(FilesError, match=message):
        call(root)
    assert snapshot(root) == before

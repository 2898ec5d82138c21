"""Nothing is lost: checks before anything moves (read-only, full, inside the source, refused
names), a disk that fills mid-way, moves across filesystems."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from files_support import hashes, make_files, snapshot, tmpfs
from resnet_gui.core.files.checks import check_folder_name, check_plan
from resnet_gui.core.files.journal import Journal, run_all
from resnet_gui.core.files.plan import FilesError, plan_transfers


def test_destination_inside_the_source_is_refused(tmp_path):
    files = make_files(tmp_path / "photos", 2)
    plan = plan_transfers([(p, tmp_path / "photos" / "sorted" / "cat") for p in files])
    with pytest.raises(FilesError, match="inside the source folder"):
        check_plan(plan, tmp_path / "photos" / "sorted", [tmp_path / "photos"])
    assert not (tmp_path / "photos" / "sorted").exists()


@pytest.mark.parametrize("name", ["", "..", "a/b", "x\\y", "tab\there", "con", "what?", " padded", "é" * 200])
def test_names_no_filesystem_takes_are_refused_in_one_line(name):
    with pytest.raises(FilesError) as info:
        check_folder_name(name)
    assert "\n" not in str(info.value)


def test_ordinary_class_names_pass():
    for name in ("daisy", "Golden retriever", "crème brûlée", "猫", "_unsure", "n01440764"):
        assert check_folder_name(name) == name


def test_read_only_destination_is_refused_before_anything_moves(tmp_path):
    files = make_files(tmp_path / "src", 2)
    before = snapshot(tmp_path / "src")
    with tmpfs(tmp_path / "ro", readonly=True) as dest:
        plan = plan_transfers([(p, dest / "cat") for p in files], move=True)
        with pytest.raises(FilesError, match="cannot write into .*Read-only"):
            check_plan(plan, dest, [tmp_path / "src"])
    assert snapshot(tmp_path / "src") == before


def test_full_destination_is_refused_before_anything_moves(tmp_path):
    files = make_files(tmp_path / "src", 5, size=300_000)
    with tmpfs(tmp_path / "small", size="1m") as dest:
        plan = plan_transfers([(p, dest / "cat") for p in files], move=True)
        with pytest.raises(FilesError, match="not enough free space.*MB needed"):
            check_plan(plan, dest)
    assert len(list((tmp_path / "src").iterdir())) == 5


def test_disk_filling_mid_way_keeps_done_ones_done_and_the_rest_in_place(tmp_path):
    files = make_files(tmp_path / "src", 3, size=250_000)
    original = hashes(tmp_path / "src")
    with tmpfs(tmp_path / "small", size="1m") as dest:
        plan = plan_transfers([(p, dest / "cat") for p in files], move=True)
        check_plan(plan, dest)  # fits now...
        (dest / "filler").write_bytes(b"\0" * 400_000)  # ...then another program fills the disk
        journal = Journal(tmp_path / "j.jsonl")
        result = run_all(journal.run(plan))
        assert result.stopped.startswith("the disk is full") and 0 < result.done < 3
        moved = {p.name for p in (dest / "cat").iterdir()}
        assert len(moved) == result.done  # no partial temp left behind
        assert {p.name for p in (tmp_path / "src").iterdir()} == {p.name for p in files} - moved
        assert hashes(tmp_path / "src", dest / "cat") == original
        run_all(journal.undo())
        assert hashes(tmp_path / "src") == original


def test_move_across_filesystems_verifies_and_keeps_timestamps(tmp_path):
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem (/dev/shm) here")
    files = make_files(tmp_path / "src", 4, size=50_000)
    original = hashes(tmp_path / "src")
    mtimes = sorted(p.stat().st_mtime for p in files)
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        dest = Path(other) / "sorted"
        journal = Journal(tmp_path / "j.jsonl")
        run_all(journal.run(plan_transfers([(p, dest) for p in files], move=True)))
        assert hashes(dest) == original and not list((tmp_path / "src").iterdir())
        assert sorted(p.stat().st_mtime for p in dest.iterdir()) == mtimes
        run_all(journal.undo())
        assert hashes(tmp_path / "src") == original and not dest.exists()  # the folder the batch made went too
        assert sorted(p.stat().st_mtime for p in files) == mtimes


def test_read_only_source_photos_are_copied_and_never_changed(tmp_path):
    files = make_files(tmp_path / "src", 2)
    for p in files:
        p.chmod(0o444)
    before = snapshot(tmp_path / "src")
    journal = Journal(tmp_path / "j.jsonl")
    run_all(journal.run(plan_transfers([(p, tmp_path / "d") for p in files])))
    run_all(journal.undo())
    run_all(journal.redo())
    assert snapshot(tmp_path / "src") == before
    assert hashes(tmp_path / "d") == hashes(tmp_path / "src")


def test_a_vanished_source_fails_that_photo_only(tmp_path):
    files = make_files(tmp_path / "src", 3)
    plan = plan_transfers([(p, tmp_path / "d") for p in files], move=True)
    files[1].unlink()
    result = run_all(Journal(tmp_path / "j.jsonl").run(plan))
    assert result.done == 2 and len(result.failed) == 1 and "gone" in result.failed[0][1]

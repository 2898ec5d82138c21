"""Sorting and labeling onto any filesystem: moves across drives, Windows' reserved names,
case-insensitive names (core/files/names.py, transfer.move_file). Real files in tmp_path."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from resnet_gui.core.files import transfer
from resnet_gui.core.files.dataset import Dataset
from resnet_gui.core.files.journal import Journal, run_all
from resnet_gui.core.files.names import is_reserved, portable_name
from resnet_gui.core.files.plan import FilesError, plan_transfers
from resnet_gui.core.files.sorting import plan_sort


def photo(path: Path, content: bytes = b"\xff\xd8 jpeg bytes") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path


def run(plan, journal_path: Path) -> None:
    journal = Journal(journal_path)
    try:
        result = run_all(journal.run(plan))
        assert not result.failed, result
    finally:
        journal.close()


# ---------------------------------------------------------------- moves

def test_a_move_on_one_drive_renames_without_copying(tmp_path):
    src = photo(tmp_path / "in" / "a.jpg")
    inode = src.stat().st_ino
    plan = plan_transfers([(src, tmp_path / "out" / "cat")], move=True)
    run(plan, tmp_path / "journal.jsonl")
    dst = tmp_path / "out" / "cat" / "a.jpg"
    assert not src.exists() and dst.read_bytes() == b"\xff\xd8 jpeg bytes"
    if os.name != "nt":  # the same file, not a copy (Windows' st_ino is not reliable on every filesystem)
        assert dst.stat().st_ino == inode


def _other_filesystem(tmp_path: Path) -> Path | None:
    """A folder on another filesystem than tmp_path (a RAM disk here), or None."""
    for base in ("/dev/shm", "/run/user/%d" % os.getuid() if hasattr(os, "getuid") else ""):
        if base and os.path.isdir(base) and os.access(base, os.W_OK) and os.stat(base).st_dev != tmp_path.stat().st_dev:
            return Path(tempfile.mkdtemp(prefix="resnet-gui-xdev-", dir=base))
    return None


def test_a_move_across_drives_copies_verifies_then_removes(tmp_path):
    other = _other_filesystem(tmp_path)
    if other is None:
        pytest.skip("no second filesystem here")
    try:
        src = photo(tmp_path / "in" / "a.jpg", b"x" * 100_000)
        with pytest.raises(OSError) as linked:  # really another drive: the kernel says so
            os.link(src, other / "probe")
        assert linked.value.errno == errno.EXDEV
        journal_path = other / ".resnet-gui" / "journal.jsonl"  # beside its destination, as the app keeps it
        run(plan_transfers([(src, other / "cat")], move=True), journal_path)
        dst = other / "cat" / "a.jpg"
        assert not src.exists() and dst.read_bytes() == b"x" * 100_000
        assert dst.stat().st_mtime == 1_600_000_000  # copy2 kept the photo's time
        # and undo brings it back across the drive
        journal = Journal(journal_path)
        try:
            assert not run_all(journal.undo()).failed
        finally:
            journal.close()
        assert src.read_bytes() == b"x" * 100_000 and not dst.exists()
    finally:
        import shutil

        shutil.rmtree(other, ignore_errors=True)


def test_when_links_fail_the_move_falls_back_to_a_verified_copy(tmp_path, monkeypatch):
    """EXDEV where no second drive is at hand (CI on Windows and macOS): the link is refused,
    the photo is copied, checked, then removed."""
    calls = []

    def refuse(src, dst, *a, **k):
        calls.append((src, dst))
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(transfer.os, "link", refuse)  # also the copy's own no-clobber link: it falls back too
    src = photo(tmp_path / "in" / "a.jpg")
    run(plan_transfers([(src, tmp_path / "out")], move=True), tmp_path / "journal.jsonl")
    assert calls and not src.exists()
    assert (tmp_path / "out" / "a.jpg").read_bytes() == b"\xff\xd8 jpeg bytes"
    assert not list((tmp_path / "out").glob(".resnet-gui-*"))  # no temp file left


def test_a_move_never_overwrites(tmp_path):
    src = photo(tmp_path / "in" / "a.jpg", b"mine")
    taken = photo(tmp_path / "out" / "a.jpg", b"theirs")
    with pytest.raises(FileExistsError):
        transfer.move_file(src, taken)
    assert src.read_bytes() == b"mine" and taken.read_bytes() == b"theirs"


# ---------------------------------------------------------------- reserved names

@pytest.mark.parametrize("name, portable", [
    ("aux.jpg", "aux_.jpg"), ("CON", "CON_"), ("con.tar.gz", "con_.tar.gz"), ("Com1.png", "Com1_.png"),
    ("lpt9.jpeg", "lpt9_.jpeg"), ("nul .jpg", "nul _.jpg"), ("photo.jpg.", "photo.jpg"), ("photo.jpg  ", "photo.jpg"),
    ("a:b?.jpg", "a_b_.jpg"), ("...", "_"), ("console.jpg", "console.jpg"), ("auxiliary.png", "auxiliary.png"),
    ("été.jpg", "été.jpg"),
])
def test_portable_names(name, portable):
    assert portable_name(name) == portable
    assert not is_reserved(portable_name(name))


def test_reserved_photo_names_get_a_name_windows_takes(tmp_path):
    """Photos named like devices (fine on Linux) are sorted onto a USB stick or a share too."""
    files = [photo(tmp_path / "in" / name) for name in ("aux.jpg", "CON.png", "nul.jpeg", "ok.jpg")]
    plan = plan_sort([(str(f), "cats", 0.9) for f in files], tmp_path / "sorted", min_confidence=0.5)
    names = sorted(Path(op.dst).name for op in plan.operations)
    assert names == ["CON_.png", "aux_.jpg", "nul_.jpeg", "ok.jpg"]
    run(plan, tmp_path / "journal.jsonl")
    assert sorted(p.name for p in (tmp_path / "sorted" / "cats").iterdir()) == names


@pytest.mark.parametrize("label", ["CON", "aux", "aux.jpg", "Com3", "roses.", "roses ", "a|b"])
def test_reserved_class_names_are_refused_before_anything_is_written(tmp_path, label):
    src = photo(tmp_path / "in" / "a.jpg")
    with pytest.raises(FilesError):
        plan_sort([(str(src), label, 0.9)], tmp_path / "sorted", min_confidence=0.5)
    if label.strip() == label:  # the Label page's box strips what the user typed
        with pytest.raises(FilesError):
            Dataset(tmp_path / "dataset").add_class(label)
    assert not (tmp_path / "sorted").exists() and src.exists()


# ---------------------------------------------------------------- case-insensitive filesystems

def test_names_differing_only_in_case_stay_two_photos(tmp_path):
    """A.jpg and a.jpg from two folders into one: one file on Windows and macOS, so the plan
    gives the second its own name on every system."""
    first = photo(tmp_path / "one" / "A.jpg", b"first")
    second = photo(tmp_path / "two" / "a.jpg", b"second")
    plan = plan_transfers([(first, tmp_path / "out"), (second, tmp_path / "out")])
    assert [Path(op.dst).name for op in plan.operations] == ["A.jpg", "a (2).jpg"]


def test_an_existing_file_differing_only_in_case_is_not_overwritten(tmp_path):
    photo(tmp_path / "out" / "IMG_1.JPG", b"already there")
    src = photo(tmp_path / "in" / "img_1.jpg", b"new")
    plan = plan_transfers([(src, tmp_path / "out")])
    assert Path(plan.operations[0].dst).name == "img_1 (2).jpg"
    run(plan, tmp_path / "journal.jsonl")
    assert (tmp_path / "out" / "IMG_1.JPG").read_bytes() == b"already there"


def test_two_classes_differing_only_in_case_are_refused(tmp_path):
    files = [photo(tmp_path / "in" / f"{i}.jpg", bytes([i])) for i in range(2)]
    with pytest.raises(FilesError, match="differ only in case"):
        plan_sort([(str(files[0]), "Roses", 0.9), (str(files[1]), "roses", 0.9)], tmp_path / "sorted",
                  min_confidence=0.5)
    assert not (tmp_path / "sorted").exists()


def test_sorting_fills_an_existing_folder_spelled_otherwise(tmp_path):
    (tmp_path / "sorted" / "Roses").mkdir(parents=True)
    src = photo(tmp_path / "in" / "a.jpg")
    plan = plan_sort([(str(src), "roses", 0.9)], tmp_path / "sorted", min_confidence=0.5)
    assert Path(plan.operations[0].dst).parent == tmp_path / "sorted" / "Roses"


def test_a_new_class_differing_only_in_case_is_refused(tmp_path):
    dataset = Dataset(tmp_path / "dataset")
    dataset.add_class("Roses")
    with pytest.raises(FilesError, match="'roses' and the class 'Roses' differ only in case"):
        dataset.add_class("roses")
    assert dataset.class_names() == ["Roses"]
    assert dataset.add_class("Roses") == tmp_path / "dataset" / "Roses"  # the same name is fine

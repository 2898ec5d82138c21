"""core/files: plans, journaled copies and moves, undo/redo across restarts, recovery."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from files_support import hashes, make_files, snapshot
from resnet_gui.core.files import steps
from resnet_gui.core.files.dataset import Dataset
from resnet_gui.core.files.journal import Journal, run_all
from resnet_gui.core.files.plan import COPY, MOVE, FilesError, Operation, Plan, plan_transfers
from resnet_gui.core.files.records import folders_of


def test_plan_names_never_collide_with_files_or_each_other(tmp_path):
    a = make_files(tmp_path / "a", 2)
    b = make_files(tmp_path / "b", 2)  # same names as a's
    dest = tmp_path / "dest"
    (dest / "cats").mkdir(parents=True)
    (dest / "cats" / "photo_000.jpg").write_bytes(b"someone else's")
    plan = plan_transfers([(p, dest / "cats") for p in a + b])
    names = [Path(op.dst).name for op in plan.operations]
    assert names == ["photo_000 (2).jpg", "photo_001.jpg", "photo_000 (3).jpg", "photo_001 (2).jpg"]
    assert plan.folder_counts() == {str(dest / "cats"): 4}
    assert plan.bytes_needed == 4000
    assert all(op.kind == COPY for op in plan.operations)
    assert plan.summary() == "copy 4 photos into 1 folder, 0.0 MB"
    one = plan_transfers([(a[0], dest / "cats"), (a[1], dest / "dogs")], move=True)
    assert one.summary().startswith("move 2 photos into 2 folders")
    assert plan_transfers([(a[0], dest / "cats")]).summary().startswith("copy 1 photo into 1 folder")


def test_copy_keeps_timestamps_and_never_touches_sources(tmp_path):
    files = make_files(tmp_path / "src", 5)
    before = snapshot(tmp_path / "src")
    journal = Journal(tmp_path / "j.jsonl")
    result = run_all(journal.run(plan_transfers([(p, tmp_path / "dest") for p in files])))
    assert result.done == 5 and not result.failed
    assert snapshot(tmp_path / "src") == before
    for p in files:
        copy = tmp_path / "dest" / p.name
        assert copy.read_bytes() == p.read_bytes()
        assert copy.stat().st_mtime == p.stat().st_mtime


def test_existing_file_is_never_overwritten_even_if_it_appears_after_planning(tmp_path):
    files = make_files(tmp_path / "src", 1)
    plan = plan_transfers([(files[0], tmp_path / "dest")])
    (tmp_path / "dest").mkdir()
    intruder = tmp_path / "dest" / files[0].name
    intruder.write_bytes(b"appeared meanwhile")
    journal = Journal(tmp_path / "j.jsonl")
    run_all(journal.run(plan))
    assert intruder.read_bytes() == b"appeared meanwhile"
    assert (tmp_path / "dest" / "photo_000 (2).jpg").read_bytes() == files[0].read_bytes()
    # the journal knows the new name, so undo removes the copy and not the intruder
    assert Journal(tmp_path / "j.jsonl").batches[1].operations[0].dst.endswith("photo_000 (2).jpg")
    run_all(Journal(tmp_path / "j.jsonl").undo())
    assert intruder.exists() and not (tmp_path / "dest" / "photo_000 (2).jpg").exists()


def test_move_undo_redo_across_restarts(tmp_path):
    files = make_files(tmp_path / "src", 6)
    original = hashes(tmp_path / "src")
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    run_all(journal.run(plan_transfers([(p, tmp_path / "dest" / "x") for p in files], move=True, title="t")))
    journal.close()
    assert hashes(tmp_path / "dest") == original and not any((tmp_path / "src").iterdir())

    reopened = Journal(path)  # a restart: everything comes from the file
    assert reopened.can_undo.title == "t" and reopened.can_redo is None
    run_all(reopened.undo())
    reopened.close()
    assert hashes(tmp_path / "src") == original and not list((tmp_path / "dest").rglob("*.jpg"))
    assert [p.stat().st_mtime for p in files] == [1_500_000_000 + i for i in range(6)]

    again = Journal(path)
    assert again.can_undo is None and again.can_redo.title == "t"
    run_all(again.redo())
    assert hashes(tmp_path / "dest") == original
    assert Journal(path).can_undo.title == "t"


def test_new_batch_clears_redo_and_undo_goes_back_in_order(tmp_path):
    a = make_files(tmp_path / "src", 2)
    journal = Journal(tmp_path / "j.jsonl")
    run_all(journal.run(Plan([Operation(COPY, str(a[0]), str(tmp_path / "d" / "a.jpg"))], "first")))
    run_all(journal.run(Plan([Operation(COPY, str(a[1]), str(tmp_path / "d" / "b.jpg"))], "second")))
    run_all(journal.undo())
    assert journal.can_redo.title == "second"
    run_all(journal.run(Plan([Operation(COPY, str(a[1]), str(tmp_path / "d" / "c.jpg"))], "third")))
    assert journal.can_redo is None
    assert [journal.can_undo.title] == ["third"]
    run_all(journal.undo())
    assert journal.can_undo.title == "first"
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["a.jpg"]


def test_undo_leaves_a_changed_copy_in_place(tmp_path, monkeypatch):
    """Undo removes only what the batch wrote, byte for byte: an edited copy stays, with a note."""
    trashed = []
    monkeypatch.setattr(steps, "send_to_trash", lambda p: (trashed.append(p.read_bytes()), p.unlink()))
    files = make_files(tmp_path / "src", 1)
    journal = Journal(tmp_path / "j.jsonl")
    run_all(journal.run(plan_transfers([(files[0], tmp_path / "dest")])))
    (tmp_path / "dest" / files[0].name).write_bytes(b"edited in the dataset")
    result = run_all(journal.undo())
    assert trashed == [] and "left in place" in result.notes[0]
    assert (tmp_path / "dest" / files[0].name).read_bytes() == b"edited in the dataset"


def test_undo_of_a_copy_whose_original_changed_goes_to_the_trash_not_away(tmp_path, monkeypatch):
    trashed = []
    monkeypatch.setattr(steps, "send_to_trash", lambda p: (trashed.append(p.read_bytes()), p.unlink()))
    files = make_files(tmp_path / "src", 1)
    journal = Journal(tmp_path / "j.jsonl")
    run_all(journal.run(plan_transfers([(files[0], tmp_path / "dest")])))
    copy = (tmp_path / "dest" / files[0].name).read_bytes()
    files[0].write_bytes(b"the original, edited")
    result = run_all(journal.undo())
    assert trashed == [copy] and "trash" in result.notes[0]


def test_real_send2trash_is_used_for_removal(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    victim = tmp_path / "photo.jpg"
    victim.write_bytes(b"x")
    steps.send_to_trash(victim)
    assert not victim.exists()
    assert [p.name for p in (tmp_path / "xdg" / "Trash" / "files").iterdir()] == ["photo.jpg"]


@pytest.mark.parametrize("action", ["finish", "undo"])
@pytest.mark.parametrize("cut", range(1, 9))
def test_every_interrupted_state_of_a_move_can_finish_or_undo(tmp_path, cut, action):
    """A journal cut after each record (a kill anywhere), the files as that kill left them."""
    files = make_files(tmp_path / "src", 2)
    original = hashes(tmp_path / "src")
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    run_all(journal.run(plan_transfers([(p, tmp_path / "dest") for p in files], move=True)))
    journal.close()
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 9  # batch, pass, start/wrote/ok twice, end: cut 8 = killed before "end"
    done = {json.loads(line)["i"] for line in lines[:cut] if json.loads(line)["t"] == "ok"}
    for i, src in enumerate(files):
        if i not in done:  # records are written before their step: a step without "ok" may not have begun
            os.replace(tmp_path / "dest" / src.name, src)
    path.write_bytes(b"".join(lines[:cut]) + b'{"t": "ok", "b": 1, "i"')  # and a torn last line
    journal = Journal(path)
    assert journal.interrupted is not None
    run_all(getattr(journal, action)())
    journal.close()
    assert Journal(path).interrupted is None
    assert hashes(tmp_path / ("dest" if action == "finish" else "src")) == original
    assert hashes(tmp_path / "src", tmp_path / "dest") == original


def test_half_done_move_step_is_finished_without_a_duplicate(tmp_path):
    src = make_files(tmp_path / "src", 1)[0]
    dst = tmp_path / "dest" / src.name
    dst.parent.mkdir()
    dst.write_bytes(src.read_bytes())  # killed after the copy, before removing the source
    (dst.parent / ".resnet-gui-ab12cd34-x.jpg.partial").write_bytes(b"torn")  # and a torn temp
    path = tmp_path / "j.jsonl"
    ops = [Operation(MOVE, str(src), str(dst))]
    path.write_text(json.dumps({"t": "batch", "b": 1, "ops": [op.to_json() for op in ops],
                                "roots": folders_of(ops)}) + "\n")
    run_all(Journal(path).finish())
    assert not src.exists() and [p.name for p in dst.parent.iterdir()] == [src.name]


def test_journal_that_is_not_ours_is_refused(tmp_path):
    bad = tmp_path / "j.jsonl"
    bad.write_text('{"t": "ok", "b": 9, "i": 0}\n')
    with pytest.raises(FilesError, match="not a journal"):
        Journal(bad)


def test_dataset_classes_counts_and_labeling(tmp_path):
    photos = make_files(tmp_path / "unlabeled", 4)
    data = Dataset(tmp_path / "data")
    assert data.classes() == []
    data.add_class("cat")
    run_all(data.journal.run(data.plan_label(photos[:3], "cat")))
    run_all(data.journal.run(data.plan_label(photos[3:], "dog")))
    assert [(c.name, c.count) for c in data.classes()] == [("cat", 3), ("dog", 1)]
    assert set(data.labeled()) == {str(p) for p in photos}
    run_all(data.journal.undo())
    assert set(Dataset(tmp_path / "data").labeled()) == {str(p) for p in photos[:3]}
    with pytest.raises(FilesError, match="folder name"):
        data.add_class("../escape")


def test_first_free_and_nearest_existing(tmp_path):
    from resnet_gui.core.paths import first_free, nearest_existing

    (tmp_path / "m.pt").write_bytes(b"1")
    (tmp_path / "m-2.pt").write_bytes(b"2")
    name = lambda n: tmp_path / ("m.pt" if n == 1 else f"m-{n}.pt")  # noqa: E731
    assert first_free(name) == tmp_path / "m-3.pt"
    assert first_free(name, lambda p: p.name in {"m.pt"}) == tmp_path / "m-2.pt"  # another rule of "taken"
    assert nearest_existing(tmp_path / "a" / "b" / "c") == tmp_path
    assert nearest_existing(tmp_path / "m.pt") == tmp_path / "m.pt"
    assert nearest_existing(Path("no-such-folder-here") / "x") == Path(".")  # a relative path ends, too


def test_shared_dataset_and_its_journal_are_one_object_across_threads(tmp_path, monkeypatch):
    """The pages' jobs ask for the shared dataset from their own threads at once: every one of
    them must get the same Dataset and the same Journal (one undo history)."""
    import threading
    import time

    from resnet_gui.core.files import dataset as dataset_module

    class SlowJournal(Journal):  # a long history takes a while to read: the window for a race
        def __init__(self, path) -> None:
            time.sleep(0.05)
            super().__init__(path)

    monkeypatch.setattr(dataset_module, "Journal", SlowJournal)
    root = tmp_path / "threads"
    make_files(root / "cats", 3)
    start = threading.Barrier(8)
    got: list[tuple[Dataset, Journal]] = []

    def ask() -> None:
        start.wait()
        dataset = Dataset.shared(root)
        got.append((dataset, dataset.journal))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(d) for d, _ in got}) == 1
    assert len({id(j) for _, j in got}) == 1

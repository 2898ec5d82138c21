"""A journal is data from disk, like a weights file: edited or crafted journals make ``undo``
and ``finish`` refuse in one line before any file is touched; malformed ones too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from files_support import make_files, snapshot
from resnet_gui.cli import main
from resnet_gui.core.files.journal import Journal, run_all
from resnet_gui.core.files.plan import COPY, MOVE, FilesError, Operation, plan_transfers
from resnet_gui.core.files.records import folders_of


def _sorted(tmp_path, move=False, n=2):
    """A real batch: photos in src/, copied (or moved) into out/cat/ with the journal in out/.resnet-gui/."""
    files = make_files(tmp_path / "src", n)
    path = tmp_path / "out" / ".resnet-gui" / "sort.jsonl"
    journal = Journal(path)
    run_all(journal.run(plan_transfers([(p, tmp_path / "out" / "cat") for p in files], move=move)))
    journal.close()
    return files, path


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _undo(capsys, path, *extra) -> tuple[int, str]:
    code = main(["undo", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _victim(folder: Path, name: str = "victim.jpg", data: bytes = b"the user's own photo") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    victim = folder / name
    victim.write_bytes(data)
    return victim


def _forged(tmp_path, ops: list[Operation], extra: list[dict] = (), roots: list[str] | None = None) -> Path:
    path = tmp_path / "out" / ".resnet-gui" / "forged.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = {"t": "batch", "b": 1, "title": "t", "ops": [op.to_json() for op in ops],
             "roots": folders_of(ops) if roots is None else roots}
    _write(path, [batch, {"t": "pass", "b": 1, "dir": "do"}, *extra])
    return path


def _refused(capsys, path, *extra, match="refused|not a journal|older version"):
    code, text = _undo(capsys, path, *extra)
    assert code == 2 and "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    assert __import__("re").search(match, lines[0]), lines[0]
    return lines[0]


def test_edited_move_destination_elsewhere_is_refused(tmp_path, capsys):
    """A ``move`` op whose dst names a file the app never created, outside the batch's folders."""
    files, path = _sorted(tmp_path, move=True)
    victim = _victim(tmp_path / "home")
    records = _records(path)
    records[0]["ops"][0]["dst"] = str(victim)
    _write(path, records)
    before = snapshot(tmp_path)
    assert "outside" in _refused(capsys, path)
    assert snapshot(tmp_path) == before


def test_copy_op_whose_source_holds_the_victims_bytes_cannot_delete_it(tmp_path, capsys):
    """Inside the journal's own folder, but never written by the batch: no 'wrote' record, refused."""
    victim = _victim(tmp_path / "out" / "cat")
    twin = _victim(tmp_path / "elsewhere", "twin.jpg", victim.read_bytes())
    ops = [Operation(COPY, str(twin), str(victim))]
    path = _forged(tmp_path, ops, [{"t": "start", "b": 1, "i": 0}, {"t": "ok", "b": 1, "i": 0},
                                   {"t": "end", "b": 1, "stopped": None}])
    before = snapshot(tmp_path)
    assert "no record of writing" in _refused(capsys, path)
    assert snapshot(tmp_path) == before


def test_copy_op_with_another_source_cannot_trash_a_file(tmp_path, capsys, monkeypatch):
    from resnet_gui.core.files import steps

    trashed = []
    monkeypatch.setattr(steps, "send_to_trash", lambda p: trashed.append(p))
    victim = _victim(tmp_path / "out" / "cat")
    other = _victim(tmp_path / "elsewhere", "other.jpg", b"different bytes")
    path = _forged(tmp_path, [Operation(COPY, str(other), str(victim))],
                   [{"t": "start", "b": 1, "i": 0}, {"t": "ok", "b": 1, "i": 0}, {"t": "end", "b": 1}])
    _refused(capsys, path)
    assert trashed == [] and victim.exists()


def test_a_wrote_record_that_does_not_match_leaves_the_file(tmp_path, capsys):
    """A forged hash: the file's bytes differ from it, so undo leaves the file in place."""
    victim = _victim(tmp_path / "out" / "cat")
    twin = _victim(tmp_path / "elsewhere", "twin.jpg", victim.read_bytes())
    path = _forged(tmp_path, [Operation(COPY, str(twin), str(victim))],
                   [{"t": "start", "b": 1, "i": 0}, {"t": "wrote", "b": 1, "i": 0, "size": 3, "sha": "0" * 64},
                    {"t": "ok", "b": 1, "i": 0}, {"t": "end", "b": 1}])
    code, text = _undo(capsys, path)
    assert victim.exists() and "left in place" in text and "Traceback" not in text


def test_relative_paths_are_refused_not_resolved_against_the_current_folder(tmp_path, capsys, monkeypatch):
    victim = _victim(tmp_path / "home")
    monkeypatch.chdir(tmp_path / "out" if (tmp_path / "out").exists() else tmp_path)
    path = _forged(tmp_path, [Operation(MOVE, "../../home/victim.jpg", str(tmp_path / "out" / "cat" / "v.jpg"))],
                   roots=[str(tmp_path)])
    assert "relative path" in _refused(capsys, path, "--finish")
    assert victim.exists()


def test_finish_of_a_forged_batch_moving_files_from_elsewhere_is_refused(tmp_path, capsys):
    """Only 'batch' and 'pass do' records: finishing would move the victim out of the user's folder."""
    victim = _victim(tmp_path / "home")
    path = _forged(tmp_path, [Operation(MOVE, str(victim), str(tmp_path / "attacker" / "v.jpg"))])
    assert "outside" in _refused(capsys, path, "--finish")
    assert victim.exists() and not (tmp_path / "attacker").exists()


def test_batches_without_folders_are_refused_by_every_pass(tmp_path, capsys):
    """Journals of older versions (or forged ones without roots) are read, but never replayed."""
    victim = _victim(tmp_path / "home")
    path = _forged(tmp_path, [Operation(MOVE, str(victim), str(tmp_path / "out" / "v.jpg"))])
    records = _records(path)
    del records[0]["roots"]
    _write(path, records)
    assert "older version" in _refused(capsys, path, "--finish")
    assert victim.exists()


def test_dst_record_naming_a_file_in_another_folder_is_refused(tmp_path, capsys):
    files, path = _sorted(tmp_path)
    victim = _victim(tmp_path / "home")
    with open(path, "a") as handle:
        handle.write(json.dumps({"t": "dst", "b": 1, "i": 0, "dst": str(victim)}) + "\n")
    assert "not a journal" in _refused(capsys, path)
    assert victim.exists()


def test_dst_record_naming_a_file_in_the_same_folder_is_refused(tmp_path, capsys):
    files, path = _sorted(tmp_path)
    victim = _victim(tmp_path / "out" / "cat", "victim.jpg")
    with open(path, "a") as handle:
        handle.write(json.dumps({"t": "dst", "b": 1, "i": 0, "dst": str(victim)}) + "\n")
    before = snapshot(tmp_path)
    assert "no record of writing" in _refused(capsys, path)
    assert snapshot(tmp_path) == before


def test_a_destination_folder_swapped_for_a_link_is_refused(tmp_path, capsys):
    files, path = _sorted(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for f in (tmp_path / "out" / "cat").iterdir():
        os.replace(f, elsewhere / f.name)
    (tmp_path / "out" / "cat").rmdir()
    (tmp_path / "out" / "cat").symlink_to(elsewhere)
    before = snapshot(elsewhere)
    assert "outside" in _refused(capsys, path)
    assert snapshot(elsewhere) == before


def test_a_real_batch_still_undoes_and_redoes(tmp_path, capsys):
    files, path = _sorted(tmp_path, move=True)
    assert not any(f.exists() for f in files)
    assert main(["undo", str(path)]) == 0 and all(f.exists() for f in files)
    assert main(["undo", str(path), "--redo"]) == 0 and not any(f.exists() for f in files)


# ------------------------------------------------------------------ malformed journals

@pytest.mark.parametrize("lines", [
    ['{"t": "batch", "b": 1, "ops": [], "roots": []}', '{"t": "start", "b": 1, "i": 5}'],
    ['{"t": "start", "b": 3, "i": 0}'],
    ['{"t": "batch", "b": 1, "ops": [{"kind": "copy", "src": 5, "dst": null}]}'],
    ['{"t": "batch", "b": 1, "ops": [{"kind": "delete", "src": "/a", "dst": "/b"}]}'],
    ['{"t": "batch", "b": 1, "ops": "many"}'],
    ['{"t": "batch", "b": true, "ops": []}'],
    ['{"t": "batch", "b": 1, "ops": [], "roots": ["relative"]}'],
    ['{"t": "batch", "b": 1, "ops": []}', '{"t": "pass", "b": 1, "dir": "sideways"}'],
    ['{"t": "batch", "b": 1, "ops": []}', '{"t": "batch", "b": 1, "ops": []}'],
    ['{"t": "rm -rf", "b": 1}'],
    ["[" * 100_000],
    ['{"t": ' * 100_000],
])
def test_malformed_journals_are_refused_in_one_line(tmp_path, capsys, lines):
    path = tmp_path / "j.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, text = _undo(capsys, path)
    assert code == 2 and len(text.strip().splitlines()) == 1 and text.startswith("error: ")
    assert "Traceback" not in text


def test_a_huge_line_is_refused_in_bounded_memory(tmp_path):
    """A 200 MB line (the report's was 3 GB and took 6.2 GB): refused after reading 32 MB of it."""
    path = tmp_path / "j.jsonl"
    with open(path, "wb") as handle:
        handle.write(b'{"t": "batch", "b": 1, "title": "')
        for _ in range(200):
            handle.write(b"x" * (1 << 20))
        handle.write(b'", "ops": []}\n')
    code = ("import resource, sys; from resnet_gui.cli import main; code = main(['undo', sys.argv[1]]);"
            # VmHWM is this process's own peak; ru_maxrss would carry the forking pytest's over exec
            "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1], file=sys.stderr);"
            "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and lines[0].startswith("error: ") and "longer than 32 MB" in lines[0]
    peak_mb = int(lines[-1]) / 1024
    assert peak_mb < 400, f"peak {peak_mb:.0f} MB"


def test_journal_errors_are_files_errors_in_the_core(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"t": "batch", "b": 1, "ops": [], "roots": []}\n{"t": "ok", "b": 1, "i": 0}\n')
    with pytest.raises(FilesError, match="line 2"):
        Journal(path)

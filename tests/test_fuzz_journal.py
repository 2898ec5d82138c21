"""Fuzzing journals (Journal, undo, redo, finish): a real batch's journal with records added,
changed, cut and replaced (kinds, batch numbers, indices, paths inside, outside and relative,
hashes, lines of any length). The property: the journal acts or refuses with one FilesError
line; no other exception; no file it did not write is touched; no photo is ever lost."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

from hypothesis import strategies as st

from fuzz_support import Property, one_line, sandbox
from resnet_gui.core.files.journal import Journal, run_all
from resnet_gui.core.files.plan import FilesError, plan_transfers

KINDS = st.sampled_from(["batch", "pass", "start", "dst", "wrote", "ok", "fail", "end", "", "x" * 30])
PATHS = st.sampled_from(["out/cat/p0.jpg", "out/cat/victim.jpg", "victims/v0.jpg", "../victims/v0.jpg",
                         "src/p1.jpg", "out/cat", "/", "out/cat/p0 (2).jpg", "", "out/.resnet-gui/sort.jsonl"])
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.integers(-2**70, 2**70), st.text(max_size=5),
                   st.just("0" * 64), st.lists(st.integers(0, 3), max_size=3), st.floats(allow_nan=True))
FIELDS = st.sampled_from(["t", "b", "i", "dir", "dst", "src", "size", "sha", "ops", "roots", "stopped", "why"])
RECORD = st.dictionaries(FIELDS, st.one_of(VALUES, KINDS, PATHS), max_size=6)
EDITS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 20), RECORD),
    st.tuples(st.just("set"), st.integers(0, 20), FIELDS, st.one_of(VALUES, KINDS, PATHS)),
    st.tuples(st.just("op"), st.integers(0, 3), st.sampled_from(["src", "dst", "kind", "size"]),
              st.one_of(PATHS, VALUES, st.sampled_from(["copy", "move"]))),
    st.tuples(st.just("drop"), st.integers(0, 20)),
    st.tuples(st.just("raw"), st.integers(0, 20), st.sampled_from([b"[" * 5000, b"{", b"\xff\xfe", b"x" * 70_000,
                                                                    b'{"t": "batch", "b": 1e999}', b"null"])),
), max_size=6)


def _hashes(box: Path) -> Counter:
    return Counter(hashlib.sha256(p.read_bytes()).hexdigest() for p in box.rglob("*")
                   if p.is_file() and not p.is_symlink() and ".resnet-gui" not in p.parts)


def _absolute(box: Path, value):
    if isinstance(value, str) and value and not value.startswith("..") and value != "/" and "/" in value:
        return str(box / value)
    return value


def _edit(lines: list[bytes], edits: list, box: Path) -> list[bytes]:
    for edit in edits:
        where = edit[1] % (len(lines) + 1)
        if edit[0] == "add":
            lines.insert(where, json.dumps({k: _absolute(box, v) for k, v in edit[2].items()}).encode())
        elif edit[0] == "raw":
            lines.insert(where, edit[2])
        elif edit[0] == "drop" and lines:
            lines.pop(where % len(lines))
        elif lines:
            try:
                record = json.loads(lines[where % len(lines)])
            except (ValueError, RecursionError):
                continue
            if not isinstance(record, dict):
                continue
            if edit[0] == "set":
                record[edit[2]] = _absolute(box, edit[3])
            elif isinstance(record.get("ops"), list) and record["ops"]:
                record["ops"][edit[1] % len(record["ops"])][edit[2]] = _absolute(box, edit[3])
            lines[where % len(lines)] = json.dumps(record).encode()
    return lines


def check_journal(move: bool, undone: bool, edits: list, action: str) -> None:
    old_trash = os.environ.get("XDG_DATA_HOME")
    with sandbox() as box:
        os.environ["XDG_DATA_HOME"] = str(box / "trash")  # send2trash, if ever called, stays in the box
        try:
            _check(box, move, undone, edits, action)
        finally:
            if old_trash is None:
                os.environ.pop("XDG_DATA_HOME", None)
            else:
                os.environ["XDG_DATA_HOME"] = old_trash


def _check(box: Path, move: bool, undone: bool, edits: list, action: str) -> None:
    for folder, names in (("src", ["p0.jpg", "p1.jpg"]), ("victims", ["v0.jpg"]), ("out/cat", ["victim.jpg"])):
        (box / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            (box / folder / name).write_bytes(hashlib.sha256(f"{folder}/{name}".encode()).digest() * 40)
    path = box / "out" / ".resnet-gui" / "sort.jsonl"
    journal = Journal(path)
    run_all(journal.run(plan_transfers([(box / "src" / n, box / "out" / "cat") for n in ("p0.jpg", "p1.jpg")],
                                       move=move)))
    if undone:
        run_all(journal.undo())
    journal.close()
    victims = {p: p.read_bytes() for p in (box / "victims" / "v0.jpg", box / "out" / "cat" / "victim.jpg")}
    photos = _hashes(box)
    path.write_bytes(b"\n".join(_edit(path.read_bytes().splitlines(), edits, box)) + b"\n")
    try:
        edited = Journal(path)
        try:
            run_all(getattr(edited, action)())
        finally:
            edited.close()
    except FilesError as exc:
        one_line(exc)
    for victim, data in victims.items():
        assert victim.read_bytes() == data, f"{victim} was touched"
    after = _hashes(box)
    assert all(after[h] >= 1 for h in photos), "a photo was lost"


PROPERTIES = [
    Property("journal edited records", check_journal,
             {"move": st.booleans(), "undone": st.booleans(), "edits": EDITS,
              "action": st.sampled_from(["undo", "redo", "finish"])}, examples=40),
]

(test_journal_edited_records,) = (p.test() for p in PROPERTIES)

"""The journal: an append-only file of JSON lines that makes every batch finishable, undoable
and redoable, also after a kill or a restart.

Records (one JSON object a line)::

    {"t": "batch", "b": 3, "title": "...", "time": ..., "ops": [{kind, src, dst, size}, ...],
    {"t": "batch", "b": 3, "title": "...", "time": ..., "ops": [{kind, src, dst, size}, ...],
     "roots": ["/resolved/folder", ...],      the only folders its passes may touch
     "mk": [folders the batch creates], "rm": [folders it empties and removes]}
    {"t": "pass", "b": 3, "dir": "do"|"undo"}   a pass over the batch begins
    {"t": "start", "b": 3, "i": 7}               op 7 is about to be touched (do passes)
    {"t": "dst", "b": 3, "i": 7, "dst": "..."}   op 7's planned name was taken: the new one
    {"t": "wrote", "b": 3, "i": 7, "size": n, "sha": "..."}  op 7's copy, before it gets its name
    {"t": "ok", "b": 3, "i": 7} / {"t": "fail", "b": 3, "i": 7, "why": "..."}
    {"t": "end", "b": 3, "stopped": null|"why"}  the pass is over

Each record is written with one ``write`` before the step it announces, so a killed process
loses none; batch, pass, end and dst records are also fsynced, the others at least every
``FSYNC_EVERY`` seconds (after a power cut the last few may be missing, which is harmless:
every step is idempotent on the files, see :mod:`.steps`). A torn last line is ignored.

A journal on disk is untrusted (:mod:`.records`): undo may only remove files whose size and
hash match a ``wrote`` record, and every pass stays inside the batch's ``roots`` and, for
destinations, inside the folder the journal serves (the one holding its ``.resnet-gui``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import records, steps
from .plan import COPY, FilesError, Operation, Plan
from .transfer import fsync_dir, is_full_disk, remove_stale_partials

DO, UNDO = "do", "undo"
FSYNC_EVERY = 0.5  # seconds between fsyncs of start/ok records


@dataclass
class Progress:
    """One operation handled: ``done`` of ``total`` in this pass."""

    done: int
    total: int
    name: str


@dataclass
class BatchState:
    batch: int
    title: str
    time: float
    operations: list[Operation]
    direction: str = DO
    ended: bool = False
    stopped: str | None = None
    touched: set[int] = field(default_factory=set)  # started in the latest do pass
    finished: set[int] = field(default_factory=set)  # ok in the current pass
    failed: dict[int, str] = field(default_factory=dict)
    make_folders: list[str] = field(default_factory=list)  # undo removes them when empty
    drop_folders: list[str] = field(default_factory=list)  # removed when emptied; undo makes them again
    roots: list[str] | None = None  # None: written by a version that recorded no folders
    wrote: dict[int, tuple[int, str]] = field(default_factory=dict)  # op -> (size, sha256) of its copy


@dataclass
class PassResult:
    """What a pass did; ``stopped`` says why it ended early (full disk, cancelled)."""

    batch: int
    direction: str
    done: int
    failed: list[tuple[str, str]]
    notes: list[str]
    stopped: str | None = None


class Journal:
    """``Journal(path)`` reads what is there (or starts empty); ``run(plan)``, ``undo()``,
    ``redo()`` and ``finish()`` are generators yielding :class:`Progress` and returning a
    :class:`PassResult`. One thread at a time may run passes; state reads are safe anytime."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        # the folder this journal serves: destinations must stay inside it
        self.home = self.path.parent.parent if self.path.parent.name == ".resnet-gui" else self.path.parent
        self._lock = threading.Lock()
        self.batches: dict[int, BatchState] = {}
        self._applied: list[int] = []  # undo stack
        self._undone: list[int] = []  # redo stack
        self._handle = None
        self._last_sync = 0.0
        if self.path.exists():
            self._replay()

    # ------------------------------------------------------------ reading

    def _replay(self) -> None:
        for number, record in records.read_lines(self.path):
            try:
                records.check_record(record, self.batches)
                self._apply(record)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise FilesError(f"{self.path} is not a journal of this app (line {number}: {exc}); "
                                 "nothing was touched") from None

    def _apply(self, r: dict) -> None:
        kind = r["t"]
        if kind == "batch":
            ops = [records.parse_operation(op) for op in r["ops"]]
            roots = [str(root) for root in r["roots"]] if isinstance(r.get("roots"), list) else None
            self.batches[r["b"]] = BatchState(r["b"], str(r.get("title") or ""), float(r.get("time", 0)), ops,
                                              roots=roots, make_folders=[str(f) for f in r.get("mk", [])],
                                              drop_folders=[str(f) for f in r.get("rm", [])])
            self._undone.clear()
            return
        state = self.batches[r["b"]]
        if kind == "pass":
            state.direction, state.ended, state.stopped, state.finished = r["dir"], False, None, set()
            for stack in (self._applied, self._undone):
                if state.batch in stack:
                    stack.remove(state.batch)
            if r["dir"] == DO:
                state.touched, state.failed = set(), {}
                self._applied.append(state.batch)
        elif kind == "start":
            state.touched.add(r["i"])
        elif kind == "dst":
            state.operations[r["i"]].dst = str(r["dst"])
            state.wrote.pop(r["i"], None)  # a hash recorded before names the old file, not this one
        elif kind == "wrote":
            state.wrote[r["i"]] = (int(r["size"]), str(r["sha"]))
        elif kind == "ok":
            state.finished.add(r["i"])
        elif kind == "fail":
            state.failed[r["i"]] = str(r["why"])
        elif kind == "end":
            state.ended, state.stopped = True, r.get("stopped")
            if state.direction == UNDO:
                self._undone.append(state.batch)

    @property
    def interrupted(self) -> BatchState | None:
        """A batch whose last pass never ended (a kill, a crash): finish() or undo() it."""
        return next((b for b in self.batches.values() if not b.ended), None)

    @property
    def can_undo(self) -> BatchState | None:
        return self.interrupted or (self.batches[self._applied[-1]] if self._applied else None)

    @property
    def can_redo(self) -> BatchState | None:
        return None if self.interrupted else (self.batches[self._undone[-1]] if self._undone else None)

    def done_sources(self) -> dict[str, str]:
        """Source path -> destination, for every operation now done (labeled photos)."""
        with self._lock:
            return {op.src: op.dst for b in self.batches.values() if b.direction == DO
                    for i, op in enumerate(b.operations) if i in b.finished}

    # ------------------------------------------------------------ writing

    def _write(self, record: dict, sync: bool = False) -> None:
        with self._lock:
            self._apply(record)
            if self._handle is None:
                new = not self.path.exists()
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.path, "ab")
                if not new and self._handle.tell() and not self._ends_with_newline():
                    self._handle.write(b"\n")  # after a torn line
                if new:
                    fsync_dir(self.path.parent)
            self._handle.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
            self._handle.flush()
            now = time.monotonic()
            if sync or now - self._last_sync > FSYNC_EVERY:
                os.fsync(self._handle.fileno())
                self._last_sync = now

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                os.fsync(self._handle.fileno())
                self._handle.close()
                self._handle = None

    # ------------------------------------------------------------ passes

    def run(self, plan: Plan, should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
        """Record ``plan`` as a new batch and do it. Refused while a batch is interrupted."""
        if self.interrupted is not None:
            raise FilesError(f"an earlier batch ({self.interrupted.title or 'unnamed'}) was interrupted: "
                             "finish or undo it first")
        number = max(self.batches, default=0) + 1
        operations = [Operation(op.kind, os.path.abspath(op.src), os.path.abspath(op.dst), op.size)
                      for op in plan.operations]
        record = {"t": "batch", "b": number, "title": plan.title, "time": time.time(),
                  "ops": [op.to_json() for op in operations], "roots": records.folders_of(operations)}
        if plan.make_folders or plan.drop_folders:
            record.update(mk=[os.path.abspath(f) for f in plan.make_folders],
                          rm=[os.path.abspath(f) for f in plan.drop_folders])
        self._write(record, sync=True)
        return (yield from self._pass(number, DO, should_stop))

    def undo(self, should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
        """Undo the last batch done, or what an interrupted one did."""
        target = self.can_undo
        if target is None:
            raise FilesError("nothing to undo")
        return (yield from self._pass(target.batch, UNDO, should_stop))

    def redo(self, should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
        target = self.can_redo
        if target is None:
            raise FilesError("nothing to redo")
        return (yield from self._pass(target.batch, DO, should_stop))

    def finish(self, should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
        """Carry an interrupted pass (do or undo) through to its end."""
        target = self.interrupted
        if target is None:
            raise FilesError("nothing was interrupted")
        return (yield from self._pass(target.batch, target.direction, should_stop, resume=True))

    def _pass(self, number: int, direction: str, should_stop, resume: bool = False) -> Iterator[Progress]:
        state = self.batches[number]
        should_stop = should_stop or (lambda: False)
        fresh = not resume or state.direction != direction
        finished = set() if fresh else state.finished
        if direction == DO:
            order = [i for i in range(len(state.operations)) if i not in finished]
        else:
            order = [i for i in sorted(state.touched, reverse=True) if i not in finished]
        records.check_pass(state, direction, order, self.home, self.path)  # before the pass is recorded
        if fresh:
            self._write({"t": "pass", "b": number, "dir": direction}, sync=True)
        folders = {Path(state.operations[i].dst).parent for i in order}
        if direction == UNDO:
            folders |= {Path(state.operations[i].src).parent for i in order}
        for folder in folders:  # a killed copy's torn temp file: once per folder, not per photo
            remove_stale_partials(folder)
        result = PassResult(number, direction, len(state.finished), [], [])
        total = len(state.finished) + len(order)
        for folder in state.make_folders if direction == DO else state.drop_folders:
            Path(folder).mkdir(parents=True, exist_ok=True)  # a batch without photos still makes them
        for i in order:
            if should_stop():
                result.stopped = "cancelled"
                break
            op = state.operations[i]
            try:
                if direction == DO:
                    self._write({"t": "start", "b": number, "i": i})
                    steps.do(op, lambda dst: self._write({"t": "dst", "b": number, "i": i, "dst": dst}, sync=True),
                             lambda size, sha: self._write({"t": "wrote", "b": number, "i": i, "size": size,
                                                            "sha": sha}, sync=op.kind != COPY))
                else:
                    note = steps.undo(op, state.wrote.get(i))
                    if note:
                        result.notes.append(note)
            except OSError as exc:
                if is_full_disk(exc):
                    result.stopped = f"the disk is full: {result.done} of {total} done, the rest left where they were"
                    break
                why = f"{Path(op.src).name}: {exc.strerror or exc}" if exc.strerror else str(exc)
                self._write({"t": "fail", "b": number, "i": i, "why": why})
                result.failed.append((op.src, why))
                continue
            self._write({"t": "ok", "b": number, "i": i})
            result.done += 1
            yield Progress(result.done, total, Path(op.src).name)
        if result.stopped is None:
            _remove_empty(state.drop_folders if direction == DO else state.make_folders, result.notes,
                          say=direction == DO)
        self._write({"t": "end", "b": number, "stopped": result.stopped}, sync=True)
        return result


def _remove_empty(folders: list[str], notes: list[str], say: bool) -> None:
    """Remove each folder that is empty, deepest first; one left because it holds other files is
    noted when ``say`` (a class the user asked to remove), silently kept otherwise."""
    for folder in sorted(folders, key=lambda f: -len(Path(f).parts)):
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            continue
        except OSError:
            if say:
                notes.append(f"{folder} was kept: it still holds files that are not photos")


def run_all(passes: Iterator[Progress]) -> PassResult:
    """Drive a pass to its end without reporting progress (tests, scripts)."""
    while True:
        try:
            next(passes)
        except StopIteration as stop:
            return stop.value

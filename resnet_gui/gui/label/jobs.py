"""The Label page's background work: plain generator jobs (no Qt) for its TaskRunners."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from ...core.stop import StopFlag

SCAN_CHUNK = 500  # paths per report while listing a folder: each append stays well under 100 ms
SUGGEST_EMIT = 0.3  # seconds between suggestion reports


@dataclass
class Found:
    paths: list[str]


@dataclass
class Suggested:
    items: list[tuple[str, str, float]]  # (path, label, confidence)


@dataclass
class BatchDone:
    """A labeling batch, an undo or a redo ended: ``failed`` and ``notes`` for the user."""

    action: str
    done: int
    failed: list[tuple[str, str]]
    notes: list[str]
    stopped: str | None


def scan(folder: str, *, should_stop: StopFlag) -> Iterator[Found]:
    from ...core.data.images import iter_image_files

    chunk: list[str] = []
    for path in iter_image_files([folder]):
        if should_stop():
            return
        chunk.append(str(path))
        if len(chunk) >= SCAN_CHUNK:
            yield Found(chunk)
            chunk = []
    if chunk:
        yield Found(chunk)


def label(dataset, paths: list[str], class_name: str, move: bool, *, should_stop: StopFlag):
    """Plan (checked before anything is written) and run one labeling batch."""
    plan = dataset.plan_label(paths, class_name, move=move)
    result = yield from dataset.journal.run(plan, should_stop)
    return _done("label", result)


def edit_class(dataset, kind: str, name: str, other: str = "", *, should_stop: StopFlag):
    """``rename`` ``name`` to ``other``, ``merge`` it into ``other``, or ``remove`` it (its photos
    into the dataset's hidden removed folder): one journaled, undoable batch each."""
    from ...core.files import classes

    plan = {"rename": lambda: classes.plan_rename_class(dataset.data_dir, name, other),
            "merge": lambda: classes.plan_merge_class(dataset.data_dir, name, other),
            "remove": lambda: classes.plan_remove_class(dataset.data_dir, name)}[kind]()
    result = yield from dataset.journal.run(plan, should_stop)
    return _done(kind, result)


def journal_action(dataset, action: str, *, should_stop: StopFlag):
    """``undo``, ``redo`` or ``finish`` on the dataset's journal."""
    result = yield from getattr(dataset.journal, action)(should_stop)
    return _done(action, result)


def _done(action: str, result) -> BatchDone:
    return BatchDone(action, result.done, result.failed, result.notes, result.stopped)


def suggest(weights: str, paths: list[str], *, should_stop: StopFlag) -> Iterator[Suggested]:
    """The model's top-1 and confidence for each photo, in batches."""
    from ...core.engines.choose import open_classifier
    from ...core.infer import classify_files

    classifier = open_classifier(weights).classifier  # any weights the Classify page opens, .onnx too
    batch: list[tuple[str, str, float]] = []
    last = time.monotonic()
    for pred in classify_files(classifier, paths, topk=1, batch_size=16, should_stop=should_stop):
        if pred.ok:
            batch.append((pred.path, pred.label, pred.confidence))
        if batch and time.monotonic() - last > SUGGEST_EMIT:
            yield Suggested(batch)
            batch, last = [], time.monotonic()
    if batch:
        yield Suggested(batch)

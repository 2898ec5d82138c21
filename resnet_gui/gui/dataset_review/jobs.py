"""The Review page's background work: plain generator jobs (no Qt) for its TaskRunners.

The review itself is the core's ``review_folder`` (what ``resnet-gui review`` runs). Acting on
it moves photos inside the dataset as one journaled batch of the dataset's journal (the Label
page's): to another class folder, or out of the dataset into ``.resnet-gui/removed/<class>/``
(hidden, so the trainer skips it; Undo brings it back). Nothing is ever deleted."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ...core.stop import StopFlag
from ...core.text import counted


@dataclass
class Moved:
    """A batch (move, remove, undo, redo) ended."""

    action: str  # "move" | "remove" | "undo" | "redo"
    done: int
    moved: dict[str, str] = field(default_factory=dict)  # source -> where it is now (move/remove)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None


def review(data_dir: str, weights: str, device: str = "cpu", *, should_stop: StopFlag):
    """Stages while it works; returns the core's ReviewReport (None when cancelled), kept as
    the folder's last review (:func:`saved`)."""
    from ...core.review.folder import review_folder
    from ...core.review.saved import save_review, saved_path

    report = yield from review_folder(data_dir, weights, device=device, should_stop=should_stop)
    if report is not None:
        try:
            save_review(saved_path(reviews_dir(), data_dir), report, data_dir, weights)
        except OSError:
            pass  # not kept: the review itself is shown all the same
    return report


def reviews_dir() -> Path:
    from ...resources import user_data_dir

    return user_data_dir() / "reviews"


def saved(data_dir: str, *, should_stop: StopFlag):
    """The folder's last review (a core SavedReview, photos gone since left out), or None."""
    from ...core.review.saved import load_review, saved_path

    return load_review(saved_path(reviews_dir(), data_dir), data_dir)


def removed_folder(data_dir: str | os.PathLike, class_name: str) -> Path:
    from ...core.files.classes import removed_folder as core_removed_folder

    return core_removed_folder(data_dir, class_name)


def move(data_dir: str, moves: list[tuple[str, str]], title: str = "", *, should_stop: StopFlag):
    """``moves``: (photo, class name) pairs, a class of the dataset at ``data_dir``, or "" for out of
    the dataset. Planned and checked before any file moves, then run as ONE journaled batch
    (``title``: its name in Undo; by default what it does)."""
    from ...core.files.checks import check_plan
    from ...core.files.dataset import Dataset
    from ...core.files.plan import plan_transfers

    dataset = Dataset.shared(data_dir)
    pairs = [(path, removed_folder(data_dir, Path(path).parent.name) if not name else dataset.data_dir / name)
             for path, name in moves]
    out = all(not name for _, name in moves)
    where = "out of the dataset" if out else f"to {moves[0][1]}" if len({n for _, n in moves}) == 1 else "to their classes"
    plan = plan_transfers(pairs, move=True, title=title or f"move {counted(len(moves), 'photo')} {where}")
    check_plan(plan, dataset.data_dir)
    result = yield from dataset.journal.run(plan, should_stop)
    sources = {op.src for op in plan.operations}
    moved = {src: dst for src, dst in dataset.journal.done_sources().items() if src in sources}
    return Moved("remove" if out else "move", result.done, moved, result.failed, result.notes, result.stopped)


def journal_action(data_dir: str, action: str, *, should_stop: StopFlag):
    """``undo`` or ``redo`` the dataset journal's last batch (whichever page made it)."""
    from ...core.files.dataset import Dataset

    result = yield from getattr(Dataset.shared(data_dir).journal, action)(should_stop)
    return Moved(action, result.done, {}, result.failed, result.notes, result.stopped)

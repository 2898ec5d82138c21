"""The review of a training folder as one generator, for the CLI and the window alike.

``report = yield from review_folder(data_dir, weights, should_stop=...)``: it yields
:class:`~resnet_gui.core.train.events.Stage` progress events (message, done, total) and
returns a :class:`ReviewReport` (None when cancelled). Nothing is written; photos are only read.

The folder is split exactly as ``train`` would split it (the trainer's own function), so a
duplicate group that straddles the split is the leakage a training run would have."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ...constants import NONE_FOLDER
from ..text import counted
from ..train.config import TrainingError
from ..train.events import Stage
from .duplicates import DuplicateGroup


class ReviewError(ValueError):
    """The review cannot run; one line saying why (the CLI exits 2 with it)."""


@dataclass
class ReviewItem:
    path: str
    given: str  # the class folder it is in
    suggested: str  # the class out-of-fold predictions favour
    score: float  # label quality: out-of-fold probability of ``given`` (low: likely mislabeled)
    issue: bool  # flagged by confident learning (cleanlab's find_label_issues rule)
    model_prob: float  # the reviewing model's own probability of ``given`` (in-sample for its training photos)
    split: str  # "train" | "val": the side of the trainer's split it falls on
    ood_score: float | None = None  # the model's out-of-class score (core/trust); None: the model has no such data
    unknown: bool = False  # above the model's threshold: looks like none of the classes

    def to_json(self) -> dict:
        out = {"path": self.path, "given": self.given, "suggested": self.suggested, "score": round(self.score, 6),
               "issue": self.issue, "split": self.split}
        if self.ood_score is not None:
            out.update(ood_score=round(self.ood_score, 6), unknown=self.unknown)
        return out


@dataclass
class ReviewReport:
    classes: list[str]
    items: list[ReviewItem]  # ranked: most likely mislabeled first
    duplicates: list[DuplicateGroup]
    confusion: list[list[int]]  # [given][suggested] counts of the out-of-fold predictions
    skipped: list[tuple[str, str]] = field(default_factory=list)  # unreadable photos: (path, reason)
    split_from: str = ""
    seconds: float = 0.0
    unlike_note: str = ""  # why no photo is checked against the classes ("" when they are)

    @property
    def issues(self) -> list[ReviewItem]:
        return [item for item in self.items if item.issue]

    @property
    def unlike(self) -> list[ReviewItem]:
        """Photos that look like none of the classes (a dog among the roses, a stray screenshot),
        most unlike first: the model's out-of-class verdict, as ``classify`` gives it."""
        return sorted((it for it in self.items if it.unknown), key=lambda it: -(it.ood_score or 0.0))

    @property
    def leaks(self) -> list[DuplicateGroup]:
        return [group for group in self.duplicates if group.leaks]

    def cell(self, given: str, suggested: str) -> list[ReviewItem]:
        """The photos of one confusion-matrix cell (the window shows them as thumbnails)."""
        return [it for it in self.items if it.given == given and it.suggested == suggested]

    def summary(self) -> str:
        accuracy = sum(r[i] for i, r in enumerate(self.confusion)) / max(1, len(self.items))
        return (f"{len(self.items)} photos in {len(self.classes)} classes ({self.split_from}): "
                f"{len(self.issues)} likely mislabeled, "
                + (f"{len(self.unlike)} unlike any class, " if not self.unlike_note else "")
                + f"{counted(len(self.duplicates), 'duplicate group')}, "
                f"{len(self.leaks)} across train/validation; out-of-fold accuracy {accuracy:.1%}"
                + (f"; skipped {len(self.skipped)} unreadable" if self.skipped else ""))


def load_split(data_dir: str | os.PathLike, val_split: float = 0.2, seed: int = 0, split_csv: str | None = None):
    """The folder and the train/validation split ``train`` would make of it (same function, same
    refusal: TrainingError for a folder that cannot be trained on)."""
    from ..train.config import TrainConfig
    from ..train.fine_tune import _load_split

    cfg = TrainConfig(data_dir=str(data_dir), out="", val_split=val_split, seed=seed, split_csv=split_csv)
    return _load_split(cfg)


def check_classes(model_classes: list[str], folder_classes: list[str]) -> list[int]:
    """Model output index of each folder class; ReviewError naming both lists when they differ
    (the same words as ``calibrate``)."""
    from ..trust.calibrate import class_mismatch

    problem = class_mismatch(model_classes, folder_classes)
    if problem or len(set(model_classes)) != len(model_classes):
        raise ReviewError((problem or f"the model names a class twice: {', '.join(model_classes)}")
                          + "; review with a model trained on this folder")
    return [model_classes.index(name) for name in folder_classes]


def review_folder(data_dir: str | os.PathLike, weights: str | os.PathLike, *, val_split: float = 0.2, seed: int = 0,
                  split_csv: str | None = None, folds: int = 5, device: str = "cpu", workers: int | None = None,
                  features: str = "auto", should_stop: Callable[[], bool] | None = None) -> Iterator[Stage]:
    """Yield Stages; return a ReviewReport, or None if cancelled. Raises ReviewError,
    TrainingError (the folder) or WeightsError (the model), each one line. ``features``: what the
    out-of-fold heads learn from: ``auto`` (the ImageNet teacher's when installed), ``teacher``
    or ``model`` (the model's penultimate features); docs/review.md has the numbers."""
    import time

    from ..model.loading import load_model

    started = time.perf_counter()
    should_stop = should_stop or (lambda: False)
    data, train, val, split_from = load_split(data_dir, val_split, seed, split_csv)
    yield Stage(f"loading {Path(weights).name} (the first model of a session also loads PyTorch)")
    loaded = load_model(weights)
    to_model = check_classes(loaded.info.class_names, data.classes)
    items = [(path, label, "train") for path, label in train] + [(path, label, "val") for path, label in val]
    # _none photos are reviewed like a class of their own: a flower among them, or one of them
    # among the flowers, is a mislabel; their duplicates leak like any other
    classes = list(data.classes)
    none_train, none_val = data.none_split(val_split, seed)
    if none_train or none_val:
        classes.append(NONE_FOLDER)
        items += [(p, len(data.classes), "train") for p in none_train] + [(p, len(data.classes), "val") for p in none_val]
    items.sort(key=lambda it: str(it[0]))
    return (yield from review_items(loaded, classes, items, to_model, split_from=split_from, folds=folds,
                                    seed=seed, device=device, workers=workers, features=features,
                                    should_stop=should_stop, started=started))


def review_items(loaded, classes: list[str], items: list[tuple[Path, int, str]], to_model: list[int], *,
                 split_from: str = "", folds: int = 5, seed: int = 0, device: str = "cpu", workers: int | None = None,
                 features: str = "auto", should_stop: Callable[[], bool], started: float | None = None) -> Iterator[Stage]:
    """The review of labeled photos ``(path, label, split)`` with ``loaded``; see review_folder.
    ``classes`` may end with one the model lacks (``_none``): the model's probability of it is
    1 minus its top class probability."""
    import time

    import numpy as np

    from .duplicates import duplicate_groups, file_digests, similar_pair_steps
    from .features import extract_features
    from .mislabeled import find_label_issues, label_quality, out_of_fold_probs

    started = started or time.perf_counter()
    paths = [path for path, _, _ in items]
    found = yield from extract_features(loaded, paths, device=device, workers=workers, should_stop=should_stop)
    if found.cancelled:
        return None
    rows = [items[i] for i in found.indices]
    labels = np.array([label for _, label, _ in rows], dtype=np.int64)
    if len(np.unique(labels)) < 2:
        raise TrainingError("after skipping unreadable photos, fewer than 2 classes are left to review")
    head_features = yield from _head_features(found, features, should_stop)
    if head_features is None:
        return None
    probs = yield from out_of_fold_probs(head_features, labels, len(classes), folds=folds, seed=seed,
                                         should_stop=should_stop)
    if probs is None:
        return None
    digests = yield from file_digests([str(p) for p in found.paths], should_stop)
    if should_stop():
        return None
    pairs = yield from similar_pair_steps(found.thumbs, should_stop=should_stop)  # a count per block, not 0 / 1
    if pairs is None:
        return None
    splits = [split for _, _, split in rows]
    groups = duplicate_groups([str(p) for p in found.paths], digests, found.thumbs, splits, should_stop=should_stop,
                              pairs=pairs)
    if groups is None:
        return None
    quality = label_quality(labels, probs)
    issues = find_label_issues(labels, probs)
    own = _softmax(found.logits)[:, to_model]  # the model's probabilities, in folder class order
    if len(classes) > len(to_model):  # _none: how little the model favours any class
        own = np.concatenate([own, 1.0 - own.max(1, keepdims=True)], axis=1)
    suggested = probs.argmax(1)
    ood, trust, unlike_note = _out_of_class(loaded, found)
    report_items = [ReviewItem(str(found.paths[i]), classes[labels[i]], classes[suggested[i]], float(quality[i]),
                               bool(issues[i]), float(own[i, labels[i]]), splits[i],
                               None if ood is None else float(ood[i]), ood is not None and trust.is_unknown(ood[i]))
                    for i in np.argsort(quality, kind="stable")]
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (labels, suggested), 1)
    yield Stage("review done", 1, 1)
    return ReviewReport(list(classes), report_items, groups, confusion.tolist(), found.skipped, split_from,
                        time.perf_counter() - started, unlike_note)


TEACHER_CHUNK = 256  # photos per progress step of the teacher's features


def _head_features(found, choice: str, should_stop: Callable[[], bool]) -> Iterator[Stage]:
    """What the out-of-fold heads learn from: the ImageNet teacher's features of the photos
    (cached per photo) or the model's own; None if cancelled. A photo the teacher cannot read
    (it read for the model a moment ago) keeps the review on the model's features."""
    import numpy as np

    from ..teacher.features import teacher_features
    from ..trust.fit import teacher_or_model

    use_teacher, _ = teacher_or_model(choice)
    if not use_teacher:
        return found.features
    total = len(found.paths)
    rows = []
    for start in range(0, total, TEACHER_CHUNK):
        yield Stage(f"the ImageNet teacher's features of {total} photos", start, total)
        rows.append(teacher_features(found.paths[start:start + TEACHER_CHUNK], should_stop=should_stop))
        if should_stop():
            return None
    x = np.concatenate(rows) if rows else np.zeros((0, 1280), np.float32)
    return found.features if np.isnan(x).any() else x


def _out_of_class(loaded, found):
    """(scores, trust data, "") from the model's own out-of-class data, or (None, None, why not)."""
    from ..trust.assess import usable_trust

    trust, notes = usable_trust(loaded.info.trust, found.stats.shape[1])
    if trust is None:  # usable_trust says why in its first note
        return None, None, notes[0]
    if trust.uses_teacher:  # the teacher's features of the same photos (cached per photo)
        from ..teacher.features import teacher_features

        return trust.scores(found.logits, teacher_features(found.paths)), trust, ""
    return trust.scores(found.logits, found.stats), trust, ""


def _softmax(logits):
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)

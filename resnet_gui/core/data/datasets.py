"""Labeled folders (one subfolder per class, or train/ and val/ folders) and their splits.

A ``_none`` folder (constants.NONE_FOLDER) beside the class folders holds photos of none of the
classes: it is not a class. Its photos are listed apart (``none_train``/``none_val``) and
split like a class; training uses them for outlier exposure and the out-of-class threshold."""

from __future__ import annotations

import csv
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ...constants import NONE_FOLDER
from .images import iter_image_files

_SPLIT_NAMES = {"train": ("train", "training"), "val": ("val", "valid", "validation")}


class DatasetError(ValueError):
    """The folder cannot be trained on; the message lists the offending folders."""


@dataclass
class LabeledFolder:
    data_dir: Path
    classes: list[str]
    train: list[tuple[Path, int]]
    val: list[tuple[Path, int]] | None  # None: not split yet
    split_from: str = "folder"  # "train/val folders" | "csv" | "folder"
    ignored: list[str] = field(default_factory=list)  # class folders without a single image, left out
    none_train: list[Path] = field(default_factory=list)  # photos of none of the classes (all, until split)
    none_val: list[Path] | None = None  # None: not split yet

    def none_split(self, val_fraction: float, seed: int = 0) -> tuple[list[Path], list[Path]]:
        """The ``_none`` photos on each side: as the folders or the CSV put them, else a seeded
        share ``val_fraction`` held out (at least one each side when there are two or more)."""
        if self.none_val is not None:
            return list(self.none_train), list(self.none_val)
        if len(self.none_train) < 2:
            return list(self.none_train), []
        train, val = stratified_split([(p, 0) for p in self.none_train], val_fraction, seed)
        return [p for p, _ in train], [p for p, _ in val]

    @property
    def note(self) -> str:
        return ignored_note(self.ignored)

    def counts(self, items: Sequence[tuple[Path, int]]) -> list[int]:
        c = Counter(label for _, label in items)
        return [c.get(i, 0) for i in range(len(self.classes))]


def ignored_note(ignored: Sequence[str]) -> str:
    """What was left out, for the user ('' when nothing was)."""
    if not ignored:
        return ""
    return f"ignored empty class folder{'s' if len(ignored) > 1 else ''}: " + ", ".join(f"{c}/" for c in ignored)


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != NONE_FOLDER)


def _none_photos(folder: Path | None) -> list[Path]:
    return list(iter_image_files([folder / NONE_FOLDER])) if folder and (folder / NONE_FOLDER).is_dir() else []


def _find_split_dir(data_dir: Path, split: str) -> Path | None:
    for name in _SPLIT_NAMES[split]:
        if (data_dir / name).is_dir():
            return data_dir / name
    return None


def _gather(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    items = []
    for index, name in enumerate(classes):
        class_dir = folder / name
        if class_dir.is_dir():
            items += [(p, index) for p in iter_image_files([class_dir])]
    return items


def scan_labeled_folder(data_dir: str | os.PathLike) -> LabeledFolder:
    """Find classes and images under ``data_dir``; refuse unusable folders with a clear reason.

    Layouts: ``data_dir/<class>/*.jpg``, or ``data_dir/train/<class>/`` with ``data_dir/val/<class>/``.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DatasetError(f"{data_dir}: not a folder")
    train_dir, val_dir = _find_split_dir(data_dir, "train"), _find_split_dir(data_dir, "val")
    if train_dir and val_dir:
        classes = sorted({p.name for p in _class_dirs(train_dir)} | {p.name for p in _class_dirs(val_dir)})
        data = LabeledFolder(data_dir, classes, _gather(train_dir, classes), _gather(val_dir, classes),
                             "train/val folders", none_train=_none_photos(train_dir), none_val=_none_photos(val_dir))
        per_class = [a + b for a, b in zip(data.counts(data.train), data.counts(data.val))]
    else:
        classes = [p.name for p in _class_dirs(data_dir)]
        data = LabeledFolder(data_dir, classes, _gather(data_dir, classes), None, none_train=_none_photos(data_dir))
        per_class = data.counts(data.train)
    _validate(data_dir, classes, per_class)
    return _without_empty(data, per_class)


def _without_empty(data: LabeledFolder, per_class: list[int]) -> LabeledFolder:
    """An empty class folder (an undone verdict's, a class just added) cannot be learned: it is
    left out, and ``ignored`` says so, rather than refusing the whole folder."""
    keep = [i for i, n in enumerate(per_class) if n > 0]
    if len(keep) == len(data.classes):
        return data
    index = {old: new for new, old in enumerate(keep)}

    def remap(items):
        return None if items is None else [(path, index[label]) for path, label in items if label in index]
    return LabeledFolder(data.data_dir, [data.classes[i] for i in keep], remap(data.train), remap(data.val),
                         data.split_from, [c for c, n in zip(data.classes, per_class) if n == 0],
                         none_train=data.none_train, none_val=data.none_val)


def _validate(data_dir: Path, classes: list[str], per_class: list[int]) -> None:
    hint = (f"expected one subfolder per class, e.g. daisy/, roses/, each holding that class's photos; "
            f"{NONE_FOLDER}/ is not a class")
    if sum(per_class) == 0:
        raise DatasetError(f"no images found in {data_dir} ({hint})")
    with_images = [c for c, n in zip(classes, per_class) if n > 0]
    if len(with_images) < 2:
        raise DatasetError(f"need at least 2 classes, found {len(with_images)} ({', '.join(with_images)}) "
                           f"in {data_dir} ({hint})")
    too_few = [f"{c}/ ({n})" for c, n in zip(classes, per_class) if n == 1]  # empty ones are left out
    if too_few:
        raise DatasetError(f"each class needs at least 2 images; too few in: {', '.join(too_few)}")


def stratified_split(items: Sequence[tuple[Path, int]], val_fraction: float, seed: int = 0):
    """Split per class with a seeded shuffle; every class keeps >= 1 image on each side."""
    if not 0.0 < val_fraction < 1.0:
        raise DatasetError(f"validation fraction must be between 0 and 1, got {val_fraction}")
    rng = random.Random(seed)
    by_class: dict[int, list] = {}
    for item in items:
        by_class.setdefault(item[1], []).append(item)
    train, val = [], []
    for label in sorted(by_class):
        group = sorted(by_class[label], key=lambda it: str(it[0]))
        rng.shuffle(group)
        n_val = min(len(group) - 1, max(1, round(len(group) * val_fraction)))
        val += group[:n_val]
        train += group[n_val:]
    return train, val


def split_from_csv(data: LabeledFolder, csv_path: str | os.PathLike) -> LabeledFolder:
    """Apply a fixed split from a CSV with columns split,class,file (file relative to its class folder)."""
    wanted: dict[tuple[str, str], str] = {}
    with open(csv_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            wanted[(row["class"], row["file"])] = row["split"].strip().lower()
    train, val = [], []
    for path, label in data.train + (data.val or []):
        split = wanted.get((data.classes[label], path.name))
        if split == "train":
            train.append((path, label))
        elif split in ("val", "valid", "validation"):
            val.append((path, label))
    if not train or not val:
        raise DatasetError(f"{csv_path}: the split matches no train or no val images of {data.data_dir}")
    # _none photos: the rows of class _none say where they go; those it does not name train
    none = data.none_train + (data.none_val or [])
    none_val = [p for p in none if wanted.get((NONE_FOLDER, p.name)) in ("val", "valid", "validation")]
    held = set(none_val)
    none_train = [p for p in none if p not in held]
    return LabeledFolder(data.data_dir, data.classes, train, val, "csv", data.ignored, none_train, none_val)

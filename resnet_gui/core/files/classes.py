"""Renaming, merging and removing a dataset's classes: each is a plan of moves (every file of
the class folder, subfolders kept) that the dataset's journal runs as one undoable batch.
The emptied class folder is removed at the end of the batch and comes back on undo; a removed
class's photos go to the hidden ``.resnet-gui/removed/<class>/`` (the trainer skips it), so
nothing is ever deleted."""

from __future__ import annotations

import os
from pathlib import Path

from ..text import counted
from .checks import check_folder_name, check_plan
from .dataset import APP_FOLDER
from .plan import FilesError, Plan, new_folders, plan_transfers
from .transfer import TEMP_PREFIX

REMOVED_FOLDER = "removed"  # under the dataset's .resnet-gui folder


def removed_folder(data_dir: str | os.PathLike, class_name: str) -> Path:
    """Where photos moved out of the dataset go: hidden, so training skips them; Undo brings them back."""
    return Path(data_dir) / APP_FOLDER / REMOVED_FOLDER / class_name


def _class_folder(data_dir: Path, name: str) -> Path:
    folder = data_dir / check_folder_name(name)
    if name.startswith(".") or not folder.is_dir():
        raise FilesError(f"{name!r} is not a class of {data_dir}")
    return folder


def _plan_folder_move(folder: Path, into: Path, title: str) -> Plan:
    """Every file under ``folder`` into the same place under ``into``; ``folder`` and its
    subfolders are dropped once empty (kept, with a note, when something else stays there)."""
    pairs, subfolders = [], []
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        relative = Path(here).relative_to(folder)
        subfolders.append(here)
        for name in sorted(files):
            path = Path(here) / name
            if not name.startswith(TEMP_PREFIX) and path.is_file() and not path.is_symlink():
                pairs.append((path, into / relative))
    plan = plan_transfers(pairs, move=True, title=title)
    plan.make_folders = new_folders([into / Path(p).relative_to(folder) for p in subfolders])
    plan.drop_folders = sorted(subfolders, key=lambda f: -len(Path(f).parts))
    return plan


def plan_rename_class(data_dir: str | os.PathLike, old: str, new: str) -> Plan:
    """``old``'s folder becomes ``new`` (a name no class has yet)."""
    data_dir = Path(data_dir)
    folder = _class_folder(data_dir, old)
    new = check_folder_name(new.strip())
    if new.startswith("."):
        raise FilesError(f"{new!r} cannot be a class name: names starting with '.' are hidden from training")
    if (data_dir / new).exists():
        raise FilesError(f"{new!r} is already a class of {data_dir.name}: merge into it instead")
    plan = _plan_folder_move(folder, data_dir / new, f"rename class {old} to {new}")
    check_plan(plan, data_dir)
    return plan


def plan_merge_class(data_dir: str | os.PathLike, source: str, into: str) -> Plan:
    """Every photo of ``source`` into the class ``into``; ``source`` goes away (names already
    taken in ``into`` get a suffix)."""
    data_dir = Path(data_dir)
    folder, target = _class_folder(data_dir, source), _class_folder(data_dir, into)
    if folder == target:
        raise FilesError(f"cannot merge {source!r} into itself")
    files = sum(1 for _ in folder.rglob("*") if _.is_file())
    plan = _plan_folder_move(folder, target, f"merge class {source} into {into} ({counted(files, 'photo')})")
    check_plan(plan, data_dir)
    return plan


def plan_remove_class(data_dir: str | os.PathLike, name: str) -> Plan:
    """The class's photos out of the dataset, into ``.resnet-gui/removed/<class>/``; its folder goes."""
    data_dir = Path(data_dir)
    folder = _class_folder(data_dir, name)
    files = sum(1 for _ in folder.rglob("*") if _.is_file())
    plan = _plan_folder_move(folder, removed_folder(data_dir, name), f"remove class {name} ({counted(files, 'photo')})")
    check_plan(plan, data_dir)
    return plan

"""A cancelled (or killed) run leaves ``<model>.pt.resume`` beside its model: the last epoch's
full state. The page offers *Resume* when one matches the form (same folder name and
architecture, so the same default model name), and removes those that nothing can use any
more: once a run of that folder and architecture has finished, its older cancelled runs are
superseded (each resume file holds the weights and the optimizer: hundreds of MB)."""

from __future__ import annotations

import re
from pathlib import Path

RESUME_SUFFIX = ".resume"  # core.train.state.resume_path: <out>.resume


def output_base(data_folder: str, arch: str) -> Path:
    """``<models>/<folder name>-<arch>``: the default model is this + ``.pt``, ``-2.pt``, ..."""
    from ...resources import user_data_dir

    name = Path(data_folder or "model").name or "model"
    return user_data_dir() / "models" / f"{name}-{arch}"


def resume_files(base: Path) -> list[Path]:
    """The models of ``base`` with a resume file (``base.pt``, ``base-2.pt``, ...), newest first."""
    pattern = re.compile(re.escape(base.name) + r"(-\d+)?\.pt" + re.escape(RESUME_SUFFIX))
    try:
        found = [p for p in base.parent.iterdir() if pattern.fullmatch(p.name) and p.is_file()]
    except OSError:
        return []
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.with_name(p.name[:-len(RESUME_SUFFIX)]) for p in found]


def resumable(base: Path, chosen_out: str = "") -> Path | None:
    """The model a *Resume* would continue: the chosen output's when it has a resume file,
    else the newest of ``base``'s."""
    if chosen_out and Path(chosen_out + RESUME_SUFFIX).is_file():
        return Path(chosen_out)
    found = resume_files(base)
    return found[0] if found else None


def remove_superseded(base: Path, finished: str) -> list[Path]:
    """After ``finished`` (a model of ``base``) completed: the other resume files of ``base`` go."""
    removed = []
    for model in resume_files(base):
        if str(model) != str(finished):
            resume = Path(str(model) + RESUME_SUFFIX)
            resume.unlink(missing_ok=True)
            removed.append(resume)
    return removed

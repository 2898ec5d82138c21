"""The verdict widgets' background work: plain generator jobs (no Qt) for a TaskRunner."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...core.stop import StopFlag


@dataclass
class SortPreview:
    """What a sort would do: photos per folder, bytes needed, bytes free at the destination."""

    counts: dict[str, int]
    bytes_needed: int
    bytes_free: int
    plan: object  # core Plan, handed back to run_sort


@dataclass
class RetrainResult:
    checkpoint: str | None
    old_val_acc: float | None  # as recorded when the current model was trained; None: unknown
    new_val_acc: float
    mode: str
    message: str
    same_classes: bool = True  # False: the current model is of other classes, its accuracy is not comparable
    note: str = ""  # what training left out (empty class folders)


def add_photo(data_dir: str, path: str, class_name: str, *, should_stop: StopFlag):
    """Copy one photo into ``<dataset>/<class>/`` as a journaled (undoable) batch, which makes
    the class folder when it is new (and Undo removes it again); None when its copy is there
    already."""
    from ...core.files.dataset import Dataset

    dataset = Dataset.shared(data_dir)
    if (dataset.data_dir / class_name).is_dir() and dataset.copy_in(class_name, path) is not None:
        return None
    result = yield from dataset.journal.run(dataset.plan_label([path], class_name), should_stop)
    return result


def preview_sort(items: list[tuple], destination: str, min_confidence: float, move: bool,
                 unknown_folder: bool = True, *, should_stop: StopFlag) -> SortPreview:
    import shutil

    from ...core.files.sorting import plan_sort

    from ...core.paths import nearest_existing

    plan = plan_sort(items, destination, min_confidence=min_confidence, move=move, unknown_folder=unknown_folder)
    existing = nearest_existing(destination)
    counts = {Path(folder).name: n for folder, n in plan.folder_counts().items()}
    return SortPreview(counts, plan.bytes_needed, shutil.disk_usage(existing).free, plan)


def run_sort(plan, destination: str, *, should_stop: StopFlag):
    """Do a previewed sort through a new journal beside it; returns (journal path, PassResult)."""
    from ...core.files.journal import Journal
    from ...core.files.sorting import sort_journal_path

    journal = Journal(sort_journal_path(destination))
    try:
        result = yield from journal.run(plan, should_stop)
    finally:
        journal.close()
    return str(journal.path), result


def undo_sort(journal_path: str, *, should_stop: StopFlag):
    from ...core.files.journal import Journal

    journal = Journal(journal_path)
    try:
        return (yield from journal.undo(should_stop))
    finally:
        journal.close()


def retrain_config(data_dir: str, weights: str, out: str, epochs: int | None = None):
    """What Retrain runs: the teacher-guided start from the current model (the same path as
    ``train`` and the Fine-tune page) when the ImageNet teacher is installed; else, as before,
    the current model fine-tuned head-only when it was trained that way (seconds, cached
    features), else the whole network; at the model's own input size."""
    from ...core.model.loading import load_model
    from ...core.train.config import TEACHER, TrainConfig, teacher_installed

    if teacher_installed():
        return TrainConfig(data_dir=data_dir, out=out, start=TEACHER, student=weights, epochs=epochs,
                           start_reason="no ImageNet ResNet weights are cached").resolve()
    training = load_model(weights).info.training or {}
    mode = (training.get("config") or {}).get("mode") or "head"
    return TrainConfig(data_dir=data_dir, out=out, start=weights, mode=mode,
                       epochs=epochs or (10 if mode == "head" else 5)).resolve()


@dataclass
class RetrainPlan:
    """What Retrain will run and how fast this machine runs it (measured in the background)."""

    config: object  # core TrainConfig, resolved
    speed: object  # core Speed, or None when it could not be measured


def plan_retrain(data_dir: str, weights: str, *, should_stop: StopFlag) -> RetrainPlan:
    """Measure a few photos and steps of what Retrain would run (seconds, in the background)."""
    from ...core.model.loading import load_model
    from ...core.train.estimate import measure_speed, sample_photos

    cfg = retrain_config(data_dir, weights, "")
    try:
        photos = sample_photos(data_dir)
    except ValueError:  # not trainable yet (one class, no photos): retraining says why
        return RetrainPlan(cfg, None)
    info = load_model(cfg.student or cfg.start).info
    cfg.image_size = cfg.image_size or info.image_size
    return RetrainPlan(cfg, measure_speed(cfg, info.arch, photos, should_stop))


def retrain_estimate(plan: RetrainPlan, photos: int) -> str:
    """"about 6 min" for ``photos`` in the dataset; "" when unknown."""
    from ...core.train.config import distil_epochs
    from ...core.train.estimate import estimate_run

    if plan.speed is None or photos < 2:
        return ""
    cfg = plan.config
    n_val = max(1, round(photos * cfg.val_split))
    epochs = cfg.epochs or distil_epochs(photos - n_val)
    return estimate_run(plan.speed, cfg.mode, epochs, photos - n_val, n_val).describe()


def retrain(data_dir: str, weights: str, out: str, epochs: int | None = None, *, should_stop: StopFlag):
    """Retrain on the dataset (see :func:`retrain_config`); yields fine_tune's events."""
    from ...core.model.loading import load_model
    from ...core.train.config import TEACHER
    from ...core.train.events import DataReady, Done
    from ...core.train.fine_tune import fine_tune

    info = load_model(weights).info
    old = (info.training or {}).get("val_acc")
    cfg = retrain_config(data_dir, weights, out, epochs)
    how = "teacher-guided" if cfg.start == TEACHER else cfg.mode
    done = ready = None
    for event in fine_tune(cfg, should_stop):
        if isinstance(event, Done):
            done = event
        elif isinstance(event, DataReady):
            ready = event
        yield event
    same = ready is not None and list(ready.classes) == list(info.class_names)
    old = float(old) if same and isinstance(old, (int, float)) else None
    note = ""
    if ready is not None and ready.ignored:
        from ...core.data.datasets import ignored_note

        note = ignored_note(ready.ignored)
    if done is None:
        return RetrainResult(None, old, 0.0, how, "stopped before the first epoch", same, note)
    return RetrainResult(done.checkpoint, old, done.best_val_acc, how, done.message, same, note)

"""Fine-tuning a ResNet on a labeled folder, as a generator of plain events.

``for event in fine_tune(config, should_stop): ...`` drives the whole job: the CLI prints
the events, the window's task runner turns them into signals. ``should_stop()`` is
checked between batches; the best model so far is written atomically after every
improvement, so cancel, crash or kill never leaves a broken or missing model.
"""

from __future__ import annotations

import errno
import math
import random
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

from ...constants import NONE_FOLDER
from ..atomic import OutputError, check_output_file, remove_stale_temps
from ..model.checkpoint import IMAGENET_MEAN, IMAGENET_STD, ModelInfo, save_checkpoint
from .config import TEACHER, GroupStopped, TrainConfig, TrainingError, distil_epochs
from .events import DataReady, Done, EpochEnd, PhaseMeter, Stage, StartChosen
from .state import Best, load_resume, resume_path, save_resume

IMBALANCE_WEIGHTED = 1.5  # largest / smallest class above which the loss is class-weighted


def fine_tune(cfg: TrainConfig, should_stop: Callable[[], bool] | None = None) -> Iterator[object]:
    """Run the fine-tune described by ``cfg``, yielding events; see the module docstring.

    Under torchrun every process runs this generator (see ``parallel``); only rank 0 writes
    files, and a failed or unreachable process stops the others with one clear line."""
    from ..distributed import DistributedError, describe_failure, launched

    progress = SimpleNamespace(best=Best(), rank=0)
    try:
        return (yield from _fine_tune(cfg, should_stop or (lambda: False), progress))
    except RuntimeError as exc:
        own = type(exc).__module__.startswith("resnet_gui.") and not isinstance(exc, DistributedError)
        if own or not launched():  # the app's own one-line errors pass as they are
            raise
        raise GroupStopped(f"training stopped: {describe_failure(exc, progress.rank)}. {_kept(progress.best)}") from None


def _fine_tune(cfg: TrainConfig, should_stop: Callable[[], bool], progress: SimpleNamespace) -> Iterator[object]:
    import torch
    import torch.nn as nn

    from ..data.transforms import resize_for
    from ..distributed import from_env
    from . import parallel
    from .setup import (amp_dtype, augmenter, optimizer_and_schedule, random_erase, read_images, start_model,
                        steps_per_epoch)
    from .distil import DistilBatches, load_teacher_and_probe
    from .steps import Compute, FeatureBatches, ImageBatches, evaluate, outlier_exposure_loss, train_one_epoch

    cfg = cfg.resolve()
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)

    data, train_items, val_items, split_from = _load_split(cfg)
    classes = data.classes
    teacher_guided = cfg.start == TEACHER
    if teacher_guided:  # a schedule sized to the folder; no early stop: distillation gains late
        cfg.epochs = cfg.epochs or distil_epochs(len(train_items))
        cfg.patience = cfg.patience or cfg.epochs
    yield StartChosen(cfg.describe_start())
    dist = from_env(cfg.device)  # without torchrun: one process on resolve_device(cfg.device)
    progress.rank, device = dist.rank, dist.device
    local_batch = parallel.check_world(dist, len(train_items), cfg.batch_size)
    # Load the start weights before reading images: a bad weights file fails at once.
    start = dist.local_first(lambda: start_model(cfg, len(classes)))
    if cfg.image_size is None:
        cfg.image_size = start.info.image_size if start.info else 224
    resize = resize_for(cfg.image_size)
    # Only rank 0 writes (on multi-node, to its own filesystem) and reads the resume state.
    dist.on_main(lambda: _prepare_output(out, start.model, cfg.half), (TrainingError,))
    resumed = dist.on_main(lambda: load_resume(out, start.arch, classes), (TrainingError,)) if cfg.resume else None

    # Decode once into memory: later epochs cost no JPEG decoding at all. Head mode needs the
    # images only for features, so under torchrun each process decodes just its share.
    head = cfg.mode == "head"
    share = dist.shard if head else list
    if dist.active:
        import socket

        yield Stage(f"{dist.world} processes ({dist.backend}), global batch {local_batch * dist.world} "
                    f"({local_batch} per process); rank 0 on {socket.gethostname()} writes {out}")
    none_train, none_val = data.none_split(cfg.val_split, cfg.seed)
    if dist.active and (none_train or none_val):
        yield Stage(f"{NONE_FOLDER}/ is not used under torchrun: {len(none_train) + len(none_val)} photos left out")
        none_train, none_val = [], []
    count = len(train_items) + len(val_items) + len(none_train) + len(none_val)
    yield Stage(f"reading {count} images", 0, count)
    train_set, val_set, none_set, none_held = yield from read_images(
        [(share(train_items), None), (share(val_items), cfg.image_size), ([(p, -1) for p in none_train], None),
         ([(p, -1) for p in none_val], cfg.image_size)], resize, cfg.workers, should_stop)
    if should_stop():
        yield Done("cancelled", "cancelled while reading images; nothing was saved", None, 0, 0.0)
        return
    ready = _data_ready(cfg, classes, parallel.merge_decoded(dist, train_set, head),
                        parallel.merge_decoded(dist, val_set, head), split_from, data.ignored)
    if none_set.images or none_held.images:
        ready.message += (f"; {len(none_set.images)} training / {len(none_held.images)} validation photos of none "
                          f"of the classes ({NONE_FOLDER}/): taught as such, and they set the out-of-class threshold")
    yield ready

    model = start.model.to(device).to(memory_format=torch.channels_last)
    compute = Compute(device, amp_dtype(cfg, device))
    class_weight = None
    if ready.weighted_loss:
        counts = torch.tensor(ready.train_counts, dtype=torch.float32)
        class_weight = (counts.sum() / (len(classes) * counts)).to(device)
    criterion = outlier_exposure_loss(nn.CrossEntropyLoss(weight=class_weight, label_smoothing=cfg.label_smoothing))

    if teacher_guided:
        if dist.active:
            raise TrainingError("the teacher-guided start does not run under torchrun yet: choose --from")
        found = yield from load_teacher_and_probe(train_set, val_set, classes, device, should_stop)
        if found is None:
            yield Done("cancelled", "cancelled while fitting the teacher's head; nothing was saved", None, 0, 0.0)
            return
        teacher, probe, _ = found
        batches = DistilBatches(compute, train_set, val_set, augmenter(cfg.image_size, cfg.augment), teacher, probe,
                                none_set.images, cfg.seed)
        val_labels, trainable = val_set.labels, list(model.parameters())
        criterion = nn.CrossEntropyLoss()  # on the teacher's probabilities
    elif head:
        yield Stage("computing features with the frozen backbone", 0, len(train_set.images) + len(val_set.images))
        batches = yield from FeatureBatches.compute_features(model, compute, train_set, val_set,
                                                             augmenter(cfg.image_size, "none"), should_stop,
                                                             none_set.images, cfg.seed)
        if batches is None:
            yield Done("cancelled", "cancelled while computing features; nothing was saved", None, 0, 0.0)
            return
        batches, val_labels = parallel.gather_features(batches, dist, val_set.labels)
        trainable = list(model.fc.parameters())
    else:
        erase = random_erase if cfg.augment == "strong" else None
        batches = ImageBatches(compute, train_set, val_set, augmenter(cfg.image_size, cfg.augment), erase,
                               none_set.images, cfg.seed)
        batches, val_labels = parallel.share_batches(batches, dist, len(classes)), val_set.labels
        trainable = list(model.parameters())
    steps = steps_per_epoch(-(-batches.n_train // dist.world), local_batch)
    with_state = resumed is not None and resumed.optimizer is not None and cfg.mode == resumed.mode
    steps_done = resumed.epoch * steps if resumed is not None and not with_state else 0
    optimizer, scheduler = optimizer_and_schedule(trainable, cfg, steps, steps_done)

    history: list[dict] = []
    best = Best()
    first_epoch = 1
    if resumed is not None:
        model.load_state_dict(resumed.model)
        if with_state:
            optimizer.load_state_dict(resumed.optimizer)
            scheduler.load_state_dict(resumed.scheduler)
        history, best, first_epoch = list(resumed.history), resumed.best, resumed.epoch + 1
        yield Stage(f"resumed after epoch {resumed.epoch} (best val acc {best.val_acc:.1%})")
    net, sync = parallel.wrap(model, cfg.mode, dist), parallel.sync_or_none(dist)
    parallel.reseed(cfg.seed, dist)

    info = ModelInfo(arch=start.arch, class_names=list(classes), image_size=cfg.image_size, resize_size=resize,
                     mean=IMAGENET_MEAN, std=IMAGENET_STD)
    generator = torch.Generator()
    stopped, message, bad_epochs, save_seconds = "completed", "", 0, math.nan
    for epoch in range(first_epoch, cfg.epochs + 1):
        progress.best = best
        started = time.perf_counter()
        model.train()
        if head:
            model.eval()  # BatchNorm statistics stay frozen; only fc learns
        generator.manual_seed(cfg.seed * 100_003 + epoch)  # per-epoch order, reproducible on resume
        order = parallel.rank_order(torch.randperm(batches.n_train, generator=generator).tolist(), dist)
        result = yield from train_one_epoch(net, batches, criterion, optimizer, scheduler, order, local_batch,
                                            steps, epoch, cfg.epochs, should_stop, sync)
        if result.stopped:
            stopped, message = result.stopped, result.message
            if stopped == "nan":
                message += "; stopped. Try a lower learning rate. " + _kept(best)
            break
        result = sync.epoch(result) if sync else result
        parallel.sync_batchnorm_stats(model, dist)
        ev = dist.broadcast((yield from evaluate(model, batches, val_labels, len(classes))))  # rank 0's decide
        if not math.isfinite(ev.loss):
            stopped, message = "nan", f"the validation loss became {ev.loss} at epoch {epoch}; stopped. " + _kept(best)
            break
        record = {"epoch": epoch, "train_loss": result.loss, "train_acc": result.accuracy, "val_loss": ev.loss,
                  "val_acc": ev.accuracy, "lr": optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - started}
        history.append(record)
        improved = best.beaten_by(ev.accuracy, ev.loss)
        previous = best
        if improved:
            best = Best(epoch, ev.accuracy, ev.loss, ev.confusion, ev.per_class(classes), ev.predicted)
            info.training = _training_record(cfg, start.label, history, best, ready)
            bad_epochs = 0
        else:
            bad_epochs += 1
        saving = PhaseMeter("saving", "saving the best model" if improved else "saving the resume state", 1,
                            save_seconds)
        yield saving.start()
        dist.on_main(lambda: _save_epoch(out, cfg, model, info, (optimizer, scheduler), epoch, history, best,
                                         previous if improved else None), (TrainingError,))
        save_seconds = saving.elapsed()
        yield EpochEnd(epoch, cfg.epochs, result.loss, result.accuracy, ev.loss, ev.accuracy, record["lr"],
                       record["seconds"], improved, str(out) if improved else None)
        if bad_epochs >= cfg.patience and epoch < cfg.epochs:
            stopped, message = "early_stopping", f"stopped early: no improvement for {cfg.patience} epochs"
            break
    progress.best = best
    calibrated = None
    if stopped in ("completed", "early_stopping") and best.epoch > 0 and dist.is_main:
        from .calibrate_step import calibrate_after_training

        calibrated = yield from calibrate_after_training(out, cfg.half, cfg.image_size, train_set, val_set, device,
                                                         cfg.seed, should_stop, none_held)
        yield calibrated
    val_photos = _val_photos(val_set.paths, val_labels, best.predicted)
    yield dist.on_main(lambda: _done(cfg, out, stopped, message, best, history, calibrated, val_photos))


def _save_epoch(out: Path, cfg: TrainConfig, model, info: ModelInfo, opt_sched: tuple, epoch: int, history: list,
                best: Best, previous: Best | None) -> None:
    """The checkpoint when this epoch improved (``previous``: the best before it), then the resume file."""
    if previous is not None:
        _write(out, _kept(previous), lambda: save_checkpoint(out, model, info, half=cfg.half))
    _write(resume_path(out), _kept(best), lambda: save_resume(out, model, *opt_sched, epoch, history, best, cfg.mode))


def _prepare_output(out: Path, model, half: bool) -> None:
    """Before any image is read: the output must be writable with room for the model, its
    resume file (weights + optimizer moments) and a temp copy; stale temps of a killed run go."""
    params = sum(p.numel() for p in model.parameters())
    need = params * 4 * (4 + (0.5 if half else 1))
    try:
        check_output_file(out, int(need))
        check_output_file(resume_path(out))
    except OutputError as exc:
        raise TrainingError(str(exc)) from None
    remove_stale_temps(out)
    remove_stale_temps(resume_path(out))


def _kept(best: Best) -> str:
    return f"The last good model (epoch {best.epoch}) is kept." if best.epoch > 0 else "Nothing was saved."


def _write(path: Path, kept: str, save: Callable[[], object]) -> None:
    """Save, or stop the run with one clear line (a full disk mid-run); atomic_write has
    already removed its temp file and the previous file is untouched."""
    try:
        save()
    except (OSError, RuntimeError) as exc:
        text = str(exc)
        full = getattr(exc, "errno", None) == errno.ENOSPC or "enforce fail" in text or "No space" in text
        reason = "the disk is full" if full else (getattr(exc, "strerror", None) or text.splitlines()[0][:200])
        raise TrainingError(f"could not save {path.name}: {reason}. {kept}") from None


def _load_split(cfg: TrainConfig):
    """The labeled folder and its train/val split (folders, a CSV, or stratified at random)."""
    from ..data.datasets import DatasetError, scan_labeled_folder, split_from_csv, stratified_split

    try:
        data = scan_labeled_folder(cfg.data_dir)
        if cfg.split_csv:
            data = split_from_csv(data, cfg.split_csv)
        if data.val is not None:
            return data, data.train, data.val, data.split_from
        train, val = stratified_split(data.train, cfg.val_split, cfg.seed)
    except DatasetError as exc:
        raise TrainingError(str(exc)) from None
    return data, train, val, f"stratified {1 - cfg.val_split:.0%}/{cfg.val_split:.0%} split (seed {cfg.seed})"


def _data_ready(cfg: TrainConfig, classes: list[str], train_set, val_set, split_from: str,
                ignored: list[str] = ()) -> DataReady:
    skipped = train_set.skipped + val_set.skipped
    train_counts = [train_set.labels.count(i) for i in range(len(classes))]
    val_counts = [val_set.labels.count(i) for i in range(len(classes))]
    empty = [c for c, n in zip(classes, train_counts) if n == 0]
    if empty or not val_set.labels:
        raise TrainingError("after skipping unreadable images, no training images are left for: "
                            + ", ".join(empty or ["validation"]))
    imbalance = max(train_counts) / max(1, min(train_counts))
    weighted = cfg.balance and imbalance > IMBALANCE_WEIGHTED
    message = (f"{len(classes)} classes, {sum(train_counts)} training / {sum(val_counts)} validation images "
               f"({split_from})")
    if skipped:
        message += f"; skipped {len(skipped)} unreadable"
    if ignored:
        from ..data.datasets import ignored_note

        message += "; " + ignored_note(ignored)
    if imbalance > IMBALANCE_WEIGHTED:
        message += f"; imbalanced ({imbalance:.1f}x), " + ("using a class-weighted loss" if weighted else "unweighted")
    return DataReady(classes, train_counts, val_counts, skipped, split_from, imbalance, weighted, message,
                     list(ignored))


def _training_record(cfg: TrainConfig, start_label: str, history: list, best: Best, ready: DataReady) -> dict:
    """What the checkpoint says about its training (no folder paths: see TrainConfig.for_checkpoint)."""
    return {"config": cfg.for_checkpoint(), "start": start_label, "history": history, "best_epoch": best.epoch,
            "val_acc": best.val_acc, "val_loss": best.val_loss, "per_class_acc": best.per_class,
            "confusion": best.confusion, "train_counts": ready.train_counts, "val_counts": ready.val_counts,
            "skipped": len(ready.skipped), "split": ready.split_from}


def _val_photos(paths: list, labels: list[int], predicted: list[int]) -> list[tuple[str, int, int]]:
    """(path, true, predicted) per validation photo; none when the paths are not all here (torchrun
    head mode keeps each process's share) or the best epoch's predictions were not kept."""
    if not (len(paths) == len(labels) == len(predicted)):
        return []
    return [(str(path), int(t), int(p)) for path, t, p in zip(paths, labels, predicted)]


def _done(cfg: TrainConfig, out: Path, stopped: str, message: str, best: Best, history: list,
          calibrated=None, val_photos: list | None = None) -> Done:
    saved = out.is_file() and best.epoch > 0
    if stopped == "completed":
        message = f"finished {cfg.epochs} epochs"
        resume_path(out).unlink(missing_ok=True)  # nothing left to resume
    elif stopped == "cancelled":
        message = "cancelled" + (f"; the best model so far (epoch {best.epoch}) is saved" if saved
                                 else "; no epoch finished, nothing was saved")
    if saved:
        message += f". Best validation accuracy {best.val_acc:.1%} at epoch {best.epoch}, saved to {out}"
    if saved and calibrated is not None and calibrated.ece_before is not None:
        message += (f". Confidence calibrated: temperature {calibrated.temperature:.3g}, expected calibration error "
                    f"{calibrated.ece_before:.3f} -> {calibrated.ece_after:.3f}; out-of-class threshold set")
    return Done(stopped, message, str(out) if saved else None, best.epoch, max(0.0, best.val_acc),
                best.per_class, best.confusion, history, val_photos or [])

"""Fine-tuning a ResNet on a labeled folder, as a generator of plain events.

``for event in fine_tune(config, should_stop): ...`` drives the whole job: the CLI
prints the events, the GUI worker turns them into signals. Events hold only floats,
ints and strings. ``should_stop()`` is checked between batches; the best model so far
is written atomically after every improvement, so cancel, crash or kill never leaves
a broken or missing model.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .architectures import ARCH_NAMES
from .checkpoint import IMAGENET_MEAN, IMAGENET_STD, ModelInfo, WeightsError, atomic_save, checkpoint_dict

# ---------------------------------------------------------------- configuration


@dataclass
class TrainConfig:
    data_dir: str  # one subfolder per class, or train/ and val/ subfolders
    out: str  # checkpoint path; rewritten atomically on every improvement
    arch: str | None = None  # None: that of `start` weights, else resnet18
    start: str | None = None  # weights file | "imagenet" | "scratch"; None: imagenet if cached else scratch
    mode: str | None = None  # "head": frozen backbone, cached features; "full": whole network. None: head if pretrained
    epochs: int | None = None  # None: 30 for head (seconds each), 15 fine-tuning, 60 from scratch
    image_size: int | None = None  # crop fed to the network; None: the start model's, 224 ImageNet, 160 scratch
    batch_size: int | None = None  # None: 32 full, 64 head
    val_split: float | None = None  # fraction held out when the folder has no val/; None: 0.2
    lr: float | None = None  # peak learning rate; None: chosen by mode/optimizer
    optimizer: str | None = None  # "adamw" | "sgd"; None: adamw
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    warmup_epochs: float = 1.0  # linear warm-up, then cosine decay to zero
    patience: int | None = None  # early stopping; None: max(5, epochs // 3)
    augment: str = "auto"  # "auto": strong (TrivialAugment + random erasing) from scratch, light otherwise
    balance: bool = True  # class-weighted loss when classes are imbalanced
    split_csv: str | None = None  # fixed split: CSV rows split,class,file
    resume: bool = False  # continue from <out>.resume.pt (or the best checkpoint) if present
    half: bool = False  # store fp16 weights (half the file size)
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"  # "auto": bf16 autocast where the hardware has it; "off"
    workers: int | None = None  # image decoding threads

    def resolved(self) -> "TrainConfig":
        """A copy with every None filled by the defaults the docs promise."""
        from .download import cached_imagenet_path

        c = TrainConfig(**asdict(self))
        if c.start is None:
            try:
                c.start = "imagenet" if cached_imagenet_path(c.arch or "resnet18").is_file() else "scratch"
            except Exception:  # noqa: BLE001 - no torchvision weights table: train from scratch
                c.start = "scratch"
        pretrained = c.start != "scratch"
        c.mode = c.mode or ("head" if pretrained else "full")
        if c.mode not in ("head", "full"):
            raise TrainingError(f"mode must be 'head' or 'full', not {c.mode!r}")
        c.epochs = c.epochs or (30 if c.mode == "head" else 15 if pretrained else 60)
        if c.image_size is None and c.start in ("imagenet", "scratch"):
            c.image_size = 224 if pretrained else 160
        # starting from a weights file, None stays: fine_tune takes that model's own input size
        c.batch_size = c.batch_size or (64 if c.mode == "head" else 32)
        c.val_split = 0.2 if c.val_split is None else c.val_split
        c.optimizer = c.optimizer or "adamw"
        if c.lr is None:
            if c.optimizer == "sgd":
                c.lr = 0.1 * c.batch_size / 256 if not pretrained else 0.01
            else:
                c.lr = 1e-3 if c.mode == "head" else (3e-4 if pretrained else 2e-3)
        c.patience = c.patience or max(5, c.epochs // 3)
        if c.augment == "auto":
            c.augment = "light" if pretrained else "strong"
        if c.arch is not None and c.arch not in ARCH_NAMES:
            raise TrainingError(f"unknown architecture {c.arch!r}; choose one of {', '.join(ARCH_NAMES)}")
        return c


class TrainingError(RuntimeError):
    """The job cannot run; the message says why."""


# ---------------------------------------------------------------- events


@dataclass
class DataReady:
    classes: list[str]
    train_counts: list[int]
    val_counts: list[int]
    skipped: list[tuple[str, str]]  # unreadable images: (path, reason)
    split_from: str
    imbalance: float  # largest / smallest training class
    weighted_loss: bool
    message: str


@dataclass
class Stage:
    message: str  # e.g. "decoding 2569 images", "computing features"
    done: int = 0
    total: int = 0


@dataclass
class BatchProgress:
    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    images_per_second: float
    eta_seconds: float


@dataclass
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    seconds: float
    improved: bool
    saved: str | None  # checkpoint path when this epoch was the best so far


@dataclass
class Done:
    reason: str  # completed | early_stopping | cancelled | nan
    message: str
    checkpoint: str | None  # the best model, ready to classify with; None if nothing was saved
    best_epoch: int
    best_val_acc: float
    per_class_acc: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------- model setup


def _start_model(cfg: TrainConfig, num_classes: int):
    """Build the model and load the starting weights (all but ``fc`` when classes differ)."""
    from .architectures import build_model, infer_architecture
    from .checkpoint import clean_state_dict, load_model

    if cfg.start == "scratch":
        arch = cfg.arch or "resnet18"
        return build_model(arch, num_classes), arch, f"{arch} from scratch", None
    if cfg.start == "imagenet":
        from .download import download_imagenet_weights

        arch = cfg.arch or "resnet18"
        path = download_imagenet_weights(arch)
        label = f"{arch} ImageNet weights"
    else:
        path = Path(cfg.start)
        label = path.name
    loaded = load_model(path, arch=cfg.arch)  # weights_only, strict: refuses bad files
    arch = loaded.info.arch
    model = build_model(arch, num_classes)
    state = clean_state_dict(loaded.model.state_dict())
    if state["fc.weight"].shape[0] != num_classes:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("fc.") for k in missing), (missing, unexpected)
    return model, arch, label, loaded.info


def _amp_dtype(cfg: TrainConfig, device):
    import torch

    if cfg.amp == "off":
        return None
    if device.type == "cpu":
        check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
        amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
        if (check and check()) or (amx and amx()):
            return torch.bfloat16
        return None
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def _augmenter(cfg: TrainConfig):
    """Per-image augmentation on uint8 CHW tensors (torchvision.transforms.v2)."""
    from torchvision.transforms import v2

    size = cfg.image_size
    if cfg.augment == "strong":
        ops = [v2.RandomResizedCrop(size, scale=(0.25, 1.0), antialias=True), v2.RandomHorizontalFlip(),
               v2.TrivialAugmentWide()]
    elif cfg.augment == "none":
        # images are stored with their shorter side at the eval resize, so a center crop is
        # exactly the eval transform (the same framing the validation images get)
        ops = [v2.CenterCrop(size)]
    else:
        ops = [v2.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    return v2.Compose(ops)


def _random_erase(x, p: float = 0.25):
    """Random erasing on a normalised float batch (regularises training from scratch)."""
    import torch

    n, _, h, w = x.shape
    for i in range(n):
        if random.random() < p:
            eh, ew = random.randint(h // 8, h // 3), random.randint(w // 8, w // 3)
            top, left = random.randint(0, h - eh), random.randint(0, w - ew)
            x[i, :, top:top + eh, left:left + ew] = torch.randn(3, eh, ew)
    return x


def _cosine_lambda(total_steps: int, warmup_steps: int):
    def fn(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return fn


def _metrics(confusion, classes):
    per_class = {}
    for i, name in enumerate(classes):
        total = sum(confusion[i])
        per_class[name] = confusion[i][i] / total if total else float("nan")
    return per_class


# ---------------------------------------------------------------- the job


def fine_tune(cfg: TrainConfig, should_stop: Callable[[], bool] | None = None) -> Iterator[object]:
    """Run the fine-tune described by ``cfg``, yielding events; see the module docstring."""
    import torch
    import torch.nn as nn

    from .datasets import DatasetError, decode_all, scan_labeled_folder, split_from_csv, stratified_split
    from .devices import resolve_device

    should_stop = should_stop or (lambda: False)
    cfg = cfg.resolved()
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    resume_path = out.with_name(out.name + ".resume")

    try:
        data = scan_labeled_folder(cfg.data_dir)
        if cfg.split_csv:
            data = split_from_csv(data, cfg.split_csv)
    except DatasetError as exc:
        raise TrainingError(str(exc)) from None
    if data.val is None:
        train_items, val_items = stratified_split(data.train, cfg.val_split, cfg.seed)
        split_from = f"stratified {1 - cfg.val_split:.0%}/{cfg.val_split:.0%} split (seed {cfg.seed})"
    else:
        train_items, val_items, split_from = data.train, data.val, data.split_from
    classes = data.classes
    device = resolve_device(cfg.device)
    # Load the start weights before reading images: a bad weights file fails at once.
    model, arch, start_label, start_info = _start_model(cfg, len(classes))
    if cfg.image_size is None:
        cfg.image_size = start_info.image_size if start_info else 224

    # Decode once into memory: later epochs cost no JPEG decoding at all.
    resize = round(cfg.image_size * 256 / 224)
    yield Stage(f"reading {len(train_items) + len(val_items)} images", 0, len(train_items) + len(val_items))
    train_set = decode_all(train_items, resize, None, cfg.workers, should_stop=should_stop)
    val_set = decode_all(val_items, resize, cfg.image_size, cfg.workers, should_stop=should_stop)
    if should_stop():
        yield Done("cancelled", "cancelled while reading images; nothing was saved", None, 0, 0.0)
        return
    skipped = train_set.skipped + val_set.skipped
    train_counts = [train_set.labels.count(i) for i in range(len(classes))]
    val_counts = [val_set.labels.count(i) for i in range(len(classes))]
    empty = [c for c, n in zip(classes, train_counts) if n == 0]
    if empty or not val_set.labels:
        raise TrainingError("after skipping unreadable images, no training images are left for: "
                            + ", ".join(empty or ["validation"]))
    imbalance = max(train_counts) / max(1, min(train_counts))
    weighted = cfg.balance and imbalance > 1.5
    message = (f"{len(classes)} classes, {sum(train_counts)} training / {sum(val_counts)} validation images "
               f"({split_from})")
    if skipped:
        message += f"; skipped {len(skipped)} unreadable"
    if imbalance > 1.5:
        message += f"; imbalanced ({imbalance:.1f}x), " + ("using a class-weighted loss" if weighted else "unweighted")
    yield DataReady(classes, train_counts, val_counts, skipped, split_from, imbalance, weighted, message)

    model = model.to(device).to(memory_format=torch.channels_last)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255
    class_weight = None
    if weighted:
        counts = torch.tensor(train_counts, dtype=torch.float32)
        class_weight = (counts.sum() / (len(classes) * counts)).to(device)
    criterion = nn.CrossEntropyLoss(weight=class_weight, label_smoothing=cfg.label_smoothing)
    eval_criterion = nn.CrossEntropyLoss()
    amp_dtype = _amp_dtype(cfg, device)

    def normalise(batch_uint8):
        x = batch_uint8.to(device, non_blocking=True).float()
        return ((x - mean) / std).contiguous(memory_format=torch.channels_last)

    def forward(net, x):
        if amp_dtype is not None:
            with torch.autocast(device.type, dtype=amp_dtype):
                return net(x).float()
        return net(x)

    # --- head mode: run the frozen backbone once, then train only the classifier
    head_features = None
    if cfg.mode == "head":
        yield Stage("computing features with the frozen backbone", 0, len(train_set.images) + len(val_set.images))
        backbone_fc = model.fc
        model.fc = nn.Identity()
        model.eval()
        center = _augmenter(TrainConfig(**{**asdict(cfg), "augment": "none"}))

        def features(images, flip=False):
            feats = []
            with torch.inference_mode():
                for i in range(0, len(images), 64):
                    chunk = [center(t) for t in images[i:i + 64]]
                    x = torch.stack(chunk)
                    if flip:
                        x = x.flip(-1)
                    feats.append(forward(model, normalise(x)).float().cpu())
                    if should_stop():
                        return None
            return torch.cat(feats)

        f_train = features(train_set.images)
        f_flip = features(train_set.images, flip=True) if f_train is not None else None
        f_val = features(val_set.images) if f_flip is not None else None
        if f_val is None:
            yield Done("cancelled", "cancelled while computing features; nothing was saved", None, 0, 0.0)
            return
        model.fc = backbone_fc
        labels_train = torch.tensor(train_set.labels)
        head_features = (torch.cat([f_train, f_flip]), torch.cat([labels_train, labels_train]), f_val)
        trainable = list(model.fc.parameters())
        n_train = len(head_features[1])
    else:
        trainable = list(model.parameters())
        n_train = len(train_set.images)

    # Weight decay on weights only, not on biases or BatchNorm parameters.
    decay = [p for p in trainable if p.ndim > 1]
    no_decay = [p for p in trainable if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        optimizer = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    else:
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
    # A last partial batch is kept unless it holds a single image (BatchNorm cannot train on one):
    # small folders still get several optimizer steps per epoch.
    steps_per_epoch = max(1, n_train // cfg.batch_size + (1 if n_train % cfg.batch_size >= 2 else 0))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _cosine_lambda(steps_per_epoch * cfg.epochs, int(steps_per_epoch * cfg.warmup_epochs)))

    history: list[dict] = []
    best = {"epoch": 0, "val_acc": -1.0, "val_loss": math.inf, "confusion": [], "per_class": {}}
    first_epoch = 1
    if cfg.resume:
        state = _load_resume(resume_path, out, arch, classes)
        if state is not None:
            model.load_state_dict(state["model"])
            if "optimizer" in state and cfg.mode == state.get("mode"):
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
            history = list(state.get("history", []))
            best.update(state.get("best", {}))
            first_epoch = int(state["epoch"]) + 1
            yield Stage(f"resumed after epoch {state['epoch']} (best val acc {best['val_acc']:.1%})")

    info = ModelInfo(arch=arch, class_names=list(classes), image_size=cfg.image_size, resize_size=resize,
                     mean=IMAGENET_MEAN, std=IMAGENET_STD)
    train_config = {k: v for k, v in asdict(cfg).items() if v is not None}
    augment = _augmenter(cfg)
    generator = torch.Generator()

    def evaluate():
        if cfg.mode == "head":
            with torch.inference_mode():
                logits = model.fc(head_features[2].to(device)).float()
            labels = torch.tensor(val_set.labels, device=device)
        else:
            model.eval()
            outs = []
            with torch.inference_mode():
                for i in range(0, len(val_set.images), 64):
                    outs.append(forward(model, normalise(torch.stack(val_set.images[i:i + 64]))).float())
            logits = torch.cat(outs)
            labels = torch.tensor(val_set.labels, device=device)
        loss = float(eval_criterion(logits, labels))
        pred = logits.argmax(1)
        confusion = [[0] * len(classes) for _ in classes]
        for t, p in zip(labels.tolist(), pred.tolist()):
            confusion[t][p] += 1
        acc = float((pred == labels).float().mean())
        return loss, acc, confusion

    def save_best(epoch):
        training = {"config": train_config, "start": start_label, "history": history, "best_epoch": epoch,
                    "val_acc": best["val_acc"], "val_loss": best["val_loss"], "per_class_acc": best["per_class"],
                    "confusion": best["confusion"], "train_counts": train_counts, "val_counts": val_counts,
                    "skipped": len(skipped), "split": split_from}
        info.training = training
        atomic_save(checkpoint_dict(model.state_dict(), info, half=cfg.half), out)

    stopped, message = "completed", ""
    bad_epochs = 0
    for epoch in range(first_epoch, cfg.epochs + 1):
        started = time.perf_counter()
        model.train()
        if cfg.mode == "head":
            model.eval()  # BatchNorm statistics stay frozen; only fc learns
        generator.manual_seed(cfg.seed * 100_003 + epoch)  # per-epoch order, reproducible on resume
        order = torch.randperm(n_train, generator=generator).tolist()
        seen, loss_sum, correct, window_start, window_images = 0, 0.0, 0, time.perf_counter(), 0
        for b in range(steps_per_epoch):
            if should_stop():
                stopped = "cancelled"
                break
            idx = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            if cfg.mode == "head":
                x = head_features[0][idx].to(device)
                y = head_features[1][idx].to(device)
                logits = model.fc(x)
            else:
                x = normalise(torch.stack([augment(train_set.images[i]) for i in idx]))
                if cfg.augment == "strong":
                    x = _random_erase(x)
                y = torch.tensor([train_set.labels[i] for i in idx], device=device)
                logits = forward(model, x)
            loss = criterion(logits, y)
            if not torch.isfinite(loss):
                stopped = "nan"
                message = (f"the loss became {float(loss.detach())} at epoch {epoch}, batch {b + 1}; stopped. "
                           "Try a lower learning rate. The last good model is kept.")
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            seen += len(idx)
            window_images += len(idx)
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y).sum())
            elapsed = time.perf_counter() - window_start
            rate = window_images / elapsed if elapsed > 0 else 0.0
            remaining = (steps_per_epoch - b - 1) * cfg.batch_size + (cfg.epochs - epoch) * steps_per_epoch * cfg.batch_size
            yield BatchProgress(epoch, cfg.epochs, b + 1, steps_per_epoch, float(loss.detach()), rate,
                                remaining / rate if rate > 0 else float("nan"))
        if stopped != "completed":
            break
        val_loss, val_acc, confusion = evaluate()
        if not math.isfinite(val_loss):
            stopped, message = "nan", f"the validation loss became {val_loss} at epoch {epoch}; stopped, the last good model is kept."
            break
        record = {"epoch": epoch, "train_loss": loss_sum / max(1, seen), "train_acc": correct / max(1, seen),
                  "val_loss": val_loss, "val_acc": val_acc, "lr": optimizer.param_groups[0]["lr"],
                  "seconds": time.perf_counter() - started}
        history.append(record)
        improved = val_acc > best["val_acc"] or (val_acc == best["val_acc"] and val_loss < best["val_loss"])
        if improved:
            best.update(epoch=epoch, val_acc=val_acc, val_loss=val_loss, confusion=confusion,
                        per_class=_metrics(confusion, classes))
            save_best(epoch)
            bad_epochs = 0
        else:
            bad_epochs += 1
        _save_resume(resume_path, model, optimizer, scheduler, epoch, history, best, cfg.mode)
        yield EpochEnd(epoch, cfg.epochs, record["train_loss"], record["train_acc"], val_loss, val_acc,
                       record["lr"], record["seconds"], improved, str(out) if improved else None)
        if bad_epochs >= cfg.patience and epoch < cfg.epochs:
            stopped = "early_stopping"
            message = f"stopped early: no improvement for {cfg.patience} epochs"
            break

    saved = out.is_file() and best["epoch"] > 0
    if stopped == "completed":
        message = f"finished {cfg.epochs} epochs"
        resume_path.unlink(missing_ok=True)  # nothing left to resume
    elif stopped == "cancelled":
        message = "cancelled" + (f"; the best model so far (epoch {best['epoch']}) is saved" if saved else "; no epoch finished, nothing was saved")
    if saved:
        message += f". Best validation accuracy {best['val_acc']:.1%} at epoch {best['epoch']}, saved to {out}"
    yield Done(stopped, message, str(out) if saved else None, best["epoch"], max(0.0, best["val_acc"]),
               best["per_class"], best["confusion"], history)


def _save_resume(path: Path, model, optimizer, scheduler, epoch, history, best, mode) -> None:
    atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "epoch": epoch, "history": history, "best": best, "mode": mode}, path)


def _load_resume(resume_path: Path, out: Path, arch: str, classes: list[str]):
    """The last epoch's state, else the best checkpoint's weights and history; None if neither."""
    import torch

    from .checkpoint import load_model

    if resume_path.is_file():
        try:
            return torch.load(resume_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged resume file: say so, never guess
            raise TrainingError(f"cannot resume from {resume_path.name}: {exc}") from None
    if out.is_file():
        try:
            loaded = load_model(out)
        except WeightsError as exc:
            raise TrainingError(f"cannot resume: {exc}") from None
        if loaded.info.arch != arch or loaded.info.class_names != classes:
            raise TrainingError(f"cannot resume from {out.name}: it is a {loaded.info.arch} for classes "
                                f"{loaded.info.class_names}, not this folder's {classes}")
        training = loaded.info.training or {}
        history = training.get("history", [])
        best = {"epoch": training.get("best_epoch", 0), "val_acc": training.get("val_acc", -1.0),
                "val_loss": training.get("val_loss", math.inf), "confusion": training.get("confusion", []),
                "per_class": training.get("per_class_acc", {})}
        return {"model": loaded.model.state_dict(), "epoch": len(history), "history": history, "best": best}
    return None


# ---------------------------------------------------------------- CLI driver


def run_training_cli(args, stdout, stderr) -> int:
    """Drive :func:`fine_tune` from ``resnet-gui train`` arguments with a text progress bar."""
    cfg = TrainConfig(
        data_dir=args.data_dir, out=args.out, arch=args.arch, start=args.start, mode=args.mode, epochs=args.epochs,
        image_size=args.image_size, batch_size=args.batch_size, val_split=args.val_split, lr=args.lr,
        optimizer=args.optimizer, patience=args.patience, split_csv=args.split_csv, resume=args.resume,
        half=args.half, seed=args.seed if args.seed is not None else 0, device=args.device)
    interactive = hasattr(stderr, "isatty") and stderr.isatty()
    done = None
    try:
        for event in fine_tune(cfg):
            if isinstance(event, BatchProgress):
                if interactive:
                    filled = int(30 * event.batch / event.batches)
                    eta = "" if math.isnan(event.eta_seconds) else f" ETA {_fmt_seconds(event.eta_seconds)}"
                    print(f"\repoch {event.epoch}/{event.epochs} [{'#' * filled}{'.' * (30 - filled)}] "
                          f"loss {event.loss:.3f} {event.images_per_second:.0f} img/s{eta}   ",
                          end="", file=stderr, flush=True)
            elif isinstance(event, EpochEnd):
                if interactive:
                    print("\r" + " " * 100 + "\r", end="", file=stderr)
                mark = " *saved" if event.improved else ""
                print(f"epoch {event.epoch:3d}/{event.epochs}  train loss {event.train_loss:.3f} acc {event.train_acc:6.1%}"
                      f"  val loss {event.val_loss:.3f} acc {event.val_acc:6.1%}  lr {event.lr:.2e}"
                      f"  {event.seconds:.0f}s{mark}", file=stdout, flush=True)
            elif isinstance(event, DataReady):
                print(event.message, file=stdout, flush=True)
                for path, reason in event.skipped[:20]:
                    print(f"  skipped {path}: {reason}", file=stderr)
            elif isinstance(event, Stage):
                print(event.message, file=stderr, flush=True)
            elif isinstance(event, Done):
                done = event
    except KeyboardInterrupt:
        print("\ninterrupted; the last saved model (if any) is intact", file=stderr)
        return 130
    except (TrainingError, WeightsError) as exc:
        print(f"error: {exc}", file=stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - e.g. DownloadError, DeviceError: one clear line
        from .devices import DeviceError
        from .download import DownloadError

        if isinstance(exc, (DeviceError, DownloadError)):
            print(f"error: {exc}", file=stderr)
            return 2
        raise
    if done is None:
        return 1
    print(done.message, file=stdout)
    if done.per_class_acc:
        print("per-class validation accuracy: " + ", ".join(f"{k} {v:.1%}" for k, v in done.per_class_acc.items()),
              file=stdout)
    return 0 if done.reason in ("completed", "early_stopping") else 1


def _fmt_seconds(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"

"""Everything a fine-tune builds before its first step: the start model, mixed precision,
augmentation, the optimizer and its learning-rate schedule."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.checkpoint import ModelInfo
from .config import TrainConfig, TrainingError
from .events import PhaseMeter

DECODE_CHUNK = 128  # images per decode_all call: progress between calls, its threads stay busy within one


@dataclass
class StartModel:
    model: Any  # torch.nn.Module with ``num_classes`` outputs
    arch: str
    label: str  # where it started, for the checkpoint: "resnet18 from scratch", "my.pt"
    info: ModelInfo | None  # the start file's info (None from scratch)


def start_model(cfg: TrainConfig, num_classes: int) -> StartModel:
    """Build the model and load the starting weights (all but ``fc`` when classes differ)."""
    from ..model.architectures import build_model
    from ..model.loading import clean_state_dict, load_model

    from .config import TEACHER

    if cfg.start == TEACHER and cfg.student == "scratch":
        arch = cfg.arch or "resnet18"
        return StartModel(build_model(arch, num_classes), arch, f"teacher-guided {arch} from scratch", None)
    if cfg.start == "scratch":
        arch = cfg.arch or "resnet18"
        return StartModel(build_model(arch, num_classes), arch, f"{arch} from scratch", None)
    if cfg.start == TEACHER:
        path = Path(cfg.student)
        label = f"teacher-guided, from {path.name}"
    elif cfg.start == "imagenet":
        from ..model.download import download_imagenet_weights

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
    if unexpected or not all(k.startswith("fc.") for k in missing):
        raise TrainingError(f"{label}: cannot start from these weights (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return StartModel(model, arch, label, loaded.info)


def read_images(parts: list, short_side: int, workers: int | None, should_stop):
    """Decode ``parts`` ((items, crop) each: training, validation) into memory, in chunks,
    yielding PhaseProgress (a count and an ETA) between them; returns a DecodedSet per part."""
    from ..data.decoded import DecodedSet, decode_all

    meter = PhaseMeter("reading", "reading and decoding the images", sum(len(items) for items, _ in parts))
    yield meter.start()
    sets = []
    for items, crop in parts:
        out = DecodedSet([], [], [])
        for i in range(0, len(items), DECODE_CHUNK):
            if should_stop():
                break
            chunk = decode_all(items[i:i + DECODE_CHUNK], short_side, crop, workers, should_stop=should_stop)
            for mine, theirs in ((out.images, chunk.images), (out.labels, chunk.labels), (out.paths, chunk.paths),
                                 (out.skipped, chunk.skipped)):
                mine.extend(theirs)
            if (event := meter.advance(len(items[i:i + DECODE_CHUNK]))) is not None:
                yield event
        sets.append(out)
    return sets


def amp_dtype(cfg: TrainConfig, device):
    """bf16 autocast where the hardware computes it natively (AVX512-BF16/AMX CPUs, recent GPUs)."""
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


def augmenter(size: int, augment: str):
    """Per-image augmentation on uint8 CHW tensors (torchvision.transforms.v2)."""
    from torchvision.transforms import v2

    if augment == "strong":
        ops = [v2.RandomResizedCrop(size, scale=(0.25, 1.0), antialias=True), v2.RandomHorizontalFlip(),
               v2.TrivialAugmentWide()]
    elif augment == "distil":  # the teacher-guided start: wide crops (the teacher sees the same ones)
        ops = [v2.RandomResizedCrop(size, scale=(0.2, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    elif augment == "none":
        # images are stored with their shorter side at the eval resize, so a center crop is
        # exactly the eval transform (the same framing the validation images get)
        ops = [v2.CenterCrop(size)]
    else:
        ops = [v2.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    return v2.Compose(ops)


def random_erase(x, p: float = 0.25):
    """Random erasing on a normalised float batch (regularises training from scratch)."""
    import torch

    n, _, h, w = x.shape
    for i in range(n):
        if random.random() < p:
            eh, ew = random.randint(h // 8, h // 3), random.randint(w // 8, w // 3)
            top, left = random.randint(0, h - eh), random.randint(0, w - ew)
            x[i, :, top:top + eh, left:left + ew] = torch.randn(3, eh, ew)
    return x


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """A last partial batch is kept unless it holds a single image (BatchNorm cannot train on
    one): small folders still get several optimizer steps per epoch."""
    return max(1, n_train // batch_size + (1 if n_train % batch_size >= 2 else 0))


def optimizer_and_schedule(trainable: list, cfg: TrainConfig, steps: int, steps_done: int = 0):
    """AdamW or SGD (weight decay on weights only, not biases or BatchNorm), and a linear
    warm-up then cosine decay to zero, stepped every batch. ``steps_done``: a run resumed
    without its optimizer state continues the schedule where it was, not from warm-up."""
    import torch

    decay = [p for p in trainable if p.ndim > 1]
    no_decay = [p for p in trainable if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        optimizer = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    else:
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
    total, warmup = steps * cfg.epochs, int(steps * cfg.warmup_epochs)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])  # LambdaLR needs it to start past step 0
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor, last_epoch=steps_done - 1)

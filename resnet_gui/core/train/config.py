"""What a fine-tune should do: :class:`TrainConfig`, with one :meth:`~TrainConfig.resolve` that
fills every default (the CLI and the Fine-tune page both show and use these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..model.architectures import ARCH_NAMES

MODES = ("head", "full")
OPTIMIZERS = ("adamw", "sgd")
_STARTS = ("imagenet", "scratch")  # anything else names a weights file


class TrainingError(RuntimeError):
    """The job cannot run; the message says why."""


class GroupStopped(TrainingError):
    """Under torchrun: a process failed or was lost, so this one stopped too (every process
    says so, with its own view; other TrainingErrors are the same on every process)."""


@dataclass
class TrainConfig:
    data_dir: str  # one subfolder per class, or train/ and val/ subfolders
    out: str  # checkpoint path; rewritten atomically on every improvement
    arch: str | None = None  # None: that of `start` weights, else resnet18
    start: str | None = None  # weights file | "imagenet" | "scratch"; None: see resolve()
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
    resume: bool = False  # continue from <out>.resume (or the best checkpoint) if present
    half: bool = False  # store fp16 weights (half the file size)
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"  # "auto": bf16 autocast where the hardware has it; "off"
    workers: int | None = None  # image decoding threads

    @property
    def pretrained(self) -> bool:
        return self.start != "scratch"

    def resolve(self, fallback_start: str | None = None) -> "TrainConfig":
        """A copy with every None filled by the documented defaults.

        ``start`` defaults to ImageNet weights when they are cached, else ``fallback_start``
        (a weights file: the window passes the model it has loaded, whose features beat
        random ones), else training from scratch.
        """
        c = replace(self)
        if c.start is None:
            c.start = "imagenet" if imagenet_cached(c.arch or "resnet18") else (fallback_start or "scratch")
        pretrained = c.pretrained
        c.mode = c.mode or ("head" if pretrained else "full")
        if c.mode not in MODES:
            raise TrainingError(f"mode must be 'head' or 'full', not {c.mode!r}")
        c.epochs = c.epochs or (30 if c.mode == "head" else 15 if pretrained else 60)
        if c.image_size is None and c.start in _STARTS:
            c.image_size = 224 if pretrained else 160
        # starting from a weights file, None stays: fine_tune takes that model's own input size
        c.batch_size = c.batch_size or (64 if c.mode == "head" else 32)
        c.val_split = 0.2 if c.val_split is None else c.val_split
        c.optimizer = c.optimizer or "adamw"
        if c.optimizer not in OPTIMIZERS:
            raise TrainingError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {c.optimizer!r}")
        if c.lr is None:
            if c.optimizer == "sgd":
                c.lr = 0.1 * c.batch_size / 256 if not pretrained else 0.01
            else:
                c.lr = 1e-3 if c.mode == "head" else (3e-4 if pretrained else 2e-3)
        c.patience = c.patience or max(5, c.epochs // 3)
        if c.augment == "auto":
            c.augment = "light" if pretrained else "strong"
        from ..model.checkpoint import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE  # what a checkpoint may hold

        if c.image_size is not None and not MIN_IMAGE_SIZE <= c.image_size <= MAX_IMAGE_SIZE:
            raise TrainingError(f"image size must be {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE} pixels, not {c.image_size}")
        if c.arch is not None and c.arch not in ARCH_NAMES:
            raise TrainingError(f"unknown architecture {c.arch!r}; choose one of {', '.join(ARCH_NAMES)}")
        return c

    def for_checkpoint(self) -> dict:
        """The config as stored in a checkpoint: set values only, and file and folder NAMES
        only, so a model someone shares does not reveal where their photos live."""
        stored = {k: v for k, v in asdict(self).items() if v is not None}
        for key in ("data_dir", "out", "split_csv"):
            if key in stored:
                stored[key] = Path(stored[key]).name
        if self.start not in (None, *_STARTS):
            stored["start"] = Path(self.start).name
        return stored


def imagenet_cached(arch: str) -> bool:
    """Are torchvision's ImageNet weights for ``arch`` in torch's cache? (imports torchvision)"""
    from ..model.download import cached_imagenet_path

    try:
        return cached_imagenet_path(arch).is_file()
    except Exception:  # noqa: BLE001 - no weights table for it: not cached
        return False

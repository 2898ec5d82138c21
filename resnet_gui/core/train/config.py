"""What a fine-tune should do: :class:`TrainConfig`, with one :meth:`~TrainConfig.resolve` that
fills every default (the CLI and the Fine-tune page both show and use these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..model.architectures import ARCH_NAMES

MODES = ("head", "full")
OPTIMIZERS = ("adamw", "sgd")
TEACHER = "teacher"  # the teacher-guided start (core/train/distil.py)
_STARTS = ("imagenet", "scratch", TEACHER)  # anything else names a weights file
# teacher-guided: augmented views a run trains on, spread over the folder's photos, in at least /
# at most DISTIL_EPOCHS epochs. 4,000 keeps ~240 photos well under 15 minutes on the idle 2-core
# CPU (docs/performance.md: the whole network trains at ~70 img/s at 128 px there)
DISTIL_VIEWS = 4000
DISTIL_EPOCHS = (10, 40)


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
    start: str | None = None  # weights file | "imagenet" | "scratch" | "teacher"; None: see resolve()
    student: str | None = None  # start "teacher": the ResNet's first weights (a file or "scratch"); None: see resolve()
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

    # why resolve() chose ``start`` when the user did not ("" when they did); see describe_start()
    start_reason: str = ""

    @property
    def pretrained(self) -> bool:
        return self.start != "scratch"

    def resolve(self, fallback_start: str | None = None) -> "TrainConfig":
        """A copy with every None filled by the documented defaults.

        ``start`` defaults to ImageNet weights when they are cached, else to the teacher-guided
        start (core/train/distil.py) when the ImageNet teacher is installed, whose student
        starts from ``fallback_start`` (a weights file: the window passes the model it has
        loaded) or the shipped model; else ``fallback_start``, else training from scratch.
        """
        c = replace(self)
        if c.start is None:
            if imagenet_cached(c.arch or "resnet18"):
                c.start, c.start_reason = "imagenet", "ImageNet weights are in torch's cache"
            elif teacher_installed():
                c.start, c.start_reason = TEACHER, "no ImageNet ResNet weights are cached"
                size = imagenet_download_mb(c.arch or "resnet18")
                if size:  # the better start, offered with what it costs
                    c.start_reason += f"; --from imagenet downloads them once, {size:.0f} MB"
            else:
                c.start = fallback_start or "scratch"
                c.start_reason = "no ImageNet weights are cached and the ImageNet teacher is not installed"
        if c.start == TEACHER:
            return _resolve_teacher(c, fallback_start)
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
        if self.student not in (None, "scratch"):
            stored["student"] = Path(self.student).name
        return stored

    def describe_start(self) -> str:
        """What the (resolved) start is, and why, in a user's words (the CLI prints it, the
        Fine-tune page shows it)."""
        why = f" ({self.start_reason})" if self.start_reason else " (chosen)"
        arch = self.arch or "resnet18"
        if self.start == TEACHER:
            first = "random weights" if self.student == "scratch" else Path(self.student or "").name
            return (f"start: teacher-guided{why}: a head fitted on the built-in ImageNet teacher's features "
                    f"(EfficientNet-Lite0) teaches a {arch} that starts from {first}, on augmented views of "
                    f"your photos; the result is an ordinary {arch}")
        if self.start == "imagenet":
            return f"start: {arch} ImageNet weights{why}"
        if self.start == "scratch":
            return f"start: {arch} from scratch{why}"
        return f"start: {Path(self.start).name}, {'last layer only' if self.mode == 'head' else 'whole network'}{why}"


def _resolve_teacher(c: TrainConfig, fallback_start: str | None) -> TrainConfig:
    """The teacher-guided defaults: the whole network, a schedule sized to the folder (set by
    fine_tune from its photo count when ``epochs`` is None), mixup, no label smoothing."""
    if c.student is None:
        from ...resources import default_weights

        shipped = default_weights()
        c.student = fallback_start or (str(shipped) if shipped is not None else "scratch")
    if c.mode not in (None, "full"):
        raise TrainingError("the teacher-guided start trains the whole network: leave out --mode, or choose --mode full")
    c.mode = "full"
    if c.student == "scratch":
        c.image_size = c.image_size or 160
    c.batch_size = c.batch_size or 32
    c.val_split = 0.2 if c.val_split is None else c.val_split
    c.optimizer = c.optimizer or "adamw"
    if c.optimizer not in OPTIMIZERS:
        raise TrainingError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {c.optimizer!r}")
    c.lr = c.lr or (5e-4 if c.optimizer == "adamw" else 0.01)
    c.label_smoothing = 0.0  # the teacher's soft targets already say how sure to be
    if c.augment == "auto":
        c.augment = "distil"
    if c.arch is not None and c.arch not in ARCH_NAMES:
        raise TrainingError(f"unknown architecture {c.arch!r}; choose one of {', '.join(ARCH_NAMES)}")
    return c


def distil_epochs(n_train: int) -> int:
    """Epochs for the teacher-guided start: about DISTIL_VIEWS views in all (distillation gains
    from many views; Beyer et al. 2022), within DISTIL_EPOCHS."""
    low, high = DISTIL_EPOCHS
    return max(low, min(high, round(DISTIL_VIEWS / max(1, n_train))))


def teacher_installed() -> bool:
    """Is the ImageNet teacher's weights package installed? (imports nothing)"""
    import importlib.util

    try:
        from ..teacher.model import WEIGHTS_PACKAGE

        return importlib.util.find_spec(WEIGHTS_PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def imagenet_download_mb(arch: str) -> float | None:
    """The size in MB of torchvision's ImageNet weights for ``arch`` (imports torchvision), or None."""
    from ..model.download import imagenet_weights

    try:
        return float(imagenet_weights(arch).meta["_file_size"])
    except Exception:  # noqa: BLE001 - an unknown arch or a torchvision without the size
        return None


def imagenet_cached(arch: str) -> bool:
    """Are torchvision's ImageNet weights for ``arch`` in torch's cache? (imports torchvision)"""
    from ..model.download import cached_imagenet_path

    try:
        return cached_imagenet_path(arch).is_file()
    except Exception:  # noqa: BLE001 - no weights table for it: not cached
        return False

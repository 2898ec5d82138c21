"""What a fine-tune keeps on disk: the best model so far (the user's checkpoint) and the
last epoch's full state (``<out>.resume``) so ``--resume`` continues where it stopped."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..model.checkpoint import WeightsError, save_torch
from .config import TrainingError


@dataclass
class Best:
    """The best epoch so far: highest validation accuracy, ties broken by lower loss."""

    epoch: int = 0
    val_acc: float = -1.0
    val_loss: float = math.inf
    confusion: list[list[int]] = field(default_factory=list)
    per_class: dict[str, float] = field(default_factory=dict)
    predicted: list[int] = field(default_factory=list)  # per validation image (the confusion's photos)

    def beaten_by(self, val_acc: float, val_loss: float) -> bool:
        return val_acc > self.val_acc or (val_acc == self.val_acc and val_loss < self.val_loss)


@dataclass
class Resumed:
    model: dict  # state_dict
    epoch: int  # the last finished epoch
    history: list[dict]
    best: Best
    optimizer: dict | None = None  # with scheduler and mode: only from a resume file
    scheduler: dict | None = None
    mode: str | None = None


def resume_path(out: Path) -> Path:
    return out.with_name(out.name + ".resume")


def save_resume(out: Path, model, optimizer, scheduler, epoch: int, history: list, best: Best, mode: str) -> None:
    save_torch({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "epoch": epoch, "history": history, "best": asdict(best), "mode": mode}, resume_path(out))


def load_resume(out: Path, arch: str, classes: list[str]) -> Resumed | None:
    """The last epoch's state, else the best checkpoint's weights and history; None if neither."""
    import torch

    from ..model.loading import load_model

    path = resume_path(out)
    if path.is_file():
        try:
            state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged resume file: say so, never guess
            raise TrainingError(f"cannot resume from {path.name}: {exc}") from None
        return Resumed(state["model"], int(state["epoch"]), list(state.get("history", [])),
                       Best(**state.get("best", {})), state.get("optimizer"), state.get("scheduler"), state.get("mode"))
    if not out.is_file():
        return None
    try:
        loaded = load_model(out)
    except WeightsError as exc:
        raise TrainingError(f"cannot resume: {exc}") from None
    if loaded.info.arch != arch or loaded.info.class_names != classes:
        raise TrainingError(f"cannot resume from {out.name}: it is a {loaded.info.arch} for classes "
                            f"{loaded.info.class_names}, not this folder's {classes}")
    training = loaded.info.training or {}
    history = training.get("history", [])
    best = Best(training.get("best_epoch", 0), training.get("val_acc", -1.0), training.get("val_loss", math.inf),
                training.get("confusion", []), training.get("per_class_acc", {}))
    return Resumed(loaded.model.state_dict(), len(history), history, best)

"""The Fine-tune page's "Start from" choices, the core's default among them, and the line
under the options that says what the start is and why (TrainConfig.describe_start)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from ...core.train.config import TEACHER, TrainConfig, distil_epochs, imagenet_download_mb, teacher_installed
from ..styles import plain_tooltip

_REASONS = {TEACHER: "no ImageNet ResNet weights are cached", "imagenet": "ImageNet weights are in torch's cache"}


def fill(combo: QComboBox, current_model: tuple | None, cached: bool | None, arch: str = "resnet18") -> None:
    """The choices: the window's model, ImageNet weights (cached, or to download with their size), the
    teacher when installed, random. ``cached`` is None until the background probe has run."""
    combo.clear()
    # a long choice is cut short in the box instead of widening the options past their panel
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(14)
    if current_model:
        combo.addItem(f"Current model ({Path(current_model[0]).name})", "current")
        combo.setItemData(0, plain_tooltip(current_model[0]), Qt.ItemDataRole.ToolTipRole)
    if cached is False:  # probed: torchvision is imported, so the size costs nothing here
        size = imagenet_download_mb(arch)
        label = f"ImageNet weights (downloads {size:.0f} MB once)" if size else "ImageNet weights (downloads once)"
    else:
        label = "ImageNet weights (cached)" if cached else "ImageNet weights"
    combo.addItem(label, "imagenet")
    if teacher_installed():
        combo.addItem("Taught by the built-in ImageNet teacher", TEACHER)
        combo.setItemData(combo.count() - 1, plain_tooltip(
            "A head on the ImageNet teacher's features teaches the ResNet on many views of your photos: "
            "far better than random weights with few photos; minutes, not seconds"), Qt.ItemDataRole.ToolTipRole)
    combo.addItem("Random (from scratch)", "scratch")


def default(current_model: tuple | None, imagenet_probed: bool, arch: str) -> str:
    """The core's choice, as a "Start from" item."""
    fallback = current_model[0] if current_model else None
    if not imagenet_probed:
        # not probed yet: resolve() would import torchvision here, on the GUI thread, racing
        # the probe's import; with the cache unknown the core's policy comes down to this
        return TEACHER if teacher_installed() else "current" if fallback else "scratch"
    start = TrainConfig("", "", arch=arch).resolve(fallback_start=fallback).start
    return "current" if fallback and start == fallback else start


def describe(c: TrainConfig, is_default: bool) -> str:
    """What the start is, and why when it is the core's own choice (resolve()'s reasons)."""
    if is_default:
        c.start_reason = _REASONS.get(c.start, "no ImageNet weights are cached and the ImageNet teacher is not installed")
    return c.describe_start()


def epochs(scan, val_percent: float) -> int:
    """The teacher-guided schedule for the scanned folder's training photos (a guess before a scan)."""
    total = sum(scan.counts) if scan is not None and not scan.error else 240
    return distil_epochs(max(1, round(total * (1 - val_percent / 100.0))))

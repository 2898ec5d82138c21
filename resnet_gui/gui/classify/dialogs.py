"""The questions the Classify page asks: which file, folder or architecture ("" if none)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from ...constants import WEIGHT_SUFFIXES
from ...core.data.images import IMAGE_EXTENSIONS
from ...core.model.architectures import ARCH_NAMES


def ask_weights(parent: QWidget, folder: str) -> str:
    pattern = " ".join(f"*{suffix}" for suffix in WEIGHT_SUFFIXES)
    path, _ = QFileDialog.getOpenFileName(parent, "Open weights", folder or str(Path.home()),
                                          f"Weights ({pattern});;All files (*)")
    return path


def ask_architecture(parent: QWidget) -> str:
    arch, ok = QInputDialog.getItem(parent, "Download ImageNet weights", "Architecture (torchvision ImageNet weights):",
                                    list(ARCH_NAMES), list(ARCH_NAMES).index("resnet50"), False)
    return arch if ok else ""


def ask_folder(parent: QWidget, folder: str) -> str:
    return QFileDialog.getExistingDirectory(parent, "Classify a folder", folder or str(Path.home()))


def ask_images(parent: QWidget, folder: str) -> list[str]:
    pattern = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
    files, _ = QFileDialog.getOpenFileNames(parent, "Classify images", folder or str(Path.home()),
                                            f"Images ({pattern});;All files (*)")
    return files


def ask_export_path(parent: QWidget, folder: str) -> str:
    start = Path(folder or Path.home()) / "predictions.csv"
    path, _ = QFileDialog.getSaveFileName(parent, "Export results", str(start), "CSV (*.csv)")
    return path

"""Class names for weights that carry none: a sidecar file, ImageNet's, or ``class i``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

# Sidecar files that may carry class names for a plain state_dict, in the order tried.
# ``class_indices.json`` is what the classic transfer-learning tutorial writes.
MAX_SIDECAR_BYTES = 10_000_000  # 20,000 class names fit in well under 1 MB
_SIDECARS = ("{stem}.json", "class_indices.json", "classes.json", "labels.json", "{stem}.txt", "labels.txt", "classes.txt")


def sidecar_paths(weights: Path) -> list[Path]:
    """Every sidecar that may name the classes of ``weights``, in the order tried."""
    return [weights.with_name(name.format(stem=weights.stem)) for name in _SIDECARS]


def imagenet_class_names() -> list[str]:
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def _parse_sidecar(path: Path) -> list[str] | None:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".txt":
        return [line.strip() for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if isinstance(data, list):
        return [str(x) for x in data]
    if isinstance(data, Mapping):
        if "class_names" in data and isinstance(data["class_names"], list):
            return [str(x) for x in data["class_names"]]
        try:  # {"0": "daisy", "1": "dandelion", ...}
            items = sorted((int(k), str(v)) for k, v in data.items())
        except (TypeError, ValueError):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in data.values()):
                return None
            items = sorted((v, str(k)) for k, v in data.items())  # ImageFolder's class_to_idx
        if [i for i, _ in items] == list(range(len(items))):
            return [v for _, v in items]
    return None


def find_class_names(weights_path: Path, num_classes: int) -> tuple[list[str], str, list[str]]:
    """Class names for a plain state_dict: a sidecar file, ImageNet's, or ``class i``."""
    notes: list[str] = []
    for pattern in _SIDECARS:
        candidate = weights_path.parent / pattern.format(stem=weights_path.stem)
        if not candidate.is_file():
            continue
        if candidate.stat().st_size > MAX_SIDECAR_BYTES:
            notes.append(f"ignored {candidate.name}: larger than {MAX_SIDECAR_BYTES // 1_000_000} MB")
            continue
        try:
            names = _parse_sidecar(candidate)
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            notes.append(f"ignored {candidate.name}: unreadable ({exc})")
            continue
        if names is None:
            notes.append(f"ignored {candidate.name}: not a list of class names")
        elif len(names) != num_classes:
            notes.append(f"ignored {candidate.name}: {len(names)} names but the model has {num_classes} outputs")
        else:
            return names, f"sidecar:{candidate.name}", notes
    if num_classes == 1000:
        return imagenet_class_names(), "imagenet", notes
    return [f"class {i}" for i in range(num_classes)], "generic", notes

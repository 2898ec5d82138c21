"""torchvision ResNets by name, and inferring which one a state_dict belongs to."""

from __future__ import annotations

import re
from typing import Mapping

# name -> (block type, blocks per stage); this is exactly torchvision's table.
ARCHITECTURES: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
}
ARCH_NAMES = tuple(ARCHITECTURES)


class ArchitectureError(ValueError):
    """The weights do not describe a supported ResNet."""


def build_model(arch: str, num_classes: int):
    """A randomly initialised torchvision ResNet (no download ever happens here)."""
    import torchvision

    if arch not in ARCHITECTURES:
        raise ArchitectureError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCH_NAMES)}")
    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)


_LAYER_BLOCK = re.compile(r"^layer([1-4])\.(\d+)\.")


def infer_architecture(state_dict: Mapping[str, object]) -> tuple[str, int]:
    """Guess ``(arch, num_classes)`` from tensor names and shapes.

    Bottleneck blocks have a ``conv3``; the number of blocks per stage separates
    resnet18 from 34 and 50/101/152; ``fc.weight``'s rows give the class count.
    """
    fc = state_dict.get("fc.weight")
    if fc is None or getattr(fc, "ndim", 0) != 2:
        raise ArchitectureError("no 'fc.weight' matrix found: this does not look like a ResNet state_dict")
    num_classes = int(fc.shape[0])
    block = "bottleneck" if any(k.startswith("layer1.0.conv3.") for k in state_dict) else "basic"
    counts = [0, 0, 0, 0]
    for key in state_dict:
        match = _LAYER_BLOCK.match(key)
        if match:
            stage, index = int(match.group(1)) - 1, int(match.group(2))
            counts[stage] = max(counts[stage], index + 1)
    for name, (kind, layers) in ARCHITECTURES.items():
        if kind == block and tuple(counts) == layers:
            return name, num_classes
    raise ArchitectureError(
        f"unsupported ResNet layout: {block} blocks with {counts} blocks per stage "
        f"(supported: {', '.join(ARCH_NAMES)})"
    )

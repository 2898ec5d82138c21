"""The preview's heatmap job: a Grad-CAM (core/review/cam.py) of one photo for one class, as
plain pixels for the window. No Qt here; it runs on the heatmap's own TaskRunner.

The job reads its own copy of the torch weights (lazily, once per weights file): the
classification runner's model may be busy in another thread, and Grad-CAM hooks ``layer4``,
which would catch that thread's forward passes too. An engine running an ONNX conversion of a
.pt file still has the .pt to read; a bare .onnx file has no gradients to follow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.stop import StopFlag

NEEDS_WEIGHTS = "heatmaps need the .pt weights: open the .pt or .safetensors file this .onnx was exported from"


@dataclass
class HeatmapReady:
    path: str
    class_name: str
    width: int  # the photo, longer side at most cam.MAX_SIDE
    height: int
    photo_rgb: bytes  # width x height RGB888 rows
    box: tuple[int, int, int, int]  # what the model saw (its crop), in photo pixels: left, top, right, bottom
    heat_rgb: bytes  # the coloured heatmap over ``box`` only, RGB888 rows


@dataclass
class HeatmapUnavailable:
    path: str
    class_name: str
    message: str  # one line for the preview


class HeatmapModels:
    """The torch weights the heatmap jobs use, read once per file (and again when it changes on
    disk). Touched only by the jobs of one runner, one at a time: no lock."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.loaded: Any = None

    def get(self, source: str):
        from ...core.model.loading import load_model

        stat = os.stat(source)
        key = (source, stat.st_mtime_ns, stat.st_size)
        if key != self.key:
            self.loaded, self.key = None, None  # a failed read leaves nothing stale behind
            self.loaded, self.key = load_model(source), key
        return self.loaded


def heatmap(models: HeatmapModels, source: str, path: str, class_name: str, *,
            should_stop: StopFlag) -> HeatmapReady | HeatmapUnavailable | None:
    """Grad-CAM of ``path`` for ``class_name`` with the weights in ``source``; None when
    cancelled before it began. Unreadable photos and weights come back as HeatmapUnavailable."""
    if should_stop():
        return None
    if Path(source).suffix.lower() == ".onnx":
        return HeatmapUnavailable(path, class_name, NEEDS_WEIGHTS)
    from ...core.data.images import ImageError
    from ...core.model.checkpoint import WeightsError
    from ...core.review.cam import explain, turbo

    try:
        loaded = models.get(source)
    except (OSError, WeightsError) as exc:
        return HeatmapUnavailable(path, class_name, f"no heatmap: cannot read {Path(source).name}: {exc}")
    if should_stop():
        return None
    try:
        result = explain(loaded, path, class_name)
    except ImageError as exc:
        return HeatmapUnavailable(path, class_name, f"no heatmap: {exc}")
    except ValueError:  # a class this model does not have (the model changed meanwhile)
        return HeatmapUnavailable(path, class_name, f"no heatmap: the model has no class {class_name!r}")
    import numpy as np

    left, top, right, bottom = result.box
    heat = np.ascontiguousarray(turbo(result.heatmap[top:bottom, left:right]))
    photo = result.photo.convert("RGB")
    # not result.probability: that is at temperature 1; the window shows the Prediction's own
    return HeatmapReady(path, result.class_name, photo.width, photo.height, photo.tobytes(),
                        result.box, heat.tobytes())

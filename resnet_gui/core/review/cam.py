"""Grad-CAM (Selvaraju et al., 2017) heatmaps: which parts of the photo made the model say a
class. Hooks on ``layer4`` of the model the app loads (core.model.loading.load_model); about
30 lines instead of a dependency: tests/test_cam.py checks the maps against torchcam's.

The heatmap is computed on what the model sees (the eval crop) and placed over the photo;
outside the crop the model saw nothing, so nothing is drawn there.

- :func:`explain` -> :class:`Explanation` (photo, heatmap, class, probability): the slow part,
  for a background job;
- :func:`overlay` -> an RGB image at any opacity: cheap, for a slider;
- :func:`write_overlays`: ``classify --cam DIR`` (PNGs named after the photos, never overwriting)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..model.checkpoint import LoadedModel
from ..train.events import Stage

MAX_SIDE = 1024  # the photo under the heatmap is shrunk to this (a preview, not a print)


def grad_cam(model, x, class_index: int | None = None):
    """Grad-CAM of one normalised (1, 3, H, W) batch at ``layer4``'s resolution: returns
    (cam (h, w) tensor scaled to [0, 1], class index, probabilities (K,))."""
    import torch

    kept: dict = {}
    handle = model.layer4.register_forward_hook(lambda _module, _inputs, output: kept.__setitem__("acts", output))
    try:
        with torch.enable_grad():
            logits = model(x.detach().requires_grad_(True))  # an input needing grad: a graph even for frozen weights
            index = int(logits[0].argmax()) if class_index is None else int(class_index)
            # the gradient at layer4 only: no parameter's .grad is touched (the model may be shared)
            (gradients,) = torch.autograd.grad(logits[0, index], kept["acts"])
    finally:
        handle.remove()
    activations, gradients = kept["acts"].detach()[0], gradients.detach()[0]
    weights = gradients.mean(dim=(1, 2))  # one weight per channel: the spatially averaged gradient
    cam = torch.relu((weights[:, None, None] * activations).sum(0))
    cam = cam - cam.min()  # min-max scaling, as torchcam and pytorch-grad-cam do
    peak = cam.max()
    cam = cam / peak if peak > 0 else cam
    return cam, index, torch.softmax(logits.detach()[0].float(), 0)


@dataclass
class Explanation:
    photo: object  # PIL RGB image, longer side at most MAX_SIDE
    heatmap: object  # numpy float32 (H, W) in [0, 1] over ``photo``; 0 outside what the model saw
    class_name: str
    class_index: int
    probability: float
    box: tuple[int, int, int, int]  # the model's crop in ``photo`` pixels: left, top, right, bottom


def _crop_box(width: int, height: int, resize: int, crop: int) -> tuple[float, float, float, float]:
    """The eval transform's centre crop (core/data/transforms) in the photo's own pixels."""
    scale = min(width, height) / resize
    side = crop * scale
    left, top = (width - side) / 2, (height - side) / 2
    return left, top, left + side, top + side


def explain(loaded: LoadedModel, path: str | os.PathLike, class_name: str | None = None, *,
            max_side: int = MAX_SIDE) -> Explanation:
    """Grad-CAM of one photo for ``class_name`` (None: the top class). Raises ImageError for an
    unreadable photo, ValueError for a class the model does not have."""
    import numpy as np
    import torch
    from PIL import Image

    from ..data.images import load_image
    from ..data.transforms import decode_tensor

    info, model = loaded.info, loaded.model.eval()
    index = None if class_name is None else info.class_names.index(class_name)
    x = decode_tensor(path, info.resize_size, info.image_size).float().unsqueeze(0)
    device = next(model.parameters()).device
    mean = torch.tensor(info.mean, device=device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(info.std, device=device).view(1, 3, 1, 1) * 255.0
    cam, index, probs = grad_cam(model, (x.to(device) - mean) / std, index)
    photo = load_image(path)
    photo.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    left, top, right, bottom = (round(v) for v in _crop_box(*photo.size, info.resize_size, info.image_size))
    left, top = max(0, left), max(0, top)
    right, bottom = min(photo.width, max(right, left + 1)), min(photo.height, max(bottom, top + 1))
    resized = torch.nn.functional.interpolate(cam[None, None].float().cpu(), size=(bottom - top, right - left),
                                              mode="bilinear", align_corners=False)[0, 0].clamp(0, 1)
    heatmap = np.zeros((photo.height, photo.width), dtype=np.float32)
    heatmap[top:bottom, left:right] = resized.numpy()
    return Explanation(photo, heatmap, info.class_names[index], index, float(probs[index]), (left, top, right, bottom))


def turbo(values):
    """Google's Turbo colour map (polynomial fit, A. Mikhailov 2019) of values in [0, 1]:
    (..., 3) uint8. Blue is cold, red is what decided the class."""
    import numpy as np

    x = np.clip(np.asarray(values, dtype=np.float32), 0, 1)[..., None]
    kr = (0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943)
    kg = (0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604)
    kb = (0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973)
    powers = np.concatenate([x ** p for p in range(6)], axis=-1)
    rgb = np.stack([powers @ np.array(k, dtype=np.float32) for k in (kr, kg, kb)], axis=-1)
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def overlay(explanation: Explanation, opacity: float = 0.5):
    """The photo with the heatmap blended in at ``opacity`` (0: the photo, 1: the map) inside
    the model's crop: an RGB PIL image (``.tobytes()`` gives RGB888 rows for a QImage)."""
    import numpy as np
    from PIL import Image

    opacity = min(1.0, max(0.0, float(opacity)))
    base = np.asarray(explanation.photo.convert("RGB"), dtype=np.float32)
    left, top, right, bottom = explanation.box
    region = base[top:bottom, left:right]
    colours = turbo(explanation.heatmap[top:bottom, left:right]).astype(np.float32)
    base[top:bottom, left:right] = region * (1 - opacity) + colours * opacity
    return Image.fromarray(base.round().astype(np.uint8), "RGB")


def check_cam_folder(folder: str | os.PathLike) -> Path:
    """Before any work: ``folder`` is (or can become) a writable folder; OutputError otherwise."""
    from ..atomic import OutputError, check_output_file

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file, not a folder for the heatmaps")
    check_output_file(folder / "heatmap.png", example="heatmap.png")
    return folder


def _free_name(folder: Path, stem: str, taken: set[str]) -> Path:
    """``<stem>.png``, else ``<stem>-2.png``, ...: never a file that exists or was written this run.
    A long stem is cut to 200 bytes: a photo's name may take all 255 a file name can have."""
    from ..paths import first_free

    stem = stem.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore") or "photo"
    path = first_free(lambda n: folder / (f"{stem}.png" if n == 1 else f"{stem}-{n}.png"),
                      lambda path: path.name in taken or os.path.lexists(path))
    taken.add(path.name)
    return path


def write_overlays(loaded: LoadedModel, paths: Sequence[str | os.PathLike], folder: str | os.PathLike, *,
                   opacity: float = 0.5, should_stop: Callable[[], bool] | None = None) -> Iterator[Stage]:
    """One PNG per photo (the top class's heatmap over it) in ``folder``; yields a Stage per photo
    and returns [(photo, png path or None, class or error)]."""
    from ..atomic import atomic_write
    from ..data.images import ImageError

    folder = check_cam_folder(folder)
    taken: set[str] = set()
    written: list[tuple[str, str | None, str]] = []
    for done, path in enumerate(paths, 1):
        if should_stop and should_stop():
            break
        try:
            result = explain(loaded, path)
        except ImageError as exc:
            written.append((str(path), None, str(exc)))
            continue
        target = _free_name(folder, Path(path).stem, taken)
        with atomic_write(target) as handle:
            overlay(result, opacity).save(handle, format="PNG")
        written.append((str(path), str(target), result.class_name))
        yield Stage(f"heatmaps: {done} of {len(paths)}", done, len(paths))
    return written

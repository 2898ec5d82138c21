"""The one eval transform: shorter side resized, then a center crop (torchvision's classic
``Resize(256) + CenterCrop(224)``), as a uint8 CHW tensor. Inference and training's
validation images both come through here; normalisation is done per batch on the device."""

from __future__ import annotations

import os


def resize_for(image_size: int) -> int:
    """The shorter side before cropping ``image_size``: the 256/224 ratio (224 -> 256, 128 -> 146)."""
    return round(image_size * 256 / 224)


def decode_tensor(path: str | os.PathLike, short_side: int, crop: int | None = None):
    """uint8 CHW tensor of ``path`` with its shorter side resized to ``short_side``, then
    center-cropped to ``crop`` (no crop: the whole resized picture, for random crops later)."""
    import torchvision.transforms.functional as TF

    from .images import load_image

    img = load_image(path, min_side=short_side)
    img = TF.resize(img, short_side, interpolation=TF.InterpolationMode.BILINEAR)
    if crop:
        img = TF.center_crop(img, crop)
    return TF.pil_to_tensor(img)

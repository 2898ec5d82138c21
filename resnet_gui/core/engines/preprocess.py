"""The one eval transform (:mod:`resnet_gui.core.data.transforms`) in numpy, without torch:
the same Pillow decode, resize and crop, so an engine sees exactly the pixels PyTorch sees
(tests compare them byte for byte)."""

from __future__ import annotations

import os

import numpy as np


def decode_array(path: str | os.PathLike, short_side: int, crop: int) -> np.ndarray:
    """uint8 CHW array: shorter side resized to ``short_side`` (bilinear), center crop ``crop``."""
    from PIL import Image

    from ..data.images import load_image

    img = load_image(path, min_side=short_side)
    width, height = img.size
    # torchvision's rule: the longer side truncated, not rounded
    if width <= height:
        size = (short_side, int(short_side * height / width))
    else:
        size = (int(short_side * width / height), short_side)
    if size != img.size:
        img = img.resize(size, Image.BILINEAR)
    width, height = img.size
    top, left = int(round((height - crop) / 2.0)), int(round((width - crop) / 2.0))
    img = img.crop((left, top, left + crop, top + crop))
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()


def normalise(batch_uint8: np.ndarray, mean, std) -> np.ndarray:
    """float32 NCHW, ``(x / 255 - mean) / std`` per channel, as the torch Classifier does."""
    scale = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1) * 255.0
    shift = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1) * 255.0
    return (batch_uint8.astype(np.float32) - shift) / scale


def top_k(logits: np.ndarray, names: list[str], k: int) -> list[list[tuple[str, float]]]:
    """Softmax and the ``k`` best ``(label, probability)`` per row, best first."""
    logits = logits.astype(np.float64)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    k = max(1, min(k, probs.shape[1]))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [[(names[i], float(row[i])) for i in idx] for row, idx in zip(probs, order)]

"""Penultimate-layer features, the model's own logits and core/trust's stage statistics of
many photos, batched.

A generator: it yields :class:`~resnet_gui.core.train.events.Stage` progress events and
returns a :class:`FeatureSet`. Decoding runs one batch ahead in a small thread pool, so
memory holds two batches of images plus the features (N x 512 floats for a resnet18:
6 MB for 3,000 photos)."""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..data.decoded import decode_ahead, import_torchvision
from ..data.images import ImageError
from ..data.transforms import decode_tensor
from ..model.checkpoint import LoadedModel
from ..train.events import Stage
from ..trust.features import feature_width, logits_pooled_and_stats

BATCH = 32
THUMB = 16  # side of the grey thumbnail kept per photo for near-duplicate search


@dataclass
class FeatureSet:
    paths: list[Path]  # the photos that could be read, in input order
    features: object  # numpy float32 (N, D): average-pooled layer4 output
    logits: object  # numpy float32 (N, K): the model's own head on those features
    thumbs: object  # numpy float32 (N, THUMB*THUMB): grey thumbnail of what the model sees (duplicates)
    indices: list[int]  # each row's position in the input list
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    cancelled: bool = False
    stats: object = None  # numpy float32 (N, W): core/trust's stage statistics (out-of-class scores)


def grey_thumbnails(batch_uint8):
    """(N, THUMB*THUMB) float32 grey thumbnails (area averages) of a uint8 NCHW batch."""
    import torch

    x = batch_uint8.float()
    grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    return torch.nn.functional.adaptive_avg_pool2d(grey, THUMB).flatten(1).numpy()


def _decode(path: Path, short_side: int, crop: int):
    try:
        return decode_tensor(path, short_side, crop), None
    except ImageError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad photo never stops a review
        return None, f"cannot read: {type(exc).__name__}: {exc}"


def extract_features(loaded: LoadedModel, paths: Sequence[str | os.PathLike], *, device: str = "cpu",
                     batch_size: int = BATCH, workers: int | None = None,
                     should_stop: Callable[[], bool] | None = None) -> Iterator[Stage]:
    """Yield ``Stage("computing features", done, total)`` after each batch; return a FeatureSet.
    ``should_stop()`` is checked between batches; a cancelled run returns what it has, marked."""
    import numpy as np
    import torch
    from ..model.devices import resolve_device

    import_torchvision()

    should_stop = should_stop or (lambda: False)
    info, model = loaded.info, loaded.model.eval()
    dev = resolve_device(device)
    model = model.to(dev)
    mean = torch.tensor(info.mean, device=dev).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(info.std, device=dev).view(1, 3, 1, 1) * 255.0
    paths = [Path(p) for p in paths]
    chunks = [list(range(i, min(i + batch_size, len(paths)))) for i in range(0, len(paths), batch_size)]
    out = FeatureSet([], [], [], [], [])
    feats, logits, thumbs, stats = [], [], [], []
    total = len(paths)
    yield Stage(f"computing features of {total} photos", 0, total)

    # this batch and the next one decode while the model works
    decoded = decode_ahead(lambda i: _decode(paths[i], info.resize_size, info.image_size), range(total),
                           ahead=2 * batch_size, workers=workers)
    with closing(decoded):
        for chunk in chunks:
            tensors = []
            for i, (_, (tensor, error)) in zip(chunk, decoded):
                if error is None:
                    tensors.append(tensor)
                    out.paths.append(paths[i])
                    out.indices.append(i)
                else:
                    out.skipped.append((str(paths[i]), error))
            if tensors:
                batch = torch.stack(tensors)
                thumbs.append(grey_thumbnails(batch))
                with torch.inference_mode():
                    x = (batch.to(dev).float() - mean) / std
                    out_logits, f, s = logits_pooled_and_stats(model, x)
                    feats.append(f.float().cpu().numpy())
                    logits.append(out_logits.float().cpu().numpy())
                    stats.append(s.float().cpu().numpy())
            yield Stage(f"computing features of {total} photos", chunk[-1] + 1, total)
            if should_stop():
                out.cancelled = True
                break
    width, k = model.fc.in_features, model.fc.out_features
    out.features = np.concatenate(feats) if feats else np.zeros((0, width), np.float32)
    out.logits = np.concatenate(logits) if logits else np.zeros((0, k), np.float32)
    out.thumbs = np.concatenate(thumbs) if thumbs else np.zeros((0, THUMB * THUMB), np.float32)
    out.stats = np.concatenate(stats) if stats else np.zeros((0, feature_width(model)), np.float32)
    return out

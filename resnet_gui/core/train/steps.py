"""One epoch of training and one evaluation, over either cached backbone features (head
mode) or augmented images held in memory (full mode)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..model.checkpoint import IMAGENET_MEAN, IMAGENET_STD
from .events import BatchProgress, PhaseMeter

FEATURE_CHUNK = 64  # images per forward pass when computing features or evaluating


class Compute:
    """Where and how the network runs: device, per-batch normalisation, optional autocast."""

    def __init__(self, device, amp_dtype=None) -> None:
        import torch

        self.device, self.amp_dtype = device, amp_dtype
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255

    def normalise(self, batch_uint8):
        import torch

        x = batch_uint8.to(self.device, non_blocking=True).float()
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)

    def forward(self, net, x):
        import torch

        if self.amp_dtype is not None:
            with torch.autocast(self.device.type, dtype=self.amp_dtype):
                return net(x).float()
        return net(x)

    def logits(self, net, images) -> "object":
        """Logits of a list of uint8 tensors, in chunks, without gradients."""
        steps = self.logits_steps(net, images)
        while True:
            try:
                next(steps)
            except StopIteration as end:
                return end.value

    def logits_steps(self, net, images, meter: PhaseMeter | None = None):
        """:meth:`logits` as a generator: yields ``meter``'s progress events between chunks."""
        import torch

        outs = []
        for i in range(0, len(images), FEATURE_CHUNK):
            with torch.inference_mode():
                chunk = images[i:i + FEATURE_CHUNK]
                outs.append(self.forward(net, self.normalise(torch.stack(chunk))).float())
            if meter is not None and (event := meter.advance(len(chunk))) is not None:
                yield event
        return torch.cat(outs)


NONE_SHARE = 0.25  # photos of none of the classes added to each training batch, per class photo
NONE_WEIGHT = 0.5  # their loss beside the class loss (Hendrycks et al. 2019, "Deep anomaly detection with outlier exposure")
NONE_LABEL = -1  # their label in a batch: no class


class NoneRows:
    """Photos of none of the classes (a dataset's ``_none`` folder): a seeded random few join
    every training batch with the label ``NONE_LABEL``; OutlierExposureLoss pushes the model's
    predictions on them towards uniform, so "not one of my classes" holds on such photos."""

    def __init__(self, count: int, seed: int = 0) -> None:
        import random

        self.count, self.rng = count, random.Random(seed)

    def pick(self, batch_len: int) -> list[int]:
        if self.count == 0:
            return []
        return [self.rng.randrange(self.count) for _ in range(max(1, round(batch_len * NONE_SHARE)))]


def outlier_exposure_loss(criterion, weight: float = NONE_WEIGHT):
    """``criterion`` on the class rows plus ``weight`` x the cross-entropy to the uniform
    distribution on rows labeled ``NONE_LABEL`` (none when a batch has no such rows)."""
    import torch.nn.functional as F

    def loss(logits, y):
        if y.ndim != 1 or not bool((y == NONE_LABEL).any()):
            return criterion(logits, y)
        known = y != NONE_LABEL
        uniform = -F.log_softmax(logits[~known].float(), dim=1).mean(dim=1).mean()
        return criterion(logits[known], y[known]) + weight * uniform
    return loss


class ImageBatches:
    """Full mode: augmented images in, the whole network trains."""

    def __init__(self, compute: Compute, train_set, val_set, augment, erase: Callable | None,
                 none_images: list | None = None, seed: int = 0) -> None:
        self.compute, self.train_set, self.val_set = compute, train_set, val_set
        self.augment, self.erase = augment, erase
        self.n_train = len(train_set.images)
        self.none_images = none_images or []
        self.none = NoneRows(len(self.none_images), seed)

    def batch(self, net, idx: list[int]):
        import torch

        extra = self.none.pick(len(idx))
        images = [self.train_set.images[i] for i in idx] + [self.none_images[j] for j in extra]
        x = self.compute.normalise(torch.stack([self.augment(image) for image in images]))
        if self.erase is not None:
            x = self.erase(x)
        labels = [self.train_set.labels[i] for i in idx] + [NONE_LABEL] * len(extra)
        y = torch.tensor(labels, device=self.compute.device)
        return self.compute.forward(net, x), y

    def val_logits(self, net):
        net.eval()
        return self.compute.logits(net, self.val_set.images)

    def val_logits_steps(self, net, meter: PhaseMeter):
        net.eval()
        return (yield from self.compute.logits_steps(net, self.val_set.images, meter))


class FeatureBatches:
    """Head mode: the frozen backbone ran once (plus a flipped copy of the training images);
    only ``fc`` trains, on cached features, in seconds."""

    def __init__(self, compute: Compute, train_features, train_labels, val_features, none_features=None,
                 seed: int = 0) -> None:
        self.compute = compute
        self.features, self.labels, self.val_features = train_features, train_labels, val_features
        self.n_train = len(train_labels)
        self.none_features = none_features  # [photos of none of the classes, width], or None
        self.none = NoneRows(0 if none_features is None else len(none_features), seed)

    @classmethod
    def compute_features(cls, net, compute: Compute, train_set, val_set, center, should_stop, none_images=(),
                         seed: int = 0):
        """Run the backbone over every image once, yielding PhaseProgress (an image count and an
        ETA); return FeatureBatches, or None if ``should_stop()`` turned true."""
        import torch
        import torch.nn as nn

        sources = (("train", train_set.images, False), ("flip", train_set.images, True), ("val", val_set.images, False),
                   ("none", list(none_images), False))
        meter = PhaseMeter("features", "computing features with the frozen backbone",
                           sum(len(images) for _, images, _ in sources))
        yield meter.start()
        fc, net.fc = net.fc, nn.Identity()
        net.eval()
        try:
            chunks = {"train": [], "flip": [], "val": [], "none": []}
            for name, images, flip in sources:
                for i in range(0, len(images), FEATURE_CHUNK):
                    with torch.inference_mode():
                        x = torch.stack([center(t) for t in images[i:i + FEATURE_CHUNK]])
                        x = x.flip(-1) if flip else x
                        chunks[name].append(compute.forward(net, compute.normalise(x)).float().cpu())
                    if should_stop():
                        return None
                    if (event := meter.advance(len(x))) is not None:
                        yield event
        finally:
            net.fc = fc
        labels = torch.tensor(train_set.labels, dtype=torch.long)
        width = fc.in_features  # an empty share (one of many processes) still has a shape

        def cat(parts):
            return torch.cat(parts) if parts else torch.zeros((0, width))
        return cls(compute, cat(chunks["train"] + chunks["flip"]), torch.cat([labels, labels]), cat(chunks["val"]),
                   cat(chunks["none"]) if chunks["none"] else None, seed)

    def batch(self, net, idx: list[int]):
        import torch

        extra = self.none.pick(len(idx))
        x, y = self.features[idx], self.labels[idx]
        if extra:
            x = torch.cat([x, self.none_features[extra]])
            y = torch.cat([y, torch.full((len(extra),), NONE_LABEL, dtype=y.dtype)])
        return net.fc(x.to(self.compute.device)), y.to(self.compute.device)

    def val_logits(self, net):
        import torch

        with torch.inference_mode():
            return net.fc(self.val_features.to(self.compute.device)).float()


@dataclass
class EpochResult:
    loss: float = 0.0  # mean training loss over the images seen
    accuracy: float = 0.0
    stopped: str = ""  # "" | "cancelled" | "nan"
    message: str = ""
    seen: int = 0  # images trained on (this process's, under torchrun)


def train_one_epoch(net, batches, criterion, optimizer, scheduler, order: list[int], batch_size: int, steps: int,
                    epoch: int, epochs: int, should_stop: Callable[[], bool], sync=None) -> Iterator[BatchProgress]:
    """Yield a :class:`BatchProgress` per step; ``return`` (``yield from``'s value) an :class:`EpochResult`.

    ``sync`` (under torchrun, see parallel.Sync) averages the loss over processes each step,
    so a NaN anywhere stops every process at the same step instead of leaving them waiting."""
    seen, loss_sum, correct, started = 0, 0.0, 0, time.perf_counter()
    result = EpochResult()
    for b in range(steps):
        if should_stop():
            result.stopped = "cancelled"
            break
        idx = order[b * batch_size:(b + 1) * batch_size]
        logits, y = batches.batch(net, idx)
        loss = criterion(logits, y)
        value = float(loss.detach())
        if sync is not None:
            value = sync.mean(value)
        if not math.isfinite(value):
            result.stopped = "nan"
            result.message = f"the loss became {value} at epoch {epoch}, batch {b + 1}"
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        seen += len(idx)
        loss_sum += value * len(idx)
        # rows of none of the classes (label -1) never count as correct; soft targets: their top class
        correct += int((logits.argmax(1) == (y.argmax(1) if y.ndim == 2 else y)).sum())
        elapsed = time.perf_counter() - started
        rate = seen / elapsed if elapsed > 0 else 0.0
        remaining = (steps - b - 1) * batch_size + (epochs - epoch) * steps * batch_size
        eta = remaining / rate if rate > 0 else float("nan")
        yield BatchProgress(epoch, epochs, b + 1, steps, value, rate * (sync.world if sync else 1), eta)
    result.loss, result.accuracy, result.seen = loss_sum / max(1, seen), correct / max(1, seen), seen
    return result


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    confusion: list[list[int]] = field(default_factory=list)  # rows: true class, columns: predicted
    predicted: list[int] = field(default_factory=list)  # per validation image, in the validation set's order

    def per_class(self, classes: list[str]) -> dict[str, float]:
        """Recall per class (NaN for a class without validation images)."""
        out = {}
        for i, name in enumerate(classes):
            total = sum(self.confusion[i])
            out[name] = self.confusion[i][i] / total if total else float("nan")
        return out


def evaluate(net, batches, val_labels: list[int], num_classes: int):
    """Plain (unweighted, unsmoothed) cross-entropy, accuracy and confusion on the validation set,
    as a generator: yields PhaseProgress while the images go through the network (full mode),
    returns an :class:`Evaluation`."""
    import torch
    import torch.nn.functional as F

    # looked up on the class: a torchrun wrapper (parallel.ShardedValidation) forwards unknown
    # attributes to the batches it wraps, and must validate its own way
    steps = getattr(type(batches), "val_logits_steps", None)
    if steps is None:
        logits = batches.val_logits(net)
    else:
        meter = PhaseMeter("validating", f"validating on {len(val_labels)} images", len(val_labels))
        yield meter.start()
        logits = yield from steps(batches, net, meter)
    labels = torch.tensor(val_labels, device=logits.device)
    pred = logits.argmax(1)
    confusion = [[0] * num_classes for _ in range(num_classes)]
    predicted = pred.tolist()
    for t, p in zip(labels.tolist(), predicted):
        confusion[t][p] += 1
    return Evaluation(float(F.cross_entropy(logits, labels)), float((pred == labels).float().mean()), confusion,
                      predicted)

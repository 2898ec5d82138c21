"""What a fine-tune does differently under torchrun (DistributedDataParallel).

- ``--batch-size`` is the GLOBAL batch: each of the N processes takes ``batch_size // N``
  images per step (at least one), and DDP averages the gradients, so one step sees the
  same images as one single-process step. BatchNorm statistics are per process (as in
  torchvision's reference without --sync-bn), so keep a few dozen images per process.
- Each epoch's seeded order is the same on every rank; rank r takes ``order[r::N]`` after
  padding with its first images to a multiple of N (DistributedSampler's rule), so every
  rank makes the same number of steps.
- Validation: each rank runs its share, the logits are gathered, and every rank computes
  the same metrics over the whole split (so all agree on "improved" and early stopping).
- Head mode: each rank decodes and runs the backbone on its share of the images only;
  the features are gathered, then only ``fc`` trains, under DDP.
"""

from __future__ import annotations

from types import SimpleNamespace

from ..distributed import Dist
from .config import TrainingError
from .steps import EpochResult


def check_world(dist: Dist, n_train: int, batch_size: int) -> int:
    """The per-process batch; a clear error when there are more processes than photos."""
    if dist.world > n_train:
        raise TrainingError(f"{dist.world} processes but only {n_train} training images: every process needs at "
                            f"least one; use at most {n_train} processes (nodes x --nproc_per_node)")
    return max(1, batch_size // dist.world)


def rank_order(order: list[int], dist: Dist) -> list[int]:
    """This rank's share of the epoch's global order (DistributedSampler: pad, then stride)."""
    if not dist.active:
        return order
    padded = order + order[:(-len(order)) % dist.world]
    return padded[dist.rank::dist.world]


def wrap(model, mode: str, dist: Dist):
    """The network the optimizer steps: ``model`` itself, or under torchrun a DDP wrapper
    (around ``fc`` alone in head mode, where training never runs the backbone)."""
    if not dist.active:
        return model
    import warnings

    from torch.nn.parallel import DistributedDataParallel as DDP

    # channels_last 1x1 convolutions: their grads have equivalent but differently written
    # strides; DDP copies them (cheap) and warns on every run (only under torchrun).
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    ids = [dist.device.index] if dist.device.type == "cuda" else None
    if mode == "head":
        return SimpleNamespace(fc=DDP(model.fc, device_ids=ids))  # FeatureBatches calls net.fc
    return DDP(model, device_ids=ids)


def reseed(seed: int, dist: Dist) -> None:
    """Different augmentation on each rank (the same seed would give every rank's i-th image
    the same crop); the model was already built from the shared seed."""
    if dist.active:
        import random

        import torch

        random.seed(seed * 1_000_003 + dist.rank)
        torch.manual_seed(seed * 1_000_003 + dist.rank)


class Sync:
    """Handed to ``train_one_epoch``: the mean loss over ranks each step (a NaN on any rank
    stops every rank at the same step) and the global images/s."""

    def __init__(self, dist: Dist) -> None:
        self.dist, self.world = dist, dist.world

    def mean(self, value: float) -> float:
        return self.dist.sum([value])[0] / self.world

    def epoch(self, result: EpochResult) -> EpochResult:
        """Training loss and accuracy over the images of all ranks."""
        loss, correct, seen = self.dist.sum([result.loss * result.seen, result.accuracy * result.seen, result.seen])
        result.loss, result.accuracy, result.seen = loss / max(1, seen), correct / max(1, seen), int(seen)
        return result


def sync_or_none(dist: Dist) -> Sync | None:
    return Sync(dist) if dist.active else None


class ShardedValidation:
    """Full mode: this rank computes logits for its share of the validation images; the
    gathered logits come back in the split's order, the same on every rank."""

    def __init__(self, batches, dist: Dist, num_classes: int) -> None:
        self.batches, self.dist, self.num_classes = batches, dist, num_classes

    def __getattr__(self, name):  # batch(), n_train, ... of the wrapped batches
        return getattr(self.batches, name)

    def val_logits(self, net):
        import torch

        net.eval()
        images = self.dist.shard(self.batches.val_set.images)
        # more processes than validation images: an empty share still joins the gather
        mine = self.batches.compute.logits(net, images).cpu() if images else torch.zeros((0, self.num_classes))
        parts = self.dist.all_gather_cpu(mine)
        full = torch.empty((sum(len(p) for p in parts), mine.shape[1]), dtype=mine.dtype)
        for rank, part in enumerate(parts):
            full[rank::self.dist.world] = part
        return full.to(self.batches.compute.device)


def share_batches(batches, dist: Dist, num_classes: int):
    return ShardedValidation(batches, dist, num_classes) if dist.active else batches


def sync_batchnorm_stats(model, dist: Dist) -> None:
    """Before validating and saving: every rank's BatchNorm running statistics become their
    mean over ranks (each rank saw other images), so all ranks hold the same model."""
    if dist.active:
        import torch

        buffers = [b for b in model.buffers() if torch.is_floating_point(b)]
        dist.average_(buffers)


def gather_features(batches, dist: Dist, val_labels: list[int]):
    """Head mode: every rank's features and labels, concatenated in rank order; returns the
    batches over all of them and the validation labels in the same order."""
    if not dist.active:
        return batches, val_labels
    import torch

    half = len(batches.labels) // 2  # [images, flipped images], labels repeated
    parts = {
        "train": dist.all_gather_cpu(batches.features[:half]),
        "flip": dist.all_gather_cpu(batches.features[half:]),
        "labels": dist.all_gather_cpu(batches.labels[:half]),
        "val": dist.all_gather_cpu(batches.val_features),
        "val_labels": dist.all_gather_cpu(torch.tensor(val_labels, dtype=torch.long)),
    }
    labels = torch.cat(parts["labels"])
    merged = type(batches)(batches.compute, torch.cat(parts["train"] + parts["flip"]), torch.cat([labels, labels]),
                           torch.cat(parts["val"]))
    return merged, torch.cat(parts["val_labels"]).tolist()


def merge_decoded(dist: Dist, shard, sharded: bool):
    """Head mode decodes only this rank's share; what the data report needs from all shares
    (labels and skipped files), in rank order. Images stay where they were decoded."""
    if not (dist.active and sharded):
        return shard
    labels, skipped = [], []
    for part_labels, part_skipped in dist.all_gather((shard.labels, shard.skipped)):
        labels += part_labels
        skipped += part_skipped
    return SimpleNamespace(images=shard.images, labels=labels, skipped=skipped)

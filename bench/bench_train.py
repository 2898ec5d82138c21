"""Benchmark: fine-tuning throughput, head-only (cached features) vs full, and accuracy in a budget.

All through the real core (``resnet_gui.core.train.fine_tune.fine_tune``), resnet18, on real photos
from ../shared/data/flowers-224, side by side in one run:

1. ``head``: the frozen backbone computes every image's features once (two views: plain and
   flipped), then only ``fc`` trains on the cached features, epoch after epoch.
2. ``full``: the whole network trains on augmented images (decoded once into memory).

Throughput is training images per second per epoch, after the one-off decoding. With
``--budget-minutes M`` it also trains from scratch on the fixed train rows of
flowers-224-split.csv for about M minutes and reports the accuracy on its val rows.

    python bench/bench_train.py [--n 400] [--image-size 128] [--budget-minutes 0]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

from resnet_gui.core.train.config import TrainConfig
from resnet_gui.core.train.events import BatchProgress, DataReady, Done, EpochEnd
from resnet_gui.core.train.fine_tune import fine_tune

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def subset_folder(n: int, folder: Path, seed: int = 0) -> Path:
    """``n`` photos spread over the 5 classes, as symlinks (the photos are never touched)."""
    files = sorted((DATA / "flowers-224").rglob("*.jpg"))
    if not files:
        sys.exit(f"no photos in {DATA / 'flowers-224'}")
    random.Random(seed).shuffle(files)
    for path in files[:n]:
        target = folder / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        (target / path.name).symlink_to(path)
    return folder


def timed_run(cfg: TrainConfig) -> dict:
    t0 = time.perf_counter()
    setup = None
    epochs = []
    n_train = 0
    done = None
    for event in fine_tune(cfg):
        if isinstance(event, DataReady):
            n_train = sum(event.train_counts)
        elif isinstance(event, BatchProgress) and setup is None:
            setup = time.perf_counter() - t0  # decoding (+ features for head mode) done
        elif isinstance(event, EpochEnd):
            epochs.append(event)
        elif isinstance(event, Done):
            done = event
    images_per_epoch = n_train * (2 if cfg.mode == "head" else 1)  # head trains on plain + flipped views
    # the first epoch of each mode carries warm-up; report the median of the rest
    seconds = sorted(e.seconds for e in epochs[1:]) or [epochs[0].seconds]
    per_epoch = seconds[len(seconds) // 2]
    return {
        "mode": cfg.mode, "epochs": len(epochs), "train_images": n_train,
        "setup_seconds": round(setup or 0.0, 2), "epoch_seconds": round(per_epoch, 3),
        "images_per_second": round(images_per_epoch / per_epoch, 1), "val_acc": round(done.best_val_acc, 4),
        "total_seconds": round(time.perf_counter() - t0, 1),
    }


def budget_run(minutes: float, image_size: int, out_dir: Path) -> dict:
    """From scratch on the split's train rows, epochs sized to the budget, scored on its val rows."""
    import csv

    train_dir = out_dir / "split"
    with open(DATA / "flowers-224-split.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] == "train":
                target = train_dir / "train" / row["class"]
            else:
                target = train_dir / "val" / row["class"]
            target.mkdir(parents=True, exist_ok=True)
            (target / row["file"]).symlink_to(DATA / "flowers-224" / row["class"] / row["file"])
    # measure one epoch's cost first, then size the cosine schedule to the budget
    probe = timed_run(TrainConfig(data_dir=str(train_dir), out=str(out_dir / "probe.pt"), arch="resnet18",
                                  start="scratch", mode="full", epochs=2, image_size=image_size, batch_size=64))
    epochs = max(2, int(minutes * 60 / probe["epoch_seconds"]))
    result = timed_run(TrainConfig(data_dir=str(train_dir), out=str(out_dir / "budget.pt"), arch="resnet18",
                                   start="scratch", mode="full", epochs=epochs, image_size=image_size,
                                   batch_size=64, patience=epochs))
    result["budget_minutes"] = minutes
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="photos for the throughput runs")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--budget-minutes", type=float, default=0.0)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = subset_folder(args.n, tmp / "data")
        common = dict(data_dir=str(data), arch="resnet18", start="scratch", image_size=args.image_size,
                      val_split=0.2, epochs=args.epochs, patience=args.epochs, workers=2)
        rows.append(timed_run(TrainConfig(out=str(tmp / "head.pt"), mode="head", batch_size=256, **common)))
        rows.append(timed_run(TrainConfig(out=str(tmp / "full.pt"), mode="full", batch_size=64, **common)))
        budget = budget_run(args.budget_minutes, args.image_size, tmp) if args.budget_minutes > 0 else None

    ratio = rows[0]["images_per_second"] / rows[1]["images_per_second"]
    print(f"resnet18, {args.image_size}px, {args.n} photos from flowers-224, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{'mode':<6} {'setup s':>8} {'epoch s':>8} {'train img/s':>12} {'val acc':>8}")
    for row in rows:
        print(f"{row['mode']:<6} {row['setup_seconds']:>8.1f} {row['epoch_seconds']:>8.2f} "
              f"{row['images_per_second']:>12.1f} {row['val_acc']:>8.1%}")
    print(f"head-only (cached features) trains {ratio:.0f}x more images/s than full fine-tuning")
    if budget:
        print(f"from scratch, {budget['budget_minutes']} min budget: {budget['epochs']} epochs, "
              f"{budget['val_acc']:.1%} on the held-out val rows")
    print(json.dumps({"bench": "train", "rows": rows, "head_vs_full": round(ratio, 1), "budget": budget}))


if __name__ == "__main__":
    main()

"""Accuracy of a flowers model on rows of flowers-224-split.csv, under several inference rules.

    python bench/eval_default.py ../shared/data [--weights weights/default.pt] [--set flowers-photos]
        [--split val] [--select-csv FILE --select-split val] [--rules crop,full,squash] [--sizes 128,160]
        [--flip] [--json OUT]

Rules (each at each size S):
  crop    the app's rule: shorter side to resize_for(S) (S*256/224), center crop S x S
  full    shorter side to S, no crop: the whole photo at its natural aspect (the network is
          fully convolutional, global average pooling takes any shape)
  squash  the whole photo stretched to S x S
--flip adds the mean of the softmax over the photo and its mirror image (test-time augmentation).

Top-1, per-class accuracy and the expected calibration error (15 equal-width bins, at the
model's stored temperature when it has one). Model selection reads rows of the train split held
out from training (--select-csv: a split CSV whose 'val' rows the run held out); the val rows
of flowers-224-split.csv are read once, for the reported numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RULES = ("crop", "full", "squash")


def rows_of(data: Path, photo_set: str, split: str, select_csv: str | None, select_split: str):
    """(class, path) of the split's rows present in ``photo_set``, narrowed by --select-csv."""
    rows = list(csv.DictReader(open(data / "flowers-224-split.csv", newline="", encoding="utf-8")))
    wanted = {(r["class"], r["file"]) for r in rows if r["split"] == split}
    if select_csv:
        chosen = {(r["class"], r["file"]) for r in csv.DictReader(open(select_csv, newline="", encoding="utf-8"))
                  if r["split"] == select_split}
        wanted &= chosen
    return [(c, data / photo_set / c / f) for c, f in sorted(wanted) if (data / photo_set / c / f).is_file()]


def tensor_for(img, rule: str, size: int):
    """uint8 CHW tensor of a PIL image under ``rule`` at ``size`` (the app's resize and crop for 'crop')."""
    import torchvision.transforms.functional as TF

    from resnet_gui.core.data.transforms import resize_for

    bilinear = TF.InterpolationMode.BILINEAR
    if rule == "crop":
        img = TF.center_crop(TF.resize(img, resize_for(size), interpolation=bilinear), size)
    elif rule == "full":
        img = TF.resize(img, size, interpolation=bilinear)
    elif rule == "squash":
        img = TF.resize(img, [size, size], interpolation=bilinear)
    else:
        raise ValueError(rule)
    return TF.pil_to_tensor(img)


def ece(confidences, correct, bins: int = 15) -> float:
    total, n = 0.0, len(confidences)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if (lo < c <= hi) or (b == 0 and c == 0)]
        if idx:
            acc = sum(correct[i] for i in idx) / len(idx)
            conf = sum(confidences[i] for i in idx) / len(idx)
            total += len(idx) / n * abs(acc - conf)
    return total


def evaluate(model, info, images, labels, rule: str, size: int, flip: bool, batch: int = 32) -> dict:
    import torch

    mean = torch.tensor(info.mean).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(info.std).view(1, 3, 1, 1) * 255.0
    temperature = info.trust.temperature if info.trust is not None else 1.0
    tensors = [tensor_for(img, rule, size) for img in images]
    probs = []
    with torch.inference_mode():
        # natural-aspect inputs differ in shape: one photo per pass, else batches
        step = 1 if rule == "full" else batch
        for i in range(0, len(tensors), step):
            x = (torch.stack(tensors[i:i + step]).float() - mean) / std
            p = torch.softmax(model(x).float() / temperature, dim=1)
            if flip:
                p = (p + torch.softmax(model(torch.flip(x, dims=[3])).float() / temperature, dim=1)) / 2
            probs.append(p)
    probs = torch.cat(probs)
    conf, pred = probs.max(dim=1)
    correct = [int(p == y) for p, y in zip(pred.tolist(), labels)]
    names = info.class_names
    per_class = {}
    for k, name in enumerate(names):
        mine = [c for c, y in zip(correct, labels) if y == k]
        per_class[name] = [sum(mine), len(mine)]
    return {"rule": rule, "size": size, "flip": flip, "n": len(labels), "correct": sum(correct),
            "top1": sum(correct) / len(labels), "ece15": ece(conf.tolist(), correct), "per_class": per_class}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="../shared/data")
    ap.add_argument("--weights", default=str(Path(__file__).resolve().parent.parent / "weights" / "default.pt"))
    ap.add_argument("--set", default="flowers-photos", help="flowers-photos or flowers-224")
    ap.add_argument("--split", default="val", help="rows of flowers-224-split.csv: val or train")
    ap.add_argument("--select-csv", default=None, help="keep only the rows this split CSV marks --select-split")
    ap.add_argument("--select-split", default="val")
    ap.add_argument("--rules", default="crop")
    ap.add_argument("--sizes", default="", help="comma-separated; default: the model's own input size")
    ap.add_argument("--flip", action="store_true", help="also each rule with flip TTA")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import torch

    from resnet_gui.core.data.images import load_image
    from resnet_gui.core.model.loading import load_model

    torch.set_num_threads(args.threads)
    loaded = load_model(args.weights)
    model, info = loaded.model.float().eval(), loaded.info
    rows = rows_of(args.data, args.set, args.split, args.select_csv, args.select_split)
    labels = [info.class_names.index(c) for c, _ in rows]
    images = [load_image(p) for _, p in rows]
    sizes = [int(s) for s in args.sizes.split(",") if s] or [info.image_size]
    results = []
    print(f"{Path(args.weights).name} on {len(rows)} {args.split} rows of {args.set}"
          + (f" ({args.select_split} rows of {Path(args.select_csv).name})" if args.select_csv else ""))
    for rule in args.rules.split(","):
        for size in sizes:
            for flip in ([False, True] if args.flip else [False]):
                t0 = time.perf_counter()
                r = evaluate(model, info, images, labels, rule, size, flip)
                results.append(r)
                classes = "  ".join(f"{k} {c}/{n}" for k, (c, n) in r["per_class"].items())
                print(f"{rule:6s} {size:4d} flip={int(flip)}  top-1 {r['top1']:6.1%} ({r['correct']}/{r['n']})"
                      f"  ECE {r['ece15']:.3f}  [{classes}]  {time.perf_counter() - t0:.0f}s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

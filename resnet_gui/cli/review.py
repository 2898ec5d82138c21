"""``resnet-gui review DATA_DIR [--weights W] [--json] [--top N]``: likely mislabeled photos,
photos unlike any class, duplicates and train/validation leakage in a training folder
(core/review/folder.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..constants import DEVICE_CHOICES
from ..core.text import terminal_safe
from .common import fail, positive_int, say


def add_parser(sub) -> None:
    r = sub.add_parser("review", help="find likely mislabeled photos, photos unlike any class, duplicates and train/val leakage in a folder")
    r.add_argument("data_dir", help="the training folder: one subfolder per class (or train/ and val/ subfolders)")
    r.add_argument("--weights", help="a model trained on this folder's classes (default: the shipped model)")
    r.add_argument("--json", action="store_true", help="one JSON object per line")
    r.add_argument("--top", type=positive_int, default=None,
                   help="list the N photos most likely mislabeled (default: those confident learning flags)")
    r.add_argument("--folds", type=positive_int, default=5, help="folds of the out-of-fold predictions")
    r.add_argument("--val-split", type=float, default=None, help="as train: fraction held out (default 0.2)")
    r.add_argument("--split-csv", default=None, help="as train: CSV with split,class,file rows")
    r.add_argument("--seed", type=int, default=0, help="as train: the split's seed")
    r.add_argument("--device", choices=DEVICE_CHOICES, default="cpu")
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.model.checkpoint import WeightsError
    from ..core.model.devices import DeviceError
    from ..core.review.folder import ReviewError, review_folder
    from ..core.train.config import TrainingError
    from ..resources import default_weights

    weights = Path(args.weights) if args.weights else default_weights()
    if weights is None:
        return fail("no weights given and no shipped default model: pass --weights FILE")
    val_split = 0.2 if args.val_split is None else args.val_split
    steps = review_folder(args.data_dir, weights, val_split=val_split, seed=args.seed, split_csv=args.split_csv,
                          folds=args.folds, device=args.device)
    interactive = sys.stderr.isatty()
    try:
        while True:
            stage = next(steps)
            if interactive and stage.total:
                print(f"\r{terminal_safe(stage.message)} {stage.done}/{stage.total}   ", end="", file=sys.stderr,
                      flush=True)
    except StopIteration as stop:
        report = stop.value
    except (ReviewError, TrainingError, WeightsError, DeviceError) as exc:
        return fail(str(exc))
    if interactive:
        print("\r" + " " * 80 + "\r", end="", file=sys.stderr)
    ranked = report.items[:args.top] if args.top else report.issues
    if args.json:
        _print_json(report, ranked)
    else:
        _print_text(report, ranked)
    return 0


def _print_json(report, ranked) -> None:
    # JSON escapes control characters itself; names stay exact for scripts
    for item in ranked:
        print(json.dumps({"type": "mislabeled", **item.to_json()}))
    for item in report.unlike:
        print(json.dumps({"type": "unlike", "path": item.path, "given": item.given, "ood_score": round(item.ood_score, 6),
                          "split": item.split}))
    for group in report.duplicates:
        print(json.dumps({"type": "duplicates", **group.to_json()}))
    for path, reason in report.skipped:
        print(json.dumps({"type": "skipped", "path": path, "error": reason}))
    print(json.dumps({"type": "summary", "photos": len(report.items), "classes": report.classes,
                      "mislabeled": len(report.issues),
                      "unlike": None if report.unlike_note else len(report.unlike), "duplicate_groups": len(report.duplicates),
                      "leakage_groups": len(report.leaks), "split": report.split_from,
                      "seconds": round(report.seconds, 1)}))


def _print_text(report, ranked) -> None:
    # Each untrusted piece escaped on its own, so the tabs between columns stay tabs.
    say(f"likely mislabeled ({len(ranked)}; score = out-of-fold probability of the given class):")
    for item in ranked:
        print(f"{terminal_safe(item.path)}\t{terminal_safe(item.given)} -> {terminal_safe(item.suggested)}"
              f"\t{item.score:.3f}")
    if report.unlike_note:
        say(f"unlike any class: {report.unlike_note}")
    else:
        say(f"unlike any class ({len(report.unlike)}; the model's out-of-class score, above its threshold):")
        for item in report.unlike:
            print(f"{terminal_safe(item.path)}\tin {terminal_safe(item.given)}\t{item.ood_score:.4g}")
    say(f"duplicate groups ({len(report.duplicates)}):")
    for group in report.duplicates:
        mark = "  LEAKAGE: across train and validation" if group.leaks else ""
        say(f"  {group.kind} ({group.similarity:.3f}){mark}")
        for path, split in zip(group.paths, group.splits or [""] * len(group.paths)):
            print(f"    {terminal_safe(path)}\t{split}")
    say(f"leakage groups: {len(report.leaks)}")
    for path, reason in report.skipped[:20]:
        say(f"skipped {path}: {reason}", sys.stderr)
    say(report.summary(), sys.stderr)

"""Benchmark: the review of a training folder (core/review), in the realistic case.

1. ``trained``: photos of ../shared/data/flowers-photos that weights/default.pt never trained
   on (``--rows fresh``, 771: the val rows and its selection rows; ``--rows train``: the 2,437
   train rows, which it learned with their true labels) as symlinks in a temporary folder,
   5 % of them moved to a wrong class at random (seeded), plus planted duplicates: exact byte
   copies and resized, re-encoded copies. A user trains on it with the app's own
   ``fine_tune`` from weights/default.pt (``--mode head``: frozen backbone, the app's default
   for a start model; ``--mode full``: the whole network), then reviews it with the model
   they just trained. Ranking by out-of-fold label quality is set against ranking by that
   model's own probability of the given label.
2. ``unseen``: the val rows of flowers-photos, 5 % flipped, reviewed with the default model
   (it never saw them).
3. ``digits``: ../shared/data/digits (1,797 handwritten digits, 32x32), 5 % flipped, trained
   **from scratch** with the app's defaults for that (60 epochs, strong augmentation) at
   ``--digits-size`` px, then reviewed with that model: a user's own classes, no start model.
4. ``flowers-224`` as it is, reviewed with the default model and the fixed split: its two
   duplicate sunflower pairs and the dog among the roses must surface.

Nothing under ../shared is modified. Prints a table and one JSON line.

    python bench/bench_review.py [--flip 0.05] [--planted 10] [--seed 0] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from resnet_gui.core.review.folder import review_folder
from resnet_gui.core.train.config import TrainConfig
from resnet_gui.core.train.events import Done, Stage
from resnet_gui.core.train.fine_tune import fine_tune

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DEFAULT = ROOT / "weights" / "default.pt"
CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
SUNFLOWER_PAIRS = (("14889392928_9742aed45b_m.jpg", "15066430311_fb57fa92b0_m.jpg"),
                   ("15069459615_7e0fd61914_n.jpg", "15072973261_73e2912ef2_n.jpg"))
DOG = "roses/3265902330_d8b1e44545.jpg"


def split_rows(split: str) -> list[tuple[str, str]]:
    with open(DATA / "flowers-224-split.csv", newline="") as handle:
        rows = [(r["class"], r["file"]) for r in csv.DictReader(handle) if r["split"] == split]
    return [(c, f) for c, f in rows if (DATA / "flowers-photos" / c / f).is_file()]


def fresh_rows() -> list[tuple[str, str]]:
    """The photos of flowers-photos that weights/default.pt was never trained on: the val rows,
    and the train rows its runs held out for model selection (the trainer's own seeded 10 %
    split of flowers-224's train rows, weights/README.md)."""
    from resnet_gui.core.data.datasets import stratified_split

    train = [(Path(c) / f, CLASSES.index(c)) for c, f in split_rows("train")]
    with open(DATA / "flowers-224-split.csv", newline="") as handle:
        in_224 = [(Path(r["class"]) / r["file"], CLASSES.index(r["class"])) for r in csv.DictReader(handle)
                  if r["split"] == "train" and (DATA / "flowers-224" / r["class"] / r["file"]).is_file()]
    held = {p for p, _ in stratified_split(in_224, 0.1, seed=0)[1]}
    return [(str(p.parent), p.name) for p, _ in train if p in held] + split_rows("val")


def flipped_folder(folder: Path, rows: list[tuple[str, str]], flip: float, seed: int,
                   source: Path = DATA / "flowers-photos", classes: tuple[str, ...] = CLASSES) -> set[str]:
    """Symlinks of ``rows``; a ``flip`` share of them in a wrong class folder. Returns their paths."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(rows)), round(flip * len(rows))))
    flipped = set()
    for i, (cls, name) in enumerate(rows):
        given = rng.choice([c for c in classes if c != cls]) if i in chosen else cls
        (folder / given).mkdir(parents=True, exist_ok=True)
        (folder / given / name).symlink_to(source / cls / name)
        if i in chosen:
            flipped.add(str(folder / given / name))
    return flipped


def plant_duplicates(folder: Path, flipped: set[str], n: int, seed: int) -> list[tuple[str, str, str]]:
    """``n`` exact copies and ``n`` resized (60 %), re-encoded (JPEG q70) copies of photos that
    keep their label, each beside its original: [(kind, original, copy)]."""
    rng = random.Random(seed + 1)
    photos = sorted(str(p) for p in folder.rglob("*.jpg") if str(p) not in flipped)
    planted = []
    for k, original in enumerate(rng.sample(photos, 2 * n)):
        src = Path(original)
        if k < n:
            copy = src.with_name(src.stem + "-copy.jpg")
            shutil.copyfile(src.resolve(), copy)
            planted.append(("exact", original, str(copy)))
        else:
            copy = src.with_name(src.stem + "-small.jpg")
            with Image.open(src) as img:
                img.convert("RGB").resize((round(img.width * 0.6), round(img.height * 0.6)),
                                          Image.Resampling.BILINEAR).save(copy, quality=70)
            planted.append(("near", original, str(copy)))
    return planted


def run_review(data_dir: Path, weights: Path, **kwargs) -> tuple[object, dict]:
    """The report and seconds per phase (features, out-of-fold, hashing + duplicates)."""
    marks, started = {}, time.perf_counter()
    steps = review_folder(data_dir, weights, **kwargs)
    try:
        while True:
            stage = next(steps)
            phase = stage.message.split(" ")[0]
            marks.setdefault(phase, time.perf_counter())
    except StopIteration as stop:
        report = stop.value
    end = time.perf_counter()
    t_feat, t_oof, t_hash = (marks.get(k, end) for k in ("computing", "out-of-fold", "hashing"))
    t_teacher = marks.get("the", t_oof)  # "the ImageNet teacher's features of N photos" (cached per photo)
    return report, {"features_s": round(t_oof - t_feat, 1), "teacher_s": round(t_oof - t_teacher, 1),
                    "out_of_fold_s": round(t_hash - t_oof, 2),
                    "duplicates_s": round(end - t_hash, 2), "total_s": round(end - started, 1),
                    "photos_per_s": round(len(report.items) / max(1e-9, t_oof - t_feat), 1)}


def ranking_scores(ranked_paths: list[str], flipped: set[str], share: float = 0.10) -> dict:
    """Flips in the top ``share`` of the ranking; and in the top as many as there are flips
    (a stricter cut, where a perfect ranking finds them all)."""
    cut = round(share * len(ranked_paths))
    hits = sum(p in flipped for p in ranked_paths[:cut])
    return {"cut": cut, "flips_in_top": hits, "recall": round(hits / max(1, len(flipped)), 4),
            "precision": round(hits / max(1, cut), 4),
            "flips_in_top_n_flips": sum(p in flipped for p in ranked_paths[:len(flipped)])}


def judge(report, flipped: set[str]) -> dict:
    oof = [it.path for it in report.items]
    own = [it.path for it in sorted(report.items, key=lambda it: it.model_prob)]
    flagged = {it.path for it in report.issues}
    return {"photos": len(report.items), "flips": len(flipped), "out_of_fold": ranking_scores(oof, flipped),
            "own_probability": ranking_scores(own, flipped),
            "flagged": len(flagged), "flagged_precision": round(len(flagged & flipped) / max(1, len(flagged)), 4),
            "flagged_recall": round(len(flagged & flipped) / max(1, len(flipped)), 4)}


def found_pairs(report, pairs) -> list[bool]:
    groups = [set(g.paths) for g in report.duplicates]
    return [any({a, b} <= g for g in groups) for a, b in pairs]


def train(folder: Path, model: Path, **config) -> tuple[Done, float]:
    """The app's own fine_tune on ``folder``: its Done event, and seconds."""
    t0, done = time.perf_counter(), None
    for event in fine_tune(TrainConfig(data_dir=str(folder), out=str(model), **config)):
        if isinstance(event, Done):
            done = event
        elif isinstance(event, Stage):
            print(f"  train: {event.message}", file=sys.stderr, flush=True)
    return done, time.perf_counter() - t0


def trained_case(tmp: Path, args) -> dict:
    rows = fresh_rows() if args.rows == "fresh" else split_rows("train")
    if args.limit:
        rows = random.Random(args.seed).sample(rows, args.limit)
    folder = tmp / "flowers-flipped"
    flipped = flipped_folder(folder, rows, args.flip, args.seed)
    planted = plant_duplicates(folder, flipped, args.planted, args.seed)
    model = tmp / "flowers-flipped.pt"
    done, train_s = train(folder, model, start=str(DEFAULT), mode=args.mode, epochs=args.epochs, seed=args.seed,
                          device=args.device)
    report, times = run_review(folder, model, seed=args.seed, device=args.device, features=args.features)
    result = judge(report, flipped)
    found = found_pairs(report, [(a, b) for _, a, b in planted])
    result.update(times, rows=args.rows, train_mode=args.mode, train_s=round(train_s, 1), train_val_acc=round(done.best_val_acc, 4),
                  train_epochs=done.best_epoch, planted=len(planted), planted_found=sum(found),
                  planted_missed=[p for p, ok in zip(planted, found) if not ok],
                  duplicate_groups=len(report.duplicates), leakage_groups=len(report.leaks))
    return result


def unseen_case(tmp: Path, args) -> dict:
    folder = tmp / "flowers-val-flipped"
    flipped = flipped_folder(folder, split_rows("val"), args.flip, args.seed)
    report, times = run_review(folder, DEFAULT, seed=args.seed, device=args.device, features=args.features)
    return {**judge(report, flipped), **times}


def digits_case(tmp: Path, args) -> dict:
    source = DATA / "digits"
    classes = tuple(sorted(p.name for p in source.iterdir() if p.is_dir()))
    rows = [(c, f.name) for c in classes for f in sorted((source / c).iterdir())]
    folder, model = tmp / "digits-flipped", tmp / "digits-flipped.pt"
    flipped = flipped_folder(folder, rows, args.flip, args.seed, source, classes)
    done, train_s = train(folder, model, start="scratch", image_size=args.digits_size, seed=args.seed,
                          device=args.device)
    report, times = run_review(folder, model, seed=args.seed, device=args.device, features=args.features)
    return {**judge(report, flipped), **times, "image_size": args.digits_size, "train_s": round(train_s, 1),
            "train_val_acc": round(done.best_val_acc, 4), "train_epochs": done.best_epoch}


def flowers_224_case(args) -> dict:
    root = DATA / "flowers-224"
    report, times = run_review(root, DEFAULT, split_csv=str(DATA / "flowers-224-split.csv"), device=args.device,
                               features=args.features)
    pairs = [(str(root / "sunflowers" / a), str(root / "sunflowers" / b)) for a, b in SUNFLOWER_PAIRS]
    ranked = [it.path for it in report.items]
    dog = ranked.index(str(root / DOG))
    item = report.items[dog]
    by_ood = [it.path for it in sorted(report.items, key=lambda it: -(it.ood_score or 0.0))]
    unlike = [it.path for it in report.unlike]
    return {**times, "photos": len(ranked), "sunflower_pairs_found": sum(found_pairs(report, pairs)),
            "dog_rank": dog + 1, "dog_top_percent": round(100 * (dog + 1) / len(ranked), 2), "dog_flagged": item.issue,
            "dog_suggested": item.suggested, "flagged": len(report.issues), "duplicate_groups": len(report.duplicates),
            "leakage_groups": len(report.leaks), "unlike": len(unlike), "dog_unlike": item.unknown,
            "dog_unlike_rank": by_ood.index(item.path) + 1}


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flip", type=float, default=0.05)
    parser.add_argument("--planted", type=int, default=10, help="exact copies, and as many resized re-encoded ones")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="only this many train rows (a quick try)")
    parser.add_argument("--rows", choices=("fresh", "train"), default="fresh",
                        help="the trained case's photos: those default.pt never trained on (771), or the train rows "
                             "(2,437, which it was trained on with their true labels)")
    parser.add_argument("--mode", choices=("head", "full"), default="head",
                        help="how the user trains: head (the CPU default here) or full (a GPU: the whole network)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the app's)")
    parser.add_argument("--digits-size", type=int, default=64,
                        help="the digits case's input size (the app's from-scratch default is 160: 6x the time)")
    parser.add_argument("--device", default="cpu", help="training and features (cuda on a GPU machine)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("trained", "unseen", "digits", "flowers-224"))
    parser.add_argument("--features", choices=("auto", "teacher", "model"), default="auto",
                        help="what the out-of-fold heads learn from: the ImageNet teacher's features or the model's")
    args = parser.parse_args()
    if not (DATA / "flowers-photos").is_dir():
        sys.exit(f"no photos in {DATA / 'flowers-photos'}")
    out = {"cpu": cpu_name(), "flip": args.flip, "seed": args.seed, "features": args.features}
    with tempfile.TemporaryDirectory(prefix="bench_review_") as tmp:
        for name, case in (("trained", lambda: trained_case(Path(tmp), args)),
                           ("unseen", lambda: unseen_case(Path(tmp), args)),
                           ("digits", lambda: digits_case(Path(tmp), args)), ("flowers-224", lambda: flowers_224_case(args))):
            if name not in args.skip:
                print(f"{name} ...", file=sys.stderr, flush=True)
                out[name] = case()
    print_table(out)
    print(json.dumps(out))
    return 0


def print_table(out: dict) -> None:
    print(f"CPU: {out['cpu']}")
    print(f"{'case':<10} {'photos':>6} {'flips':>5} {'ranking':<16} {'flips in top 10 %':>18} {'precision':>9} "
          f"{'in top n_flips':>14}")
    for name in ("trained", "unseen", "digits"):
        r = out.get(name)
        if not r:
            continue
        for label, key in (("out-of-fold", "out_of_fold"), ("model's own prob", "own_probability")):
            s = r[key]
            print(f"{name:<10} {r['photos']:>6} {r['flips']:>5} {label:<16} "
                  f"{s['flips_in_top']:>6}/{r['flips']:<4} {s['recall']:>6.1%} {s['precision']:>9.1%} "
                  f"{s['flips_in_top_n_flips']:>14}")
        print(f"{'':<10} flagged by confident learning: {r['flagged']} (precision {r['flagged_precision']:.1%}, "
              f"recall {r['flagged_recall']:.1%}); features {r['features_s']} s ({r['photos_per_s']} photos/s), "
              f"out-of-fold {r['out_of_fold_s']} s, duplicates {r['duplicates_s']} s")
    if "trained" in out:
        r = out["trained"]
        print(f"trained ({r['rows']} rows): {r['train_mode']} from default.pt in {r['train_s']} s (val acc {r['train_val_acc']:.1%}); planted duplicates "
              f"found {r['planted_found']}/{r['planted']}; groups {r['duplicate_groups']}, leakage {r['leakage_groups']}")
    if "digits" in out:
        r = out["digits"]
        print(f"digits: from scratch at {r['image_size']} px in {r['train_s']} s (best epoch {r['train_epochs']}, "
              f"val acc {r['train_val_acc']:.1%})")
    if "flowers-224" in out:
        r = out["flowers-224"]
        print(f"flowers-224: sunflower pairs found {r['sunflower_pairs_found']}/2; the dog ranks {r['dog_rank']} of "
              f"{r['photos']} (top {r['dog_top_percent']} %, flagged {r['dog_flagged']}, suggested {r['dog_suggested']}); "
              f"{r['flagged']} flagged, {r['duplicate_groups']} duplicate groups, {r['leakage_groups']} across the split; "
              f"unlike any class: {r['unlike']}, the dog among them: {r['dog_unlike']} (rank {r['dog_unlike_rank']} by "
              f"out-of-class score)")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: a model of the user's own classes from ~120 photos a class, offline (issue 27).

Builds small labeled folders from ../shared/data, as a new user would have them, and trains
each one with several starts, side by side, through the real core:

- ``probe``: the ImageNet teacher's pooled features and a linear probe (core/teacher), alone;
- ``distil``: ``resnet-gui train DIR`` with no options (the teacher-guided start when no
  ImageNet ResNet is cached: a ResNet distilled from the teacher's probe);
- ``head``: the Fine-tune page's start before issue 27: the shipped flowers model, last layer
  only (``--from weights/default.pt``, head mode, its defaults);
- ``scratch``: ``resnet-gui train DIR`` with no options before issue 27 (resnet18 from scratch).

Folders (one seed; held-out photos are never in the training folder):

- ``flowers2``: roses and tulips from flowers-photos, 120 photos a class from the train rows of
  flowers-224-split.csv; held out: all their val rows (84 + 115). The shipped model was trained
  on these train rows, so ``head`` starts from a model that knows both classes;
- ``caltech5``: 5 animal categories of outliers/ (Caltech-101) the shipped model never saw,
  30 photos a class; held out: 15 others a class;
- ``digits5``: digits 0-4 (8x8 scans at 32 px), 40 a class; held out: 40 others a class.

``--none`` adds the "none of these" measurement: flowers2 with a ``_none`` folder of 80
Caltech photos (8 categories), trained with ``distil`` (or ``--none-mode``), against the same
without; judged on held-out flowers and on 150 photos of 10 *other* Caltech categories:
share flagged as "not one of my classes", and the AUROC of the out-of-class score.

Results accumulate in ``--results`` (a JSON file; one entry per folder and mode), so a long
run can be done in parts; the table is printed from all of them.

    python bench/bench_own_classes.py --folders flowers2,caltech5 --modes probe,distil,head [--none] [--epochs N]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# ../shared/data beside the checkout, or RESNET_GUI_SHARED_DATA (as the tests find it)
DATA = Path(os.environ.get("RESNET_GUI_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
FOLDERS = ("flowers2", "caltech5", "digits5")
MODES = ("probe", "distil", "head", "scratch")
CALTECH5 = ("dolphin", "elephant", "kangaroo", "llama", "rhino")
NONE_TRAIN = ("airplanes", "chair", "laptop", "pizza", "umbrella", "watch", "ferry", "lamp")  # 10 each in _none/
NONE_JUDGE = ("Faces", "Leopards", "Motorbikes", "butterfly", "dragonfly", "rooster", "starfish", "pigeon", "ibis",
              "hedgehog")  # 15 each, never trained on


def _copy(paths: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for p in paths:
        shutil.copyfile(p, folder / p.name)


def build(name: str, work: Path) -> tuple[Path, list[tuple[Path, str]]]:
    """The training folder ``work/name`` and the held-out (path, class) list."""
    root = work / name
    held: list[tuple[Path, str]] = []
    if root.exists():
        shutil.rmtree(root)
    if name == "flowers2":
        rows = list(csv.DictReader(open(DATA / "flowers-224-split.csv", newline="", encoding="utf-8")))
        for cls in ("roses", "tulips"):
            src = DATA / "flowers-photos" / cls
            train = sorted(src / r["file"] for r in rows if r["class"] == cls and r["split"] == "train"
                           and (src / r["file"]).is_file())[:120]
            _copy(train, root / cls)
            held += [(src / r["file"], cls) for r in rows if r["class"] == cls and r["split"] == "val"
                     and (src / r["file"]).is_file()]
    elif name == "caltech5":
        for cls in CALTECH5:
            files = sorted((DATA / "outliers" / cls).glob("*.jpg"))
            _copy(files[:30], root / cls)
            held += [(p, cls) for p in files[30:45]]
    elif name == "digits5":
        for cls in "01234":
            files = sorted((DATA / "digits" / cls).glob("*.png"))
            _copy(files[:40], root / cls)
            held += [(p, cls) for p in files[40:80]]
    else:
        raise SystemExit(f"unknown folder {name!r}; choose from {', '.join(FOLDERS)}")
    return root, held


def add_none(root: Path) -> list[Path]:
    """A _none folder of 80 Caltech photos; returns the 150 judging photos of other categories."""
    from resnet_gui.constants import NONE_FOLDER

    for cls in NONE_TRAIN:
        files = sorted((DATA / "outliers" / cls).glob("*.jpg"))[:10]
        _copy(files, root / NONE_FOLDER)
        for p in files:  # two categories may share a file name
            (root / NONE_FOLDER / p.name).rename(root / NONE_FOLDER / f"{cls}_{p.name}")
    return [p for cls in NONE_JUDGE for p in sorted((DATA / "outliers" / cls).glob("*.jpg"))[:15]]


def train(root: Path, out: Path, mode: str, epochs: int | None = None) -> tuple[float, str, float]:
    """Train with the CLI, as a user would; returns (seconds, its stdout). ``epochs``: a shorter
    schedule than the default (said in the results)."""
    from resnet_gui.resources import default_weights

    args = [sys.executable, "-m", "resnet_gui", "train", str(root), "--out", str(out)]
    if epochs:
        args += ["--epochs", str(epochs)]
    if mode == "head":
        args += ["--from", str(default_weights())]  # what the Fine-tune page did: its loaded model, head-only
    elif mode == "scratch":
        args += ["--from", "scratch"]  # `train` with no options before issue 27 (no ImageNet cache here)
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(args, capture_output=True, text=True)
    seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"train failed ({mode}, {root.name}): {done.stderr.strip().splitlines()[-1:]}")
    # CPU seconds (user + system) of the run: on a shared CPU, wall time depends on the others
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, done.stdout, cpu


def judge(checkpoint: Path, held: list[tuple[Path, str]], others: list[Path] = ()) -> dict:
    """Held-out accuracy; with ``others`` (photos of none of the classes): flag rates and AUROC."""
    from resnet_gui.core.infer import Classifier, classify_files
    from resnet_gui.core.model.loading import load_model
    from resnet_gui.core.trust.scores import auroc

    classifier = Classifier(load_model(checkpoint), device="cpu")
    preds = list(classify_files(classifier, [p for p, _ in held] + list(others), topk=1))
    mine, theirs = preds[:len(held)], preds[len(held):]
    out = {"heldout_acc": float(np.mean([p.label == cls for p, (_, cls) in zip(mine, held)])),
           "n_heldout": len(held)}
    if others:
        out.update(class_flagged=float(np.mean([bool(p.unknown) for p in mine])),
                   none_flagged=float(np.mean([bool(p.unknown) for p in theirs])),
                   auroc=auroc(np.array([p.ood_score for p in mine]), np.array([p.ood_score for p in theirs])))
    return out


def probe(root: Path, held: list[tuple[Path, str]]) -> dict:
    """The teacher's features and a linear probe, alone (no ResNet)."""
    from resnet_gui.core.data.datasets import scan_labeled_folder
    from resnet_gui.core.teacher import fit_probe, teacher_features

    data = scan_labeled_folder(root)
    started = time.perf_counter()
    probe_ = fit_probe(teacher_features([p for p, _ in data.train]), np.array([y for _, y in data.train]))
    fitted = time.perf_counter() - started
    proba = probe_.predict_proba(teacher_features([p for p, _ in held]))
    predicted = [data.classes[i] for i in proba.argmax(1)]
    return {"seconds": fitted, "heldout_acc": float(np.mean([p == cls for p, (_, cls) in zip(predicted, held)])),
            "n_heldout": len(held)}


def _val_acc(stdout: str) -> float | None:
    for line in stdout.splitlines():
        if "Best validation accuracy" in line:
            return float(line.split("Best validation accuracy ")[1].split("%")[0]) / 100
    return None


def _epochs(stdout: str) -> int:
    return sum(1 for line in stdout.splitlines() if line.startswith("epoch "))


def _start_line(stdout: str) -> str:
    return next((line for line in stdout.splitlines() if line.startswith("start:")), "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", default=",".join(FOLDERS))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--epochs", type=int, default=None,
                        help="a shorter schedule than the default for distil and the --none runs (on a busy CPU); "
                             "reported")
    parser.add_argument("--none", action="store_true", help="measure what a _none folder adds (flowers2)")
    parser.add_argument("--none-mode", default="distil", choices=("distil", "head"))
    parser.add_argument("--work", default="/tmp/bench_own_classes")
    parser.add_argument("--results", default=None, help="JSON file the results accumulate in (default: in --work)")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results_path = Path(args.results or work / "results.json")
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    for name in [f for f in args.folders.split(",") if f]:
        root, held = build(name, work)
        for mode in [m for m in args.modes.split(",") if m]:
            print(f"{name}: {mode} ...", file=sys.stderr, flush=True)
            if mode == "probe":
                row = probe(root, held)
            else:
                epochs = args.epochs if mode == "distil" else None
                seconds, stdout, cpu = train(root, work / f"{name}-{mode}.pt", mode, epochs)
                row = {"seconds": seconds, "val_acc": _val_acc(stdout), "start": _start_line(stdout),
                       "epochs": _epochs(stdout), "cpu_seconds": cpu,
                       **judge(work / f"{name}-{mode}.pt", held)}
            results[f"{name}/{mode}"] = row
            results_path.write_text(json.dumps(results, indent=1))
    if args.none:
        for with_none in (False, True):
            root, held = build("flowers2", work)
            others = add_none(root) if with_none else add_none(work / "scratch-none")
            tag = f"flowers2/{args.none_mode}{'+none' if with_none else ''}/flagging"
            print(f"{tag} ...", file=sys.stderr, flush=True)
            seconds, stdout, cpu = train(root, work / f"none-{with_none}.pt", args.none_mode, args.epochs)
            results[tag] = {"seconds": seconds, "cpu_seconds": cpu, "epochs": _epochs(stdout), **judge(work / f"none-{with_none}.pt", held, others)}
            results_path.write_text(json.dumps(results, indent=1))
    show(results)


def show(results: dict) -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), platform.machine())
    print(f"CPU: {cpu}; times measured on a CPU shared with other jobs")
    print(f"{'folder/mode':34s} {'held-out acc':>12s} {'val acc':>8s} {'time':>8s} {'CPU':>7s}  "
          "flagged: class / none, AUROC")
    for key, row in sorted(results.items()):
        val = f"{row['val_acc']:.1%}" if row.get("val_acc") is not None else "-"
        flag = (f"  {row['class_flagged']:.1%} / {row['none_flagged']:.1%}, {row['auroc']:.3f}"
                if "auroc" in row else "")
        epochs = f" ({row['epochs']} epochs)" if row.get("epochs") else ""
        used = f"{row['cpu_seconds']:6.0f}s" if row.get("cpu_seconds") else "      -"
        print(f"{key:34s} {row['heldout_acc']:12.1%} {val:>8s} {row['seconds']:7.0f}s {used}{flag}{epochs}")
    print(json.dumps({"bench": "own_classes", "cpu": cpu, "results": results}))


if __name__ == "__main__":
    main()

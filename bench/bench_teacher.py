"""Benchmark: the ImageNet teacher (core/teacher) on this machine's CPU.

1. Speed: ms per photo of the network alone (batches of 32 and single photos), torch eager
   against ONNX Runtime fp32, measured interleaved in one run; load time (first load exports
   the ONNX file once; later loads read it from the engine cache).
2. ImageNet sanity: the share of flowers-photos' daisy val rows whose ImageNet top-1 is 985
   'daisy', with the teacher's mean=std=0.5 and with ImageNet's mean/std.
3. Linear probe (core/teacher/probe.py) on the teacher's features of flowers-photos' train
   rows: ``l2`` chosen on a seeded 80/20 split of the train rows, then refitted on all train
   rows and read once on the val rows (flowers-224-split.csv).
4. Feature cache: a second ``teacher_features`` call on the same photos.

    python bench/bench_teacher.py [DATA] [--cache DIR]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_gui.core.teacher import fit_probe, load_teacher, teacher_features  # noqa: E402

DAISY = 985


def flower_rows(data: Path):
    rows = list(csv.DictReader(open(data / "flowers-224-split.csv", newline="")))
    photos = data / "flowers-photos"
    out = {"train": [], "val": []}
    for r in rows:
        path = photos / r["class"] / r["file"]
        if path.exists():
            out[r["split"]].append((path, r["class"]))
    return out["train"], out["val"]


def speed(teacher_ort, teacher_torch, batch: np.ndarray, paths, repeats: int = 3) -> dict:
    """Median ms per photo (batch) and per single photo of the teacher on both engines and, for
    scale, of the shipped classifier's default CPU engine (weights/default.int8.onnx) on the same
    photos at its own input size: what classify already spends per photo."""
    from resnet_gui.core.engines.preprocess import normalise
    from resnet_gui.core.engines.runtimes import open_engine

    x = teacher_ort.preprocess.normalise(batch)
    runners = {"torch": lambda b: teacher_torch.features(b), "onnxruntime": lambda b: teacher_ort.features(b)}
    inputs = {"torch": x, "onnxruntime": x}
    shipped = ROOT / "weights" / "default.int8.onnx"
    if shipped.is_file():
        engine = open_engine(shipped)
        runners["classifier int8 (default)"] = engine.logits
        small = np.stack([engine.decode(p) for p in paths[:len(batch)]])
        inputs["classifier int8 (default)"] = normalise(small, engine.info.mean, engine.info.std)
    for name, run in runners.items():
        run(inputs[name][:1])  # warm-up
        run(inputs[name])
    timings = {key: [] for name in runners for key in (name, f"{name}_1")}
    for _ in range(repeats):  # interleaved: load on the shared CPU changes during the run
        for name, run in runners.items():
            start = time.perf_counter()
            run(inputs[name])
            timings[name].append((time.perf_counter() - start) * 1000 / len(inputs[name]))
            start = time.perf_counter()
            run(inputs[name][:1])
            timings[f"{name}_1"].append((time.perf_counter() - start) * 1000)
    return {key: float(np.median(values)) for key, values in timings.items()}


def _print_speed(report: dict) -> None:
    if "speed_ms" in report:
        s = report["speed_ms"]
        print("| network | ms/photo (batch 32) | ms (1 photo) |\n|---|---|---|")
        for name in [k for k in s if not k.endswith("_1")]:
            print(f"| {name} | {s[name]:.1f} | {s[name + '_1']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--cache", default=None, help="teacher feature cache (default: a fresh temp folder)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args()
    data = Path(args.data)
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="teacher-cache-"))
    report: dict = {}

    start = time.perf_counter()
    teacher = load_teacher()
    report["load_s"] = time.perf_counter() - start
    report["engine"] = teacher.engine
    train, val = flower_rows(data)

    daisies = [p for p, c in val if c == "daisy"]
    batch = np.stack([teacher.preprocess.decode(p) for p in daisies])
    if not args.skip_speed:
        report["speed_ms"] = speed(teacher, load_teacher(engine="torch"), batch[:32], daisies)
    if args.speed_only:
        _print_speed(report)
        print(json.dumps(report))
        return
    from resnet_gui.core.engines.preprocess import normalise
    import torch

    for name, mean, std in (("0.5", (0.5,) * 3, (0.5,) * 3), ("imagenet", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))):
        logits = teacher.logits(torch.from_numpy(normalise(batch, mean, std)))
        report[f"daisy_top1_{name}"] = float((logits.argmax(1) == DAISY).float().mean())

    paths = [p for p, _ in train + val]
    start = time.perf_counter()
    feats = teacher_features(paths, teacher=teacher, cache_dir=cache)
    report["features_s"] = time.perf_counter() - start
    start = time.perf_counter()
    again = teacher_features(paths, teacher=teacher, cache_dir=cache)
    report["features_cached_s"] = time.perf_counter() - start
    assert np.array_equal(feats, again, equal_nan=True)
    ok = ~np.isnan(feats[:, 0])
    report["photos"] = int(len(paths))
    report["unreadable"] = int((~ok).sum())
    labels = np.array([c for _, c in train + val])
    n_train = len(train)
    x_train, y_train = feats[:n_train], labels[:n_train]
    x_val, y_val = feats[n_train:], labels[n_train:]

    order = list(range(n_train))
    random.Random(0).shuffle(order)
    cut = int(0.8 * n_train)
    fit_idx, held_idx = np.array(order[:cut]), np.array(order[cut:])
    choice = {}
    for l2 in (1e-4, 1e-3, 1e-2, 1e-1):
        start = time.perf_counter()
        probe = fit_probe(x_train[fit_idx], y_train[fit_idx], l2=l2)
        choice[l2] = (float((probe.predict(x_train[held_idx]) == y_train[held_idx]).mean()),
                      time.perf_counter() - start)
    best = max(choice, key=lambda k: choice[k][0])
    report["probe_l2_split"] = {str(k): v[0] for k, v in choice.items()}
    report["probe_l2"] = best
    start = time.perf_counter()
    probe = fit_probe(x_train, y_train, l2=best)
    report["probe_fit_s"] = time.perf_counter() - start
    report["probe_val_acc"] = float((probe.predict(x_val) == y_val).mean())
    report["probe_val_n"] = int(len(y_val))

    print(f"teacher: EfficientNet-Lite0, engine {report['engine']}, load {report['load_s']:.1f} s")
    _print_speed(report)
    print(f"ImageNet top-1 'daisy' on {len(daisies)} daisy val rows: mean/std 0.5 {report['daisy_top1_0.5']:.1%}, "
          f"ImageNet mean/std {report['daisy_top1_imagenet']:.1%}")
    print(f"features of {len(paths)} photos: {report['features_s']:.1f} s, again (cache) {report['features_cached_s']:.2f} s")
    print("probe l2 on an 80/20 split of the train rows: " +
          ", ".join(f"{k}: {v:.1%}" for k, v in report["probe_l2_split"].items()))
    print(f"probe (l2 {best}) on {n_train} train rows -> {len(y_val)} val rows: {report['probe_val_acc']:.1%} "
          f"(fit {report['probe_fit_s']:.1f} s)")
    print(json.dumps(report))


if __name__ == "__main__":
    main()

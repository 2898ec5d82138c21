"""Benchmark: the engines side by side on the shipped flowers model (resnet18, 128 px).

End to end, as a user runs it (a fresh process: start-up, model load, decode, classify), on
N small real photos (flowers-224) and M phone-size JPEGs (4032x3024, made here):
- the seed's one-image loop (the classic tutorial's predict.py, torch);
- ``resnet-gui classify --engine torch`` (eager fp32; bf16 ``--precision fast`` where the CPU has it);
- ``--engine onnxruntime`` / ``openvino`` on the fp32 export and on the int8 model.
Model only: one batch of 32, in process. Start-up: ``resnet-gui classify one.jpg``, median of
several cold runs. Accuracy: int8 vs fp32 on the held-out val rows (flowers-224-split.csv).

    python bench/bench_engines.py [--n-small 320] [--n-large 48] [--runs 5]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import make_large_jpegs, pick_photos  # noqa: E402 - the same photo sets

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WEIGHTS = ROOT / "weights" / "default.pt"
INT8 = ROOT / "weights" / "default.int8.onnx"
NAIVE = """
import sys, torch
from PIL import Image
from torchvision import transforms
from resnet_gui.core.model.loading import load_model
model = load_model(sys.argv[1]).model.eval()
tf = transforms.Compose([transforms.Resize(146), transforms.CenterCrop(128), transforms.ToTensor(),
                         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
with torch.no_grad():
    for f in sys.argv[2:]:
        print(f, int(torch.softmax(model(tf(Image.open(f).convert("RGB")).unsqueeze(0))[0], 0).argmax()))
"""


def cpu_has_bf16() -> bool:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags


def timed(cmd: list[str], env=None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if done.returncode:
        sys.exit(f"failed: {' '.join(cmd[:12])} ...: {done.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - start


def variants(fp32: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "resnet_gui", "classify", "--json", "--batch-size", "32"]
    out = {"torch fp32": cli + ["--weights", str(WEIGHTS), "--engine", "torch"]}
    if cpu_has_bf16():
        out["torch bf16"] = out["torch fp32"] + ["--precision", "fast"]
    for engine in ("onnxruntime", "openvino"):
        out[f"{engine} fp32"] = cli + ["--weights", str(fp32), "--engine", engine]
        out[f"{engine} int8"] = cli + ["--weights", str(INT8), "--engine", engine]
    return out


def model_only(fp32: Path, batch: int = 32, reps: int = 5) -> dict[str, float]:
    import torch

    from resnet_gui.core.engines.runtimes import open_engine
    from resnet_gui.core.infer import Classifier
    from resnet_gui.core.model.loading import load_model

    x = np.random.default_rng(0).integers(0, 256, (batch, 3, 128, 128), dtype=np.uint8)
    runners = {"torch fp32": Classifier(load_model(WEIGHTS), "cpu", "fp32")}
    if cpu_has_bf16():
        runners["torch bf16"] = Classifier(load_model(WEIGHTS), "cpu", "fast")
    for engine in ("onnxruntime", "openvino"):
        runners[f"{engine} fp32"] = open_engine(fp32, engine)
        runners[f"{engine} int8"] = open_engine(INT8, engine)
    rates = {}
    for name, runner in runners.items():
        batch_in = torch.from_numpy(x) if name.startswith("torch") else x
        runner.predict_batch(batch_in, 1)
        start = time.perf_counter()
        for _ in range(reps):
            runner.predict_batch(batch_in, 1)
        rates[name] = reps * batch / (time.perf_counter() - start)
        print(f"model only {name}: {rates[name]:.1f} img/s", flush=True)
    return rates


def accuracy(fp32: Path) -> dict:
    from resnet_gui.core.engines.quantize import CalibrationSplit, judge_int8
    from resnet_gui.core.engines.runtimes import open_engine

    rows = list(csv.reader(open(DATA / "flowers-224-split.csv")))[1:]
    out = {}
    for folder in ("flowers-224", "flowers-photos"):
        val = [DATA / folder / c / f for s, c, f in rows if s == "val" and (DATA / folder / c / f).exists()]
        for engine in ("onnxruntime", "openvino"):
            a, b = open_engine(fp32, engine), open_engine(INT8, engine)
            split = CalibrationSplit([], val, [a.info.class_names.index(p.parent.name) for p in val])
            v = judge_int8(a, b, split)
            out[f"{folder} {engine}"] = {"n": v.images, "fp32_acc": round(v.fp32_accuracy, 4),
                                          "int8_acc": round(v.int8_accuracy, 4), "agreement": round(v.agreement, 4)}
            print(f"{folder} val, {engine}: {v.describe()}", flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-small", type=int, default=320)
    parser.add_argument("--n-large", type=int, default=48)
    parser.add_argument("--runs", type=int, default=5, help="cold start-up runs (median)")
    args = parser.parse_args(argv)
    from resnet_gui.core.engines.export import export_onnx, file_sha256
    from resnet_gui.core.model.loading import load_model

    env = {**os.environ, "RESNET_GUI_CACHE_DIR": tempfile.mkdtemp(prefix="bench_cache_")}
    with tempfile.TemporaryDirectory(prefix="bench_engines_") as tmp:
        tmp = Path(tmp)
        fp32 = export_onnx(load_model(WEIGHTS), tmp / "default.onnx", file_sha256(WEIGHTS))
        sets = {"224px flowers": pick_photos(args.n_small)}
        if args.n_large:
            (tmp / "phone").mkdir()
            sets["4032x3024 JPEG"] = make_large_jpegs(pick_photos(args.n_large, seed=1), tmp / "phone")
        results = {"end_to_end": {}, "startup_s": {}}
        for label, files in sets.items():
            row = {"naive": len(files) / timed([sys.executable, "-c", NAIVE, str(WEIGHTS), *map(str, files)])}
            print(f"{label}: naive loop {row['naive']:.1f} img/s (process included)", flush=True)
            for name, cmd in variants(fp32).items():
                row[name] = len(files) / timed(cmd + [str(f) for f in files], env)
                print(f"{label}: {name} {row[name]:.1f} img/s ({row[name] / row['naive']:.2f}x)", flush=True)
            results["end_to_end"][label] = row
        one = sets["224px flowers"][0]
        default_cli = [sys.executable, "-m", "resnet_gui", "classify", str(one)]
        for name, cmd in {"torch (--engine torch)": default_cli + ["--engine", "torch"],
                          "default (--engine auto)": default_cli}.items():
            times = [timed(cmd, env) for _ in range(args.runs)]
            results["startup_s"][name] = round(statistics.median(times), 2)
            print(f"one photo, {name}: median {statistics.median(times):.2f} s of {args.runs}", flush=True)
        results["model_only"] = model_only(fp32)
        results["accuracy"] = accuracy(fp32) if (DATA / "flowers-224-split.csv").exists() else {}

    names = list(next(iter(results["end_to_end"].values())))
    print("\n| photos | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for label, row in results["end_to_end"].items():
        print(f"| {label} | " + " | ".join(f"{row[n]:.1f} ({row[n] / row['naive']:.1f}x)" for n in names) + " |")
    print("| model only | - | " + " | ".join(f"{results['model_only'][n]:.1f}" for n in names[1:]) + " |")
    summary = {"bench": "engines", "model": "resnet18 128px (weights/default.pt)", "cpu_bf16": cpu_has_bf16(),
               **{k: ({a: (round(b, 2) if isinstance(b, float) else b) for a, b in v.items()}
                      if k == "model_only" else v) for k, v in results.items()}}
    print(json.dumps(summary, default=lambda x: round(x, 2)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: ``resnet-gui classify`` end to end against the seed's loop, for every kind of model.

Every measurement is a fresh process (start-up, imports, model load, decode, classify), all in
one run, side by side:
- the seed's loop (one photo per forward, ``Resize``, ``CenterCrop``, torch; its own process),
  on each model's own weights and input size;
- the shipped model (``weights/default.pt``: classify runs its int8 twin);
- a model trained here (``resnet-gui train`` head-only from the shipped model on flowers-photos,
  which makes its int8 twin as every run does; or ``--trained MODEL.pt``); its "not one of my
  classes" score looks at the ImageNet teacher's features, so classify runs the teacher too;
- the same model recalibrated with that score on its own features (``calibrate --features
  model``): the difference between the two rows is what the teacher costs;
- a plain fp32 resnet34 ``.pth`` (random init, 5 classes; its ONNX conversion made by a first,
  untimed run, then cached) and the same with ``--engine torch`` (both against one seed run).
On N small photos (flowers-224) and M phone-size JPEGs (flowers-photos upscaled to 4032x3024
here, in a temp folder).

    python bench/bench_end_to_end.py [--n-small 320] [--n-large 48] [--trained MODEL.pt]

Prints a table of img/s and ratios to the seed's loop, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import make_large_jpegs, pick_photos  # noqa: E402 - the same small photos

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SHIPPED = ROOT / "weights" / "default.pt"
SEED_LOOP = """
import sys, torch, torchvision
from PIL import Image
from torchvision import transforms
from resnet_gui.core.model.loading import load_model
loaded = load_model(sys.argv[1])  # app checkpoints and plain state_dicts alike
model, info = loaded.model.eval(), loaded.info
tf = transforms.Compose([transforms.Resize(info.resize_size), transforms.CenterCrop(info.image_size),
                         transforms.ToTensor(), transforms.Normalize(info.mean, info.std)])
with torch.no_grad():
    for f in sys.argv[2:]:
        print(f, int(torch.softmax(model(tf(Image.open(f).convert("RGB")).unsqueeze(0))[0], 0).argmax()))
"""


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    """Seconds of a fresh process, and its stderr (the engine line says what ran)."""
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"failed: {' '.join(map(str, cmd[:10]))} ...: {done.stderr.strip().splitlines()[-1:]}")
    return seconds, done.stderr


def engine_line(stderr: str) -> str:
    return next((line.split("engine: ", 1)[1].split(";")[0] for line in stderr.splitlines() if "engine: " in line), "")


def train_model(folder: Path, env: dict, per_class: int) -> Path:
    """A head-only fine-tune of the shipped model on ``per_class`` flowers-photos per class, through
    ``resnet-gui train`` (which makes the int8 twin); returns the checkpoint."""
    data = folder / "train-data"
    for class_dir in sorted(p for p in (DATA / "flowers-photos").iterdir() if p.is_dir()):
        (data / class_dir.name).mkdir(parents=True)
        photos = sorted(class_dir.glob("*.jpg"))
        random.Random(1).shuffle(photos)
        for photo in photos[:per_class]:
            shutil.copyfile(photo, data / class_dir.name / photo.name)
    out = folder / "trained.pt"
    done = subprocess.run([sys.executable, "-m", "resnet_gui", "train", str(data), "--out", str(out), "--from",
                           str(SHIPPED), "--mode", "head", "--epochs", "8"], capture_output=True, text=True, env=env)
    if done.returncode or not out.is_file():
        sys.exit(f"training failed: {done.stderr.strip().splitlines()[-1:]}")
    note = [line for line in done.stdout.splitlines() if line.startswith("int8 twin")]
    print(f"trained {out.name}: {note[-1] if note else 'no twin line'}", flush=True)
    return out


def own_features_copy(trained: Path, env: dict) -> Path:
    """``trained`` recalibrated with its out-of-class score on its own features (``calibrate
    --features model``, which makes its twin too): the same network without the teacher's run
    on every photo, so the two rows show what the teacher costs."""
    out = trained.with_name("trained-own.pt")
    done = subprocess.run([sys.executable, "-m", "resnet_gui", "calibrate", str(trained), str(trained.parent / "train-data"),
                           "--features", "model", "--out", str(out)], capture_output=True, text=True, env=env)
    if done.returncode or not out.is_file():
        sys.exit(f"calibrate failed: {done.stderr.strip().splitlines()[-1:]}")
    return out


def warm(paths: list[str]) -> None:
    """Read every photo once so that no timed process pays for the disk (the first would)."""
    for path in paths:
        Path(path).read_bytes()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-small", type=int, default=320)
    parser.add_argument("--n-large", type=int, default=48)
    parser.add_argument("--trained", type=Path, help="a model trained here, with its .int8.onnx twin beside it")
    parser.add_argument("--train-per-class", type=int, default=60, help="photos per class to train one on")
    args = parser.parse_args(argv)

    import torch
    import torchvision

    env = {**os.environ, "RESNET_GUI_CACHE_DIR": tempfile.mkdtemp(prefix="bench_e2e_cache_")}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__}, load average {load:.1f} at the start",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_e2e_") as tmp:
        tmp = Path(tmp)
        trained = args.trained or train_model(tmp, env, args.train_per_class)
        if not trained.with_name(trained.stem + ".int8.onnx").is_file():
            print(f"note: {trained.name} has no int8 twin; it runs on its fp32 conversion", flush=True)
        torch.manual_seed(0)
        r34 = tmp / "resnet34.pth"
        torch.save(torchvision.models.resnet34(num_classes=5).state_dict(), r34)
        sets = {"small": pick_photos(args.n_small)}
        if args.n_large:
            (tmp / "phone").mkdir()
            sources = sorted((DATA / "flowers-photos").rglob("*.jpg"))
            random.Random(1).shuffle(sources)
            sets["phone"] = make_large_jpegs(sources[:args.n_large], tmp / "phone")
        cli = [sys.executable, "-m", "resnet_gui", "classify", "--json"]
        timed(cli + ["--weights", str(r34), str(sets["small"][0])], env)  # the conversion, cached: not timed
        rows = {  # name: (weights the seed's loop runs, the app's command)
            "shipped (int8 twin)": (SHIPPED, cli),
            "trained here (its twin)": (trained, cli + ["--weights", str(trained)]),
        }
        if not args.trained:  # the same network, its out-of-class score on its own features
            own = own_features_copy(trained, env)
            rows["trained here, own-feature trust (its twin)"] = (own, cli + ["--weights", str(own)])
        rows |= {
            "resnet34 .pth (fp32, cached)": (r34, cli + ["--weights", str(r34)]),
            "resnet34 .pth --engine torch": (r34, cli + ["--weights", str(r34), "--engine", "torch"]),
        }
        results: dict[str, dict] = {}
        for set_name, files in sets.items():
            paths = [str(f) for f in files]
            warm(paths)
            seed_runs: dict[Path, float] = {}  # one seed loop per weights and photo set (the torch row shares it)
            for name, (weights, cmd) in rows.items():
                if weights not in seed_runs:
                    seed_runs[weights] = timed([sys.executable, "-c", SEED_LOOP, str(weights), *paths], env)[0]
                seed_s = seed_runs[weights]
                app_s, stderr = timed(cmd + paths, env)
                row = results.setdefault(name, {"engine": engine_line(stderr)})
                row[set_name] = {"seed_img_s": round(len(files) / seed_s, 2), "app_img_s": round(len(files) / app_s, 2),
                                 "ratio": round(seed_s / app_s, 2)}
                print(f"{set_name} {name}: seed loop {len(files) / seed_s:.1f} img/s, app {len(files) / app_s:.1f} img/s "
                      f"({seed_s / app_s:.2f}x; {row['engine']})", flush=True)
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    titles = {"small": f"{args.n_small} small photos", "phone": f"{args.n_large} phone-size photos"}
    print("\n| weights (what ran) | " + " | ".join(titles[s] for s in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for name, row in results.items():
        cells = [f"{row[s]['ratio']:.2f}x ({row[s]['app_img_s']:.1f} vs {row[s]['seed_img_s']:.1f} img/s)" for s in sets]
        print(f"| {name} ({row['engine']}) | " + " | ".join(cells) + " |")
    print(json.dumps({"bench": "end_to_end", "cpu": cpu_name(), "cpus": os.cpu_count(), "n_small": args.n_small,
                      "n_large": args.n_large, "load_average": [round(load, 1), round(load_end, 1)],
                      "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: 1 process vs 2 processes under torchrun (DDP, gloo), training and classifying.

Real photos from ../shared/data/flowers-224 (symlinked into a temp folder, N per class).
Each configuration runs the real core in fresh processes:

- train: ``fine_tune`` full mode, resnet18 from scratch, 2 epochs; images/s of the second
  epoch (warm, after the one-off decoding), all processes together;
- classify: ``classify_across`` (``classify_files`` on each rank's share), resnet18,
  224 px, batch 32; images/s of the whole run including decoding and collecting.

Configurations: 1 process x 1 thread (one core), 1 process x 2 threads (the usual single
run on this machine), 2 processes x 1 thread (torchrun, gloo).

    python bench/bench_distributed.py [--per-class 40] [--image-size 112] [--batch-size 32]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOWERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "flowers-224"
CONFIGS = [(1, 1), (1, 2), (2, 1)]  # (processes, threads per process)


def worker(args) -> None:
    """Runs inside each process (under torchrun or alone); rank 0 prints one JSON line."""
    import torch

    from resnet_gui.core.distributed import from_env
    from resnet_gui.core.train.config import TrainConfig
    from resnet_gui.core.train.events import DataReady, EpochEnd
    from resnet_gui.core.train.fine_tune import fine_tune

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    dist = from_env("cpu")
    if args.worker == "train":
        cfg = TrainConfig(data_dir=args.data, out=str(Path(args.tmp) / "bench.pt"), arch="resnet18", start="scratch",
                          mode="full", epochs=2, image_size=args.image_size, batch_size=args.batch_size,
                          val_split=0.1, workers=1, seed=0)
        events = list(fine_tune(cfg))
        n_train = sum(next(e for e in events if isinstance(e, DataReady)).train_counts)
        result = {"train_img_s": n_train / [e for e in events if isinstance(e, EpochEnd)][-1].seconds}
    else:
        from resnet_gui.core.data.images import iter_image_files
        from resnet_gui.core.distributed_classify import classify_across
        from resnet_gui.core.infer import Classifier
        from resnet_gui.core.model.checkpoint import LoadedModel, ModelInfo
        from resnet_gui.core.model.architectures import build_model

        torch.manual_seed(0)
        info = ModelInfo(arch="resnet18", class_names=[f"c{i}" for i in range(5)], image_size=224, resize_size=256)
        classifier = Classifier(LoadedModel(build_model("resnet18", 5), info), "cpu")
        files = list(iter_image_files([args.data]))
        dist.barrier()
        start = time.perf_counter()
        n = sum(1 for _ in classify_across(classifier, files, dist, batch_size=32, workers=1))
        dist.barrier()
        result = {"classify_img_s": len(files) / (time.perf_counter() - start)} if dist.is_main else {}
        assert n == (len(files) if dist.is_main else 0)
    if dist.is_main:
        print("RESULT " + json.dumps(result), flush=True)


def run_config(procs: int, threads: int, task: str, data: Path, tmp: Path, args) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
    me = [__file__, "--worker", task, "--data", str(data), "--tmp", str(tmp),
          "--image-size", str(args.image_size), "--batch-size", str(args.batch_size)]
    cmd = [sys.executable, *me] if procs == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}", *me]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        sys.exit(f"{task} with {procs}x{threads} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return next(iter(json.loads(lines[-1][7:]).values()))


def subset(per_class: int, folder: Path) -> Path:
    if not FLOWERS.is_dir():
        sys.exit(f"no photos in {FLOWERS}")
    for cls in sorted(p for p in FLOWERS.iterdir() if p.is_dir()):
        (folder / cls.name).mkdir(parents=True)
        for f in sorted(cls.glob("*.jpg"))[:per_class]:
            (folder / cls.name / f.name).symlink_to(f)
    return folder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, default=40)
    p.add_argument("--image-size", type=int, default=112)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--worker", choices=("train", "classify"))
    p.add_argument("--data")
    p.add_argument("--tmp")
    args = p.parse_args()
    if args.worker:
        return worker(args)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = subset(args.per_class, Path(tmp) / "data")
        for procs, threads in CONFIGS:
            train = run_config(procs, threads, "train", data, Path(tmp), args)
            classify = run_config(procs, threads, "classify", data, Path(tmp), args)
            rows.append({"processes": procs, "threads": threads, "train_img_s": round(train, 1),
                         "classify_img_s": round(classify, 1)})
    n = args.per_class * 5
    print(f"{n} photos, resnet18; train full mode {args.image_size} px, global batch {args.batch_size}; "
          f"classify 224 px, batch 32")
    print(f"{'processes x threads':>20} {'train img/s':>12} {'classify img/s':>15}")
    for r in rows:
        print(f"{r['processes']:>12} x {r['threads']:<6} {r['train_img_s']:>12.1f} {r['classify_img_s']:>15.1f}")
    print(json.dumps({"bench": "distributed", "cpu": _cpu(), "cores": os.cpu_count(), "torch": _torch_version(),
                      "python": platform.python_version(), "photos": n, "image_size": args.image_size,
                      "batch_size": args.batch_size, "rows": rows}))


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _torch_version() -> str:
    import torch

    return torch.__version__


if __name__ == "__main__":
    main()

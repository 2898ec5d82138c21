"""Benchmark: resnet_gui's batched ``classify_files`` against the classic tutorial's loop.

The naive baseline is what the classic PyTorch transfer-learning tutorial's predict.py
does: open one image, transform it (Resize(256), CenterCrop(224), ToTensor, Normalize),
``model(img.unsqueeze(0))``, one image at a time. Both use the same resnet34 (random
init, 5 classes, loaded from the same state_dict file) on the same machine, in one run.

Two sets of photos: N real 224x224 JPEGs from ../shared/data/flowers-224, and M phone-size
4032x3024 JPEGs made here by upscaling real flower photos with some noise (quality 90).

    python bench/bench_classify.py [--n-small 160] [--n-large 16] [--batch-size 32] [--explore]

Prints a table and one JSON line. ``--explore`` also times model-only variants
(contiguous vs channels_last, conv-bn fusion, torch.jit.freeze) and their max error.
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
import torchvision
from PIL import Image
from torchvision import transforms

from resnet_gui.core.model.loading import load_model
from resnet_gui.core.data.decoded import default_workers
from resnet_gui.core.infer import Classifier, classify_files

FLOWERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "flowers-224"


def pick_photos(n: int, seed: int = 0) -> list[Path]:
    files = sorted(FLOWERS.rglob("*.jpg"))
    if not files:
        sys.exit(f"no photos in {FLOWERS}")
    random.Random(seed).shuffle(files)
    return files[:n]


def make_large_jpegs(sources: list[Path], folder: Path, size=(4032, 3024)) -> list[Path]:
    out = []
    for i, src in enumerate(sources):
        img = Image.open(src).convert("RGB").resize(size, Image.Resampling.BICUBIC)
        noise = Image.effect_noise(size, 24).convert("RGB")
        img = Image.blend(img, noise, 0.08)  # sensor-like grain so the JPEG is not trivially smooth
        path = folder / f"phone_{i:03d}.jpg"
        img.save(path, quality=90)
        out.append(path)
    return out


def naive_loop(weights: Path, files: list[Path]) -> float:
    """The classic tutorial: one image at a time. Returns images/s."""
    model = torchvision.models.resnet34(num_classes=5)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    tf = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    with torch.no_grad():  # warm-up
        model(tf(Image.open(files[0]).convert("RGB")).unsqueeze(0))
    start = time.perf_counter()
    with torch.no_grad():
        for f in files:
            img = tf(Image.open(f).convert("RGB"))
            output = torch.squeeze(model(img.unsqueeze(0))).cpu()
            torch.softmax(output, dim=0)
    return len(files) / (time.perf_counter() - start)


def ours(weights: Path, files: list[Path], precision: str, batch_size: int, workers: int | None) -> float:
    classifier = Classifier(load_model(weights), "cpu", precision)
    list(classify_files(classifier, files[: min(len(files), batch_size)], topk=5,
                        batch_size=batch_size, workers=workers))  # warm-up (oneDNN primitive cache)
    start = time.perf_counter()
    preds = list(classify_files(classifier, files, topk=5, batch_size=batch_size, workers=workers))
    elapsed = time.perf_counter() - start
    assert len(preds) == len(files) and all(p.ok for p in preds)
    return len(files) / elapsed


def explore(weights: Path, batch_size: int) -> list[dict]:
    """Model-only fp32 variants on one random batch: throughput and max |logit| error."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    base = load_model(weights).model.eval()
    x = torch.randn(batch_size, 3, 224, 224)
    with torch.inference_mode():
        ref = base(x)

    def fused(model):
        model = __import__("copy").deepcopy(model)
        model.conv1, model.bn1 = fuse_conv_bn_eval(model.conv1, model.bn1), torch.nn.Identity()
        for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
            for block in layer:
                for c, b in (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")):
                    if hasattr(block, c):
                        setattr(block, c, fuse_conv_bn_eval(getattr(block, c), getattr(block, b)))
                        setattr(block, b, torch.nn.Identity())
                if block.downsample is not None:
                    block.downsample = torch.nn.Sequential(fuse_conv_bn_eval(block.downsample[0], block.downsample[1]))
        return model

    def jit_frozen(model, cl):
        traced = torch.jit.trace(model, x.contiguous(memory_format=torch.channels_last) if cl else x)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))

    import copy

    variants = {
        "eager contiguous": (copy.deepcopy(base), False),
        "eager channels_last": (copy.deepcopy(base).to(memory_format=torch.channels_last), True),
        "conv-bn fused, channels_last": (fused(base).to(memory_format=torch.channels_last), True),
    }
    try:
        variants["jit.freeze+optimize_for_inference"] = (jit_frozen(copy.deepcopy(base), False), False)
    except Exception as exc:  # noqa: BLE001
        print(f"jit variant failed: {exc}", file=sys.stderr)
    rows = []
    for name, (model, cl) in variants.items():
        inp = x.contiguous(memory_format=torch.channels_last) if cl else x
        with torch.inference_mode():
            out = model(inp)  # warm-up
            out = model(inp)
            start = time.perf_counter()
            reps = 3
            for _ in range(reps):
                out = model(inp)
            rate = reps * batch_size / (time.perf_counter() - start)
        rows.append({"variant": name, "img_s": round(rate, 1), "max_abs_err": float((out - ref).abs().max())})
        print(f"  {name:36s} {rate:7.1f} img/s   max |logit err| {rows[-1]['max_abs_err']:.2e}", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-small", type=int, default=160, help="224px flower photos")
    parser.add_argument("--n-large", type=int, default=16, help="generated 4032x3024 JPEGs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help=f"decode threads (default {default_workers()})")
    parser.add_argument("--no-fast", action="store_true", help="skip precision='fast' (bf16 autocast)")
    parser.add_argument("--explore", action="store_true", help="also time model-only fp32 variants")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_classify_") as tmp:
        tmp = Path(tmp)
        weights = tmp / "resNet34.pth"
        torch.save(torchvision.models.resnet34(num_classes=5).state_dict(), weights)
        sets = {"224px flowers": pick_photos(args.n_small)}
        if args.n_large:
            t0 = time.perf_counter()
            sets["4032x3024 JPEG"] = make_large_jpegs(pick_photos(args.n_large, seed=1), tmp)
            print(f"made {args.n_large} large JPEGs in {time.perf_counter() - t0:.1f}s", flush=True)

        results = []
        for label, files in sets.items():
            row = {"set": label, "n": len(files)}
            row["naive"] = naive_loop(weights, files)
            print(f"{label}: naive {row['naive']:.1f} img/s", flush=True)
            row["fp32"] = ours(weights, files, "fp32", args.batch_size, args.workers)
            print(f"{label}: ours fp32 {row['fp32']:.1f} img/s", flush=True)
            if not args.no_fast:
                row["fast"] = ours(weights, files, "fast", args.batch_size, args.workers)
                print(f"{label}: ours fast {row['fast']:.1f} img/s", flush=True)
            results.append(row)

        print()
        print("| photos | n | naive img/s | ours fp32 img/s | ratio | ours fast img/s | ratio |")
        print("|---|---|---|---|---|---|---|")
        for r in results:
            fast = f"{r['fast']:.1f} | {r['fast'] / r['naive']:.2f}x" if "fast" in r else "- | -"
            print(f"| {r['set']} | {r['n']} | {r['naive']:.1f} | {r['fp32']:.1f} | {r['fp32'] / r['naive']:.2f}x | {fast} |")
        summary = {"bench": "classify", "model": "resnet34", "batch_size": args.batch_size,
                   "workers": args.workers or default_workers(), "threads": torch.get_num_threads(),
                   "results": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()} for r in results]}
        if args.explore:
            print("\nmodel-only fp32 variants (batch of", args.batch_size, "random images):")
            summary["explore"] = explore(weights, args.batch_size)
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

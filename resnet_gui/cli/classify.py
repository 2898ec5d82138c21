"""``resnet-gui classify PATHS...``: a table, JSON lines or a CSV of top-k guesses."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

from ..constants import DEVICE_CHOICES, ENGINE_CHOICES
from ..core.model.architectures import ARCH_NAMES
from ..core.text import counted, terminal_safe
from .common import fail, positive_int, say


def add_parser(sub) -> None:
    c = sub.add_parser("classify", help="classify images and folders")
    c.add_argument("paths", nargs="+", help="image files and/or folders (searched recursively)")
    c.add_argument("--weights", help="weights file (.pt/.pth/.safetensors/.onnx); default: the shipped model")
    c.add_argument("--arch", choices=ARCH_NAMES, help="architecture, if it cannot be inferred")
    c.add_argument("--topk", type=positive_int, default=5)
    c.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    c.add_argument("--precision", choices=("fp32", "fast"), default="fp32",
                   help="fast: bf16/fp16 autocast, quicker, probabilities differ by ~1e-2")
    c.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                   help="auto: PyTorch on a GPU, ONNX Runtime on the CPU (docs/performance.md)")
    c.add_argument("--batch-size", type=positive_int, default=32)
    c.add_argument("--workers", type=positive_int, default=None, help="image decoding threads")
    out = c.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per image")
    out.add_argument("--csv", metavar="OUT", help="write results to a CSV file")
    c.add_argument("--cam", metavar="DIR",
                   help="also write each photo with a Grad-CAM heatmap of its top class, as PNGs in DIR "
                        "(named after the photos, never overwriting)")
    c.add_argument("-v", "--verbose", action="store_true")
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.distributed import Dist, DistributedError, from_env, launched, shutdown
    from ..core.distributed_classify import rank_device
    from ..core.engines.choose import open_classifier
    from ..core.engines.runtimes import EngineError
    from ..core.model.checkpoint import WeightsError
    from ..core.model.devices import DeviceError
    from ..resources import default_weights

    weights = Path(args.weights) if args.weights else default_weights()
    if weights is None:
        return fail("no weights given and no shipped default model: pass --weights FILE "
                    "(or run 'resnet-gui download resnet50' where there is internet)")
    problem = _cam_problem(args.cam, weights)
    if problem:
        return fail(problem)
    try:
        # under torchrun: this process's rank and GPU; else one process, and torch is not imported
        # unless it runs (an ONNX engine answers in about a second)
        dist = from_env(args.device) if launched() or args.engine == "torch" else Dist(device=args.device)
        opened = open_classifier(weights, args.engine, rank_device(dist, args.device), args.precision, args.arch)
    except (WeightsError, DeviceError, DistributedError, EngineError) as exc:
        return fail(str(exc))
    try:
        code = _classify(args, dist, opened)
        return _write_cams(args, weights) if code == 0 and args.cam and dist.is_main else code
    except DistributedError as exc:
        return fail(f"rank {dist.rank}: {exc}")
    finally:
        shutdown()


def _classify(args, dist, opened) -> int:
    """Under torchrun every process classifies its share; only rank 0 prints and writes."""
    from ..core.data.images import iter_image_files
    from ..core.distributed_classify import classify_across

    err = sys.stderr if dist.is_main else io.StringIO()
    classifier = opened.classifier
    trust_notes = getattr(classifier, "trust_notes", [])  # "out-of-class detection: not available..."
    for note in list(opened.notes) + trust_notes:
        say(f"note: {note}", err)
    # rank 0's answer for all: only its filesystem gets the CSV
    problem = _csv_problem(args.csv) if dist.is_main else ""
    if dist.broadcast(bool(problem)):
        return fail(problem) if dist.is_main else 2
    files = list(iter_image_files(args.paths))
    if not files:
        return fail("no image files found in " + ", ".join(args.paths)) if dist.is_main else 2
    say(f"model: {opened.info.describe()}; engine: {opened.description}; {counted(len(files), 'file')}", err)

    keep = []
    skipped = unknown = 0
    for pred in classify_across(classifier, files, dist, topk=args.topk, batch_size=args.batch_size,
                                workers=args.workers):
        if args.csv:
            keep.append(pred)
        skipped += bool(pred.error)
        unknown += bool(pred.unknown)
        if args.json:
            print(json.dumps(pred.to_json()), flush=True)
        elif not args.csv or args.verbose:
            _print_row(pred)
    if args.csv and dist.is_main:
        from ..core.results_csv import write_predictions_csv

        write_predictions_csv(Path(args.csv), keep, args.topk, with_trust=getattr(classifier, "trust", None) is not None)
        say(f"wrote {args.csv}", err)
    not_mine = f", {unknown} not one of the model's classes (unknown)" if getattr(classifier, "trust", None) else ""
    print(f"classified {counted(len(files) - skipped, 'image')}, skipped {skipped}{not_mine}", file=err)
    return 0


def _print_row(pred) -> None:
    # Each untrusted piece escaped on its own, so the tab between columns stays a tab.
    path = terminal_safe(pred.path)
    if pred.error:
        print(f"{path}\tSKIPPED: {terminal_safe(pred.error)}")
    else:
        guesses = "  ".join(f"{terminal_safe(label)} {prob:6.1%}" for label, prob in pred.topk)
        if pred.unknown:  # the guesses stay, marked: the photo looks like none of the classes
            guesses = f"? not one of my classes (out-of-class score {pred.ood_score:.3f}); nearest: {guesses}"
        print(f"{path}\t{guesses}")


def _csv_problem(csv_path: str | None) -> str:
    """Why ``--csv`` cannot be written (checked before any image is read), or ""."""
    from ..core.atomic import output_file_problem

    if not csv_path:
        return ""
    if not Path(csv_path).resolve().parent.is_dir():
        return f"cannot write {csv_path}: its folder does not exist"
    return output_file_problem(csv_path, example="results.csv")


def _cam_problem(folder: str | None, weights: Path) -> str:
    """Why ``--cam`` cannot be done (checked before any photo is read), or ""."""
    from ..core.atomic import OutputError
    from ..core.review.cam import check_cam_folder

    if not folder:
        return ""
    if weights.suffix.lower() == ".onnx":
        return f"--cam needs the PyTorch weights (.pt, .pth, .safetensors), not {weights.name}"
    try:
        check_cam_folder(folder)
    except OutputError as exc:
        return str(exc)
    return ""


def _write_cams(args, weights: Path) -> int:
    """The heatmap PNGs, with the PyTorch model (Grad-CAM needs its gradients)."""
    from ..core.data.images import iter_image_files
    from ..core.model.checkpoint import WeightsError
    from ..core.model.loading import load_model
    from ..core.review.cam import write_overlays

    try:
        loaded = load_model(weights, arch=args.arch)
    except WeightsError as exc:
        return fail(str(exc))
    steps = write_overlays(loaded, list(iter_image_files(args.paths)), args.cam)
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        written = [png for _, png, _ in stop.value if png]
    say(f"wrote {counted(len(written), 'heatmap')} to {args.cam}", sys.stderr)
    return 0

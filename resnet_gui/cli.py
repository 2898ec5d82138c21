"""Command line: ``resnet-gui [classify|train|download] ...``; no subcommand opens the window.

Heavy modules (torch, Qt) are imported inside the command that needs them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .core.architectures import ARCH_NAMES
from .core.devices import DEVICE_CHOICES

SUBCOMMANDS = ("classify", "train", "download", "gui")


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _resolve_weights(weights: str | None) -> Path | None:
    if weights:
        return Path(weights)
    from .paths import default_weights

    return default_weights()


# ---------------------------------------------------------------- classify


def cmd_classify(args: argparse.Namespace) -> int:
    from .core.checkpoint import WeightsError, load_model
    from .core.devices import DeviceError
    from .core.images import iter_image_files
    from .core.inference import Classifier, classify_files

    weights = _resolve_weights(args.weights)
    if weights is None:
        return _fail("no weights given and no default model in weights/: pass --weights FILE "
                     "(or run 'resnet-gui download resnet50' where there is internet)")
    try:
        loaded = load_model(weights, arch=args.arch)
        classifier = Classifier(loaded, args.device, args.precision)
    except (WeightsError, DeviceError) as exc:
        return _fail(str(exc))
    for note in loaded.info.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.csv and not Path(args.csv).resolve().parent.is_dir():
        return _fail(f"cannot write {args.csv}: its folder does not exist")
    files = list(iter_image_files(args.paths))
    if not files:
        return _fail("no image files found in " + ", ".join(args.paths))
    print(f"model: {loaded.info.describe()} on {classifier.device}; {len(files)} files", file=sys.stderr)

    keep = []
    skipped = 0
    for pred in classify_files(classifier, files, topk=args.topk, batch_size=args.batch_size, workers=args.workers):
        if args.csv:
            keep.append(pred)
        if pred.error:
            skipped += 1
        if args.json:
            print(json.dumps(pred.to_json()), flush=True)
        elif not args.csv or args.verbose:
            if pred.error:
                print(f"{pred.path}\tSKIPPED: {pred.error}")
            else:
                shown = "  ".join(f"{label} {prob:6.1%}" for label, prob in pred.topk)
                print(f"{pred.path}\t{shown}")
    if args.csv:
        from .core.export import write_predictions_csv

        write_predictions_csv(Path(args.csv), keep, args.topk)
        print(f"wrote {args.csv}", file=sys.stderr)
    print(f"classified {len(files) - skipped} images, skipped {skipped}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- download


def cmd_download(args: argparse.Namespace) -> int:
    from .core.download import DownloadError, download_imagenet_weights

    def progress(done: int, total: int) -> None:
        text = f"{done / 1e6:7.1f} MB" + (f" / {total / 1e6:.1f} MB" if total else "")
        print(f"\r{args.arch}: {text}", end="", file=sys.stderr, flush=True)

    try:
        path = download_imagenet_weights(args.arch, progress, url=args.url)
    except DownloadError as exc:
        print(file=sys.stderr)
        return _fail(str(exc))
    print(f"\n{path}")
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resnet-gui",
        description="Classify photos with a ResNet or fine-tune one on your own labeled photos. "
                    "Without a subcommand it opens the window.")
    sub = parser.add_subparsers(dest="command")

    c = sub.add_parser("classify", help="classify images and folders")
    c.add_argument("paths", nargs="+", help="image files and/or folders (searched recursively)")
    c.add_argument("--weights", help="weights file (.pt/.pth/.safetensors); default: the model in weights/")
    c.add_argument("--arch", choices=ARCH_NAMES, help="architecture, if it cannot be inferred")
    c.add_argument("--topk", type=_positive_int, default=5)
    c.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    c.add_argument("--precision", choices=("fp32", "fast"), default="fp32",
                   help="fast: bf16/fp16 autocast, quicker, probabilities differ by ~1e-2")
    c.add_argument("--batch-size", type=_positive_int, default=32)
    c.add_argument("--workers", type=_positive_int, default=None, help="image decoding threads")
    out = c.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per image")
    out.add_argument("--csv", metavar="OUT", help="write results to a CSV file")
    c.add_argument("-v", "--verbose", action="store_true")
    c.set_defaults(func=cmd_classify)

    d = sub.add_parser("download", help="download torchvision ImageNet weights into torch's cache")
    d.add_argument("arch", choices=ARCH_NAMES)
    d.add_argument("--url", help="download from this address instead of torchvision's")
    d.set_defaults(func=cmd_download)

    from .train_cli import add_train_parser

    add_train_parser(sub)

    g = sub.add_parser("gui", help="open the main window (the default)")
    add_gui_arguments(g)
    return parser


def add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", help="weights file to load at start")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window, classify IMAGES through the real worker, print JSON lines, exit")
    parser.add_argument("--screenshot", help="with --self-test: save a picture of the window here")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=None)
    parser.add_argument("images", nargs="*", help="images or folders to classify at start")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help"):
        gui = argparse.ArgumentParser(prog="resnet-gui", description="Open the ResNet Classifier window.",
                                      epilog=f"subcommands: {', '.join(SUBCOMMANDS)} (resnet-gui SUBCOMMAND -h)")
        add_gui_arguments(gui)
        return _run_gui(gui.parse_args(argv))
    args = build_parser().parse_args(argv)
    if args.command == "gui":
        return _run_gui(args)
    if args.command is None:
        build_parser().print_help()
        return 0
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _run_gui(args: argparse.Namespace) -> int:
    from .gui.app import run_app

    return run_app(args)

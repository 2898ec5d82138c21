"""``resnet-gui export MODEL --format onnx [--out F] [--int8 --calibrate DATA_DIR]``."""

from __future__ import annotations

import argparse
import sys

from ..core.model.architectures import ARCH_NAMES
from .common import fail, say


def add_parser(sub) -> None:
    e = sub.add_parser("export", help="write a model as a self-describing ONNX file (optionally int8)")
    e.add_argument("model", help="weights file (.pt/.pth/.ckpt/.safetensors)")
    e.add_argument("--format", choices=("onnx",), default="onnx",
                   help="the only format (the default); accepted so that scripts can say it")
    e.add_argument("--out", help="output file (default: beside MODEL, .onnx or .int8.onnx)")
    e.add_argument("--arch", choices=ARCH_NAMES, help="architecture, if it cannot be inferred")
    e.add_argument("--int8", action="store_true", help="int8 quantized, calibrated on --calibrate's photos")
    e.add_argument("--calibrate", metavar="DATA_DIR",
                   help="your photos (class subfolders give accuracy too): 300 calibrate, the rest judge")
    e.add_argument("--check", metavar="DIR", help="photos for the parity check of an fp32 export")
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.atomic import OutputError
    from ..core.engines.pipeline import ExportError, export_model
    from ..core.engines.quantize import QuantizeError
    from ..core.model.checkpoint import WeightsError

    if args.int8 and not args.calibrate:
        return fail("--int8 needs --calibrate DATA_DIR: 100-300 of the photos the model will see")
    steps = export_model(args.model, args.out, int8=args.int8, calibrate=args.calibrate, check=args.check,
                         arch=args.arch)
    try:
        while True:
            say(next(steps), sys.stderr)
    except StopIteration:
        return 0
    except (WeightsError, ExportError, QuantizeError, OutputError) as exc:
        return fail(str(exc))

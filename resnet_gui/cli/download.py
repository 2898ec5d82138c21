"""``resnet-gui download ARCH``: torchvision's ImageNet weights into torch's cache."""

from __future__ import annotations

import argparse
import sys

from ..core.model.architectures import ARCH_NAMES
from .common import fail


def add_parser(sub) -> None:
    d = sub.add_parser("download", help="download torchvision ImageNet weights into torch's cache")
    d.add_argument("arch", choices=ARCH_NAMES)
    d.add_argument("--url", help="download from this address instead of torchvision's")
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.model.download import DownloadError, download_imagenet_weights

    def progress(done: int, total: int) -> None:
        text = f"{done / 1e6:7.1f} MB" + (f" / {total / 1e6:.1f} MB" if total else "")
        print(f"\r{args.arch}: {text}", end="", file=sys.stderr, flush=True)

    try:
        path = download_imagenet_weights(args.arch, progress, url=args.url)
    except DownloadError as exc:
        print(file=sys.stderr)
        return fail(str(exc))
    print(f"\n{path}")
    return 0

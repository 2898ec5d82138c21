"""``resnet-gui download ARCH``: torchvision's ImageNet weights into torch's cache."""

from __future__ import annotations

import argparse
import sys

from ..core.model.architectures import ARCH_NAMES
from .common import fail, say


def add_parser(sub) -> None:
    d = sub.add_parser("download", help="download torchvision ImageNet weights into torch's cache")
    d.add_argument("arch", choices=ARCH_NAMES)
    d.add_argument("--url", help="download from this https address instead of torchvision's "
                   "(.pth/.pt/.safetensors, at most 1 GiB, checked before it is kept)")
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.model.download import DownloadError, download_imagenet_weights

    shown = False  # a progress line is open on stderr

    def progress(done: int, total: int) -> None:
        nonlocal shown
        text = f"{done / 1e6:7.1f} MB" + (f" / {total / 1e6:.1f} MB" if total else "")
        print(f"\r{args.arch}: {text}", end="", file=sys.stderr, flush=True)
        shown = True

    try:
        path = download_imagenet_weights(args.arch, progress, url=args.url)
    except DownloadError as exc:
        print(end="\n" if shown else "", file=sys.stderr)  # end the progress line, if any
        return fail(str(exc))
    print(end="\n" if shown else "", file=sys.stderr)
    say(str(path))
    return 0

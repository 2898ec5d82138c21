"""Command line: ``resnet-gui [classify|train|calibrate|review|export|download|sort|undo] ...``; no subcommand opens the window.

One module per command; heavy modules (torch, Qt) are imported inside the command that
needs them, so ``resnet-gui -h`` answers at once.
"""

from __future__ import annotations

import argparse
import sys

from ..constants import DEVICE_CHOICES
from . import calibrate, classify, download, export, review, sort, train, undo
from ..core.text import terminal_safe
from .common import fail

class _Parser(argparse.ArgumentParser):
    """argparse's own ``error:`` line echoes what was typed (a pasted file name may hold escape
    codes, newlines, U+202E): escaped like the app's own error lines."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, terminal_safe(f"{self.prog}: error: {message}") + "\n")


SUBCOMMANDS = ("classify", "train", "calibrate", "review", "export", "download", "sort", "undo", "gui")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="resnet-gui",
        description="Classify photos with a ResNet or fine-tune one on your own labeled photos. "
                    "Without a subcommand it opens the window.")
    sub = parser.add_subparsers(dest="command")
    classify.add_parser(sub)
    download.add_parser(sub)
    train.add_parser(sub)
    calibrate.add_parser(sub)
    review.add_parser(sub)
    export.add_parser(sub)
    sort.add_parser(sub)
    undo.add_parser(sub)
    add_gui_arguments(sub.add_parser("gui", help="open the main window (the default)"))
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
        gui = _Parser(prog="resnet-gui", description="Open the ResNet Classifier window.",
                                      epilog=f"subcommands: {', '.join(SUBCOMMANDS)} (resnet-gui SUBCOMMAND -h)")
        add_gui_arguments(gui)
        return _run_gui(gui.parse_args(argv))
    args = build_parser().parse_args(argv)
    if args.command == "gui":
        return _run_gui(args)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return fail("interrupted", 130)


def _run_gui(args: argparse.Namespace) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen app re-launched as a worker process exits here
    from ..gui.app import run_app

    return run_app(args)

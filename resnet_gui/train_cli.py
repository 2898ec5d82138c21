"""``resnet-gui train``: the fine-tuning core with a text progress bar."""

from __future__ import annotations

import argparse
import sys

from .core.architectures import ARCH_NAMES
from .core.devices import DEVICE_CHOICES


def add_train_parser(sub) -> None:
    t = sub.add_parser("train", help="fine-tune a ResNet on a folder with one subfolder per class")
    t.add_argument("data_dir", help="folder with one subfolder per class (or train/ and val/ subfolders)")
    t.add_argument("--out", required=True, help="checkpoint to write (updated atomically after each improvement)")
    t.add_argument("--arch", choices=ARCH_NAMES, default=None, help="default: that of --from, else resnet18")
    t.add_argument("--from", dest="start", default=None,
                   help="weights file, 'imagenet' or 'scratch' (default: imagenet if cached, else scratch)")
    t.add_argument("--mode", choices=("head", "full"), default=None, help="default: head from pretrained weights, full from scratch")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--image-size", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--val-split", type=float, default=None)
    t.add_argument("--lr", type=float, default=None)
    t.add_argument("--optimizer", choices=("adamw", "sgd"), default=None)
    t.add_argument("--patience", type=int, default=None, help="early stopping: epochs without improvement")
    t.add_argument("--split-csv", default=None, help="CSV with split,class,file rows fixing the train/val split")
    t.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    t.add_argument("--half", action="store_true", help="store the weights as fp16")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    t.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from .core.training import run_training_cli

    return run_training_cli(args, sys.stdout, sys.stderr)

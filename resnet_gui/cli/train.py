"""``resnet-gui train DATA --out MODEL.pt``: the fine-tuning core with a text progress bar."""

from __future__ import annotations

import argparse
import io
import math
import signal
import sys

from ..constants import DEVICE_CHOICES
from ..core.model.architectures import ARCH_NAMES
from .common import fail, say

BAR_WIDTH = 30


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="fine-tune a ResNet on a folder with one subfolder per class")
    t.add_argument("data_dir", help="folder with one subfolder per class (or train/ and val/ subfolders)")
    t.add_argument("--out", required=True, help="checkpoint to write (updated atomically after each improvement)")
    t.add_argument("--arch", choices=ARCH_NAMES, default=None, help="default: that of --from, else resnet18")
    t.add_argument("--from", dest="start", default=None,
                   help="weights file, 'imagenet', 'teacher' or 'scratch' (default: imagenet if cached, else "
                        "teacher: a ResNet taught by the built-in ImageNet teacher; docs/cli.md)")
    t.add_argument("--student", default=None,
                   help="with the teacher: the ResNet's first weights, a file or 'scratch' (default: the shipped model)")
    t.add_argument("--mode", choices=("head", "full"), default=None,
                   help="default: head from pretrained weights, full from scratch or with the teacher")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--image-size", type=int, default=None)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--val-split", type=float, default=None)
    t.add_argument("--lr", type=float, default=None)
    t.add_argument("--optimizer", choices=("adamw", "sgd"), default=None)
    t.add_argument("--patience", type=int, default=None, help="early stopping: epochs without improvement")
    t.add_argument("--augment", choices=("auto", "light", "strong", "none"), default="auto",
                   help="auto: strong (TrivialAugment, random erasing) from scratch, light from weights")
    t.add_argument("--split-csv", default=None, help="CSV with split,class,file rows fixing the train/val split")
    t.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    t.add_argument("--half", action="store_true", help="store the weights as fp16")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    t.add_argument("--no-int8", dest="int8", action="store_false",
                   help="do not make the model's int8 twin (MODEL.int8.onnx, what classify runs on the CPU)")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.model.checkpoint import WeightsError
    from ..core.model.devices import DeviceError
    from ..core.model.download import DownloadError
    from ..core.distributed import env_rank, launched, shutdown
    from ..core.train.config import TrainConfig, TrainingError
    from ..core.train.events import Done
    from ..core.train.fine_tune import fine_tune

    cfg = TrainConfig(
        data_dir=args.data_dir, out=args.out, arch=args.arch, start=args.start, student=args.student, mode=args.mode,
        epochs=args.epochs,
        image_size=args.image_size, batch_size=args.batch_size, val_split=args.val_split, lr=args.lr,
        optimizer=args.optimizer, patience=args.patience, split_csv=args.split_csv, resume=args.resume,
        half=args.half, seed=args.seed, device=args.device, augment=args.augment)
    rank = env_rank()  # under torchrun only rank 0 prints progress
    printer = _Printer(sys.stdout, sys.stderr) if rank == 0 else _Printer(io.StringIO(), io.StringIO())
    if launched():  # torchrun ends the other processes with SIGTERM when one fails
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    done = None
    try:
        for event in fine_tune(cfg):
            printer.show(event)
            if isinstance(event, Done):
                done = event
    except KeyboardInterrupt:
        why = "stopped by torchrun (a process failed or the run was stopped)" if launched() else "interrupted"
        print(f"\n{why}; the last saved model (if any) is intact", file=printer.err)
        return 130
    except (TrainingError, WeightsError, DeviceError, DownloadError) as exc:
        if launched():  # this process is stopping anyway: torchrun's SIGTERM need not say more
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if rank and type(exc) is TrainingError:
            return 2  # the same on every process: rank 0 says it
        return fail(f"rank {rank}: {exc}" if rank else str(exc))
    finally:
        shutdown()
    if done is None:
        return 1
    printer.summary(done)
    if done.reason not in ("completed", "early_stopping"):
        return 1
    if args.int8 and done.checkpoint and rank == 0:
        from ..core.engines.twin import twin_of_run

        make_twin(twin_of_run(done.checkpoint, cfg.data_dir, cfg.split_csv, cfg.resolve().val_split, cfg.seed))
    return 0


def make_twin(steps) -> None:
    """Run a core twin generator (core/engines/twin.py): its lines on stderr, its result line on
    stdout. Ctrl-C cancels it and keeps the model, which is already saved."""
    try:
        while True:
            say(next(steps), sys.stderr, flush=True)
    except StopIteration as stop:
        say(stop.value.note)
    except KeyboardInterrupt:
        say("int8 twin cancelled; nothing was written (the model is saved)")


class _Printer:
    """Epochs and data on stdout; stages, skipped files and a live bar (terminals only) on stderr."""

    def __init__(self, stdout, stderr) -> None:
        self.out, self.err = stdout, stderr
        self.interactive = hasattr(stderr, "isatty") and stderr.isatty()

    def show(self, event) -> None:
        from ..core.train.events import (BatchProgress, Calibrated, DataReady, EpochEnd, PhaseProgress, Stage,
                                          StartChosen, format_duration)

        if isinstance(event, BatchProgress) and self.interactive:
            filled = int(BAR_WIDTH * event.batch / event.batches)
            eta = "" if math.isnan(event.eta_seconds) else f" ETA {format_duration(event.eta_seconds)}"
            print(f"\repoch {event.epoch}/{event.epochs} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                  f"loss {event.loss:.3f} {event.images_per_second:.0f} img/s{eta}   ", end="", file=self.err, flush=True)
        elif isinstance(event, PhaseProgress) and self.interactive:  # reading, features, validating, saving
            filled = int(BAR_WIDTH * event.done / max(1, event.total))
            eta = "" if math.isnan(event.eta_seconds) else f" ETA {format_duration(event.eta_seconds)}"
            print(f"\r{event.message} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {event.done}/{event.total}{eta}   ",
                  end="" if event.done < event.total else "\n", file=self.err, flush=True)
        elif isinstance(event, EpochEnd):
            if self.interactive:
                print("\r" + " " * 100 + "\r", end="", file=self.err)
            mark = " *saved" if event.improved else ""
            print(f"epoch {event.epoch:3d}/{event.epochs}  train loss {event.train_loss:.3f} acc {event.train_acc:6.1%}"
                  f"  val loss {event.val_loss:.3f} acc {event.val_acc:6.1%}  lr {event.lr:.2e}"
                  f"  {event.seconds:.0f}s{mark}", file=self.out, flush=True)
        elif isinstance(event, DataReady):
            say(event.message, self.out, flush=True)
            for path, reason in event.skipped[:20]:
                say(f"  skipped {path}: {reason}", self.err)
        elif isinstance(event, Stage):
            say(event.message, self.err, flush=True)
        elif isinstance(event, StartChosen):  # what it starts from and why: part of the result, on stdout
            say(event.message, self.out, flush=True)
        elif isinstance(event, Calibrated):  # out-of-class threshold, temperature, ECE before -> after
            say(event.message, self.out, flush=True)

    def summary(self, done) -> None:
        say(done.message, self.out)
        if done.per_class_acc:
            say("per-class validation accuracy: " + ", ".join(f"{k} {v:.1%}" for k, v in done.per_class_acc.items()),
                self.out)


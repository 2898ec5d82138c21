"""``resnet-gui calibrate MODEL DATA_DIR [--out F]``: add "not one of my classes" (an
out-of-class threshold) and honest confidence (a temperature) to a model, from a labeled
folder of its classes. Writes a new checkpoint; the input is never overwritten unless --out
names it."""

from __future__ import annotations

import argparse
import sys

from ..constants import DEVICE_CHOICES
from .common import fail, positive_int, say


def add_parser(sub) -> None:
    c = sub.add_parser("calibrate", help="add out-of-class detection and a temperature to a model, "
                                         "from a labeled folder of its classes")
    c.add_argument("model", help="weights file (.pt/.pth/.safetensors)")
    c.add_argument("data_dir", help="folder with one subfolder per class (the model's classes), or train/ and val/")
    c.add_argument("--out", help="checkpoint to write (default: MODEL with a .calibrated.pt suffix)")
    c.add_argument("--split-csv", default=None, help="CSV with split,class,file rows fixing the train/held-out split")
    c.add_argument("--val-split", type=_fraction, default=0.1,
                   help="share of photos held out for the threshold and temperature (default 0.1)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    c.add_argument("--workers", type=positive_int, default=None, help="image decoding threads")
    c.add_argument("--no-int8", dest="int8", action="store_false",
                   help="do not make the new checkpoint's int8 twin (what classify runs on the CPU)")
    c.add_argument("--features", choices=("auto", "teacher", "model"), default="auto",
                   help="what the out-of-class score looks at: the ImageNet teacher's features (auto: when "
                        "installed) or the model's own (docs/trust.md)")
    c.set_defaults(func=run)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    from ..core.atomic import OutputError
    from ..core.model.checkpoint import WeightsError
    from ..core.model.devices import DeviceError
    from ..core.train.events import Stage
    from ..core.trust.calibrate import CalibrationError, calibrate_model

    steps = calibrate_model(args.model, args.data_dir, args.out, split_csv=args.split_csv, val_split=args.val_split,
                            seed=args.seed, device=args.device, workers=args.workers, features=args.features)
    try:
        while True:
            event = next(steps)
            if isinstance(event, Stage):
                say(event.message, sys.stderr, flush=True)
    except StopIteration as stop:
        result = stop.value
    except (CalibrationError, WeightsError, OutputError, DeviceError) as exc:
        return fail(str(exc))
    except (OSError, ValueError) as exc:  # a split CSV that cannot be read, say
        return fail(f"{type(exc).__name__}: {exc}")
    if result is None:
        return fail("cancelled; nothing was written", 130)
    for path, reason in result.skipped[:20]:
        say(f"  skipped {path}: {reason}", sys.stderr)
    if result.names_note:
        say(result.names_note)
    say(result.trust.describe())
    say(f"wrote {result.out}")
    if args.int8:
        from ..core.engines.twin import twin_of_run
        from .train import make_twin

        make_twin(twin_of_run(result.out, args.data_dir, args.split_csv, args.val_split, args.seed))
    return 0

"""``resnet-gui sort PHOTOS... --into DEST``: classify, then copy (or move) each photo into
``DEST/<class>/``, the unsure ones into ``DEST/_unsure/``, those the model marks as none of its
classes into ``DEST/_unknown/`` (unless --no-unknown-folder), through an undoable journal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..constants import DEVICE_CHOICES
from ..core.text import counted
from .common import fail, positive_int, say


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def add_parser(sub) -> None:
    s = sub.add_parser("sort", help="classify photos and copy (or move) them into one folder per class")
    s.add_argument("photos", nargs="+", help="photos and/or folders (searched recursively)")
    s.add_argument("--into", required=True, metavar="DEST", help="destination: DEST/<class>/ and DEST/_unsure/")
    s.add_argument("--move", action="store_true", help="move instead of copy (copy, verify, then remove the original)")
    s.add_argument("--min-confidence", type=_confidence, default=0.6,
                   help="top-1 below this goes to DEST/_unsure/ (default 0.6)")
    s.add_argument("--no-unknown-folder", dest="unknown_folder", action="store_false",
                   help="photos the model marks as none of its classes go by their top-1 class too "
                        "(default: into DEST/_unknown/)")
    s.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
    s.add_argument("--weights", help="weights file; default: the shipped model")
    s.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    s.add_argument("--batch-size", type=positive_int, default=32)
    s.add_argument("--json", action="store_true", help="one JSON object with the summary")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.files.checks import check_not_inside_sources
    from ..core.files.plan import FilesError

    dest = Path(args.into)
    try:
        check_not_inside_sources(dest, args.photos)  # before the slow part
        predictions = _classify(args)
        if isinstance(predictions, int):
            return predictions
        plan, skipped = _plan(predictions, dest, args)
    except FilesError as exc:
        return fail(str(exc))
    if not plan.operations:
        return fail("nothing to sort: no readable photos in " + ", ".join(args.photos))
    if args.dry_run:
        _report(args, plan, None, None, skipped)
        return 0
    return _execute(args, plan, dest, skipped)


def _classify(args):
    from ..core.data.images import iter_image_files
    from ..core.engines.choose import open_classifier
    from ..core.engines.runtimes import EngineError
    from ..core.infer import classify_files
    from ..core.model.checkpoint import WeightsError
    from ..core.model.devices import DeviceError
    from ..resources import default_weights

    weights = Path(args.weights) if args.weights else default_weights()
    if weights is None:
        return fail("no weights given and no shipped default model: pass --weights FILE")
    try:  # the engine classify would choose, so .onnx files sort too
        classifier = open_classifier(weights, "auto", args.device).classifier
    except (WeightsError, DeviceError, EngineError) as exc:
        return fail(str(exc))
    files = list(iter_image_files(args.photos))
    say(f"classifying {counted(len(files), 'file')} with {weights.name}", sys.stderr)
    return list(classify_files(classifier, files, topk=1, batch_size=args.batch_size))


def _plan(predictions, dest: Path, args):
    from ..core.files.sorting import plan_sort

    items = [(p.path, p.label, p.confidence, p.unknown) for p in predictions if p.ok]
    skipped = [(p.path, p.error) for p in predictions if not p.ok]
    return plan_sort(items, dest, min_confidence=args.min_confidence, move=args.move, sources=args.photos,
                     unknown_folder=args.unknown_folder), skipped


def _execute(args, plan, dest: Path, skipped) -> int:
    from ..core.files.journal import Journal, run_all
    from ..core.files.sorting import sort_journal_path

    journal = Journal(sort_journal_path(dest))
    say(f"journal: {journal.path}", sys.stderr)  # printed first: a killed run can still be undone
    try:
        result = run_all(journal.run(plan))
    finally:
        journal.close()
    _report(args, plan, journal.path, result, skipped)
    return 0 if not result.failed and not result.stopped else 1


def _report(args, plan, journal_path, result, skipped) -> None:
    counts = {Path(folder).name: n for folder, n in plan.folder_counts().items()}
    if args.json:
        print(json.dumps({
            "dry_run": args.dry_run, "move": args.move, "folders": counts, "bytes": plan.bytes_needed,
            "done": result.done if result else 0, "journal": str(journal_path) if journal_path else None,
            "failed": [list(f) for f in result.failed] if result else [],
            "stopped": result.stopped if result else None, "skipped": [list(s) for s in skipped]}))
        return
    verb = "would " + ("move" if args.move else "copy") if args.dry_run else ("moved" if args.move else "copied")
    done = len(plan) if args.dry_run else result.done
    say(f"{verb} {counted(done, 'photo')} into {args.into} ({plan.bytes_needed / 1e6:.1f} MB)")
    for name, n in sorted(counts.items()):
        say(f"  {name}/  {n}")
    for path, why in skipped:
        say(f"skipped (unreadable, left in place): {path}: {why}")
    if result:
        for path, why in result.failed:
            say(f"failed (left in place): {why}")
        if result.stopped:
            say(f"stopped: {result.stopped}")
        say(f"undo with: resnet-gui undo {journal_path}")

"""``resnet-gui undo JOURNAL``: undo a sort (or finish or redo it) from its journal."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.text import counted
from .common import fail, say


def add_parser(sub) -> None:
    u = sub.add_parser("undo", help="undo what a sort did (its journal's path was printed)")
    u.add_argument("journal", help="the .jsonl journal a sort printed")
    mode = u.add_mutually_exclusive_group()
    mode.add_argument("--redo", action="store_true", help="do again what was undone")
    mode.add_argument("--finish", action="store_true", help="complete an interrupted sort instead of undoing it")
    u.add_argument("--json", action="store_true", help="one JSON object with the outcome")
    u.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.files.journal import Journal, run_all
    from ..core.files.plan import FilesError

    path = Path(args.journal)
    if not path.is_file():
        return fail(f"no journal at {path}")
    try:
        journal = Journal(path)
        action = journal.redo if args.redo else journal.finish if args.finish else journal.undo
        try:
            result = run_all(action())
        finally:
            journal.close()
    except FilesError as exc:
        return fail(str(exc))
    word = {"do": "redone" if args.redo else "finished", "undo": "undone"}[result.direction]
    if args.json:
        print(json.dumps({"action": word, "done": result.done, "notes": result.notes,
                          "failed": [list(f) for f in result.failed], "stopped": result.stopped}))
    else:
        say(f"{word}: {counted(result.done, 'file')}")
        for note in result.notes:
            say(f"note: {note}")
        for _, why in result.failed:
            say(f"failed: {why}")
        if result.stopped:
            say(f"stopped: {result.stopped}")
    return 0 if not result.failed and not result.stopped else 1

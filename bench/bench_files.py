"""Benchmark: a journaled, verified copy and move (core/files) against a plain shutil.copy2 loop.

The journal's price is an fsync per file, a verify (size and SHA-256 up to 64 MB), and a
JSON line per step. Photos: the 224 px flower JPEGs of ../shared/data/flowers-224 (about
15 KB), and N phone-size 3 MB files of random bytes. One run, side by side.

    python bench/bench_files.py [--small 2000] [--large 40]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from resnet_gui.core.files.journal import Journal, run_all
from resnet_gui.core.files.plan import plan_transfers

FLOWERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "flowers-224"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(files: list[Path], work: Path) -> dict:
    plain = timed(lambda: [shutil.copy2(f, (work / "plain").mkdir(exist_ok=True) or work / "plain" / f.name)
                           for f in files])
    journal = Journal(work / "j.jsonl")
    copy = timed(lambda: run_all(journal.run(plan_transfers([(f, work / "copy") for f in files]))))
    moved = [work / "copy" / f.name for f in files]
    move = timed(lambda: run_all(journal.run(plan_transfers([(f, work / "moved") for f in moved], move=True))))
    undo = timed(lambda: run_all(journal.undo()))
    journal.close()
    n = len(files)
    return {"files": n, "plain_copy2_ms": round(plain / n * 1000, 2), "journaled_copy_ms": round(copy / n * 1000, 2),
            "journaled_move_ms": round(move / n * 1000, 2), "undo_move_ms": round(undo / n * 1000, 2),
            "copy_ratio": round(copy / plain, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=40)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small = sorted(FLOWERS.rglob("*.jpg"))[: args.small]
        (tmp / "large").mkdir()
        large = []
        for i in range(args.large):
            path = tmp / "large" / f"IMG_{i:04d}.jpg"
            path.write_bytes(os.urandom(3_000_000))
            large.append(path)
        for name, files in (("small_15KB", small), ("phone_3MB", large)):
            (tmp / name).mkdir()
            results[name] = measure(files, tmp / name)
    print(f"{'files':<12}{'n':>6}{'copy2 ms':>10}{'journaled copy':>16}{'move':>8}{'undo move':>11}{'ratio':>7}")
    for name, r in results.items():
        print(f"{name:<12}{r['files']:>6}{r['plain_copy2_ms']:>10}{r['journaled_copy_ms']:>16}"
              f"{r['journaled_move_ms']:>8}{r['undo_move_ms']:>11}{r['copy_ratio']:>7}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

"""Run the fuzz properties of tests/test_fuzz_*.py longer than the test suite does.

    python bench/fuzz.py --examples 500            # every property, 500 random cases each
    python bench/fuzz.py --examples 50 --only weights

Unlike the suite (a fixed seed, a few dozen cases, stop at the first failure), every run
draws new cases and counts failures instead of stopping. Prints a table (property, cases
run, failures, seconds), the first failure of each property, then one JSON line.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
MODULES = ("test_fuzz_images", "test_fuzz_weights", "test_fuzz_walk", "test_fuzz_journal", "test_fuzz_onnx")


def properties(only: str | None):
    sys.path.insert(0, str(TESTS))  # fuzz_support and the test modules live there
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for name in MODULES:
        for prop in importlib.import_module(name).PROPERTIES:
            if not only or only in prop.name:
                yield prop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="random cases per property")
    parser.add_argument("--only", help="run the properties whose name contains this (image, weights, walk)")
    args = parser.parse_args(argv)

    import torchvision  # noqa: F401 - imported once here, not inside the first property's time

    start = time.perf_counter()
    results = []
    print(f"{'property':32} {'cases':>7} {'failures':>8} {'seconds':>8}", flush=True)
    for prop in properties(args.only):
        row = prop.run_long(args.examples)
        results.append(row)
        print(f"{row['property']:32} {row['cases']:7d} {row['failures']:8d} {row['seconds']:8.1f}", flush=True)
    for row in results:
        if row["first_failure"]:
            print(f"first failure of {row['property']}: {row['first_failure']}")
    summary = {"examples": args.examples, "seconds": round(time.perf_counter() - start, 1),
               "cases": sum(r["cases"] for r in results), "failures": sum(r["failures"] for r in results),
               "properties": results}
    print(json.dumps(summary))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())

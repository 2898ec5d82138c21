"""What the fuzz tests share with ``bench/fuzz.py``: a :class:`Property` runs as a short,
fixed-seed pytest test and as a longer job that counts cases and failures.

Every example runs in its own temp folder (the working directory too), and a snapshot
taken before the call must match after it: a parser only ever reads.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption

# The suite's runs: a fixed seed (derandomize), no example database, no deadline (a
# loaded machine must not fail a test), health checks that only flag slow generation off.
QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
         HealthCheck.large_base_example]
SUITE = settings(deadline=None, derandomize=True, database=None, suppress_health_check=QUIET, print_blob=False)


@dataclass
class Property:
    name: str  # shown in bench/fuzz.py's table
    check: Callable  # check(**drawn): returns, or raises AssertionError (or anything else) on a violation
    strategies: dict = field(default_factory=dict)  # keyword -> hypothesis strategy
    examples: int = 20  # cases in the test suite
    # The suite's strategies where they must differ from the bench's (e.g. smaller inputs).
    suite_strategies: dict | None = None

    def test(self) -> Callable:
        """The pytest test: ``examples`` cases from a fixed seed."""

        def run(args):
            self.check(**args)

        run.__name__ = "fuzz_" + self.name.replace(" ", "_")
        drawn = st.fixed_dictionaries(self.suite_strategies or self.strategies)
        return settings(SUITE, max_examples=self.examples)(given(args=drawn)(run))

    def run_long(self, examples: int) -> dict:
        """Run ``examples`` random cases without stopping at a failure; count and time them."""
        counts = {"property": self.name, "cases": 0, "failures": 0, "seconds": 0.0, "first_failure": None}

        def counted(args):
            try:
                self.check(**args)
            except UnsatisfiedAssumption:  # not a case (e.g. a mode the format cannot store)
                raise
            except Exception as exc:  # noqa: BLE001 - counting every kind is the point
                counts["failures"] += 1
                if counts["first_failure"] is None:
                    counts["first_failure"] = f"{type(exc).__name__}: {str(exc)[:200]} <- {_short(args)}"
            counts["cases"] += 1

        start = time.perf_counter()
        # Generation only: no shrinking (failures are caught here) and no database.
        runner = settings(SUITE, max_examples=examples, derandomize=False, phases=[Phase.generate])(
            given(args=st.fixed_dictionaries(self.strategies))(counted))
        runner()
        counts["seconds"] = round(time.perf_counter() - start, 2)
        return counts


def _short(args: dict) -> str:
    return {k: (repr(v)[:120] + "..." if len(repr(v)) > 120 else v) for k, v in args.items()}.__repr__()


def _snapshot(folder: Path) -> dict:
    """Every entry under ``folder``: kind, size and modification time (links not followed)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st_ = os.lstat(path)
            found[os.path.relpath(path, folder)] = (st_.st_mode, st_.st_size, st_.st_mtime_ns)
    return found


@contextlib.contextmanager
def sandbox():
    """A fresh temp folder, also the working directory, removed afterwards (permissions restored)."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as name:
        box = Path(name)
        os.chdir(box)
        try:
            yield box
        finally:
            os.chdir(old)
            for dirpath, dirnames, _ in os.walk(box):
                for d in dirnames:
                    with contextlib.suppress(OSError):
                        if not os.path.islink(os.path.join(dirpath, d)):
                            os.chmod(os.path.join(dirpath, d), 0o755)


def on_file(name: str, data: bytes, expect: Callable):
    """``expect(path)`` on a file holding ``data``, alone in a fresh sandbox."""
    with sandbox() as box:
        path = box / name
        path.write_bytes(data)
        return expect(path)


@contextlib.contextmanager
def read_only(box: Path):
    """Assert that the code inside writes nothing in ``box`` (inputs and working directory)."""
    before = _snapshot(box)
    yield
    after = _snapshot(box)
    assert after == before, f"wrote under the sandbox: {sorted(set(after) ^ set(before))[:5]}"


def one_line(exc: BaseException) -> None:
    """The app's own errors are one line a user can read."""
    text = str(exc)
    assert text.strip() and "\n" not in text and "Traceback" not in text, repr(text)

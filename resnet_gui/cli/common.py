"""What every command shares: one-line errors with an exit code, argument types."""

from __future__ import annotations

import argparse
import sys


def fail(message: str, code: int = 2) -> int:
    """Print ``error: message`` on stderr and return ``code`` (2: unusable input)."""
    print(f"error: {message}", file=sys.stderr)
    return code


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value

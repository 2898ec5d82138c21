"""What every command shares: one-line errors with an exit code, safe text out, argument types."""

from __future__ import annotations

import argparse
import sys

from ..core.text import terminal_safe


def fail(message: str, code: int = 2) -> int:
    """Print ``error: message`` on stderr and return ``code`` (2: unusable input)."""
    say(f"error: {message}", sys.stderr)
    return code


def say(text: str, file=None, **print_kwargs) -> None:
    """Print one human-readable line. Class and file names inside come from untrusted
    files, so control and bidi characters are shown escaped and cannot steer the terminal."""
    print(terminal_safe(text), file=file or sys.stdout, **print_kwargs)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value

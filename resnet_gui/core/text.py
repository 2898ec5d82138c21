"""Untrusted text made safe to show or export: class names, file names, error texts.

Names come from files anyone can make (a checkpoint, a ``class_indices.json``, a folder
tree), so they may hold terminal escapes, fake line breaks or spreadsheet formulas.
"""

from __future__ import annotations

import re

# C0 controls (incl. \t \n \r ESC), DEL and C1 controls (0x9b is a one-byte CSI on some
# terminals), the bidi embeddings/overrides/isolates that reorder what is shown
# ("Trojan Source"), and the marks and separators that act like them.
_UNSAFE_FOR_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# OWASP's rule for CSV injection: a cell a spreadsheet could read as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def terminal_safe(text: object) -> str:
    """``text`` with every control or bidi character written as a visible escape (``\\x1b``,
    ``\\n``, ``\\u202e``), so it prints on one line and cannot steer the terminal."""
    return _UNSAFE_FOR_TERMINAL.sub(_escape, str(text))


def csv_safe(text: object) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a leading
    single quote (OWASP). Only for untrusted text, never for the app's own number cells."""
    text = str(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 photo', '2 photos' (``plural`` for nouns that take more than an s)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"

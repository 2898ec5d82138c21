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


# The bidi controls alone: what reorders the text shown after them ("evil\u202eGPJ.exe").
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\udc80-\udcff]")


def _unsurrogate(text: str) -> str:
    """File names that are not valid UTF-8 reach Python as lone surrogates (os.fsdecode); no
    encoder writes those, so each stands as the escape of its byte (``\\xff``)."""
    return _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def terminal_safe(text: object) -> str:
    """``text`` with every control or bidi character written as a visible escape (``\\x1b``,
    ``\\n``, ``\\u202e``), and bytes that are not UTF-8 as ``\\xff``, so it prints on one
    line and cannot steer the terminal."""
    return _UNSAFE_FOR_TERMINAL.sub(_escape, _unsurrogate(str(text)))


def csv_safe(text: object) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a leading
    single quote (OWASP); bidi controls and bytes that are not UTF-8 are written as visible
    escapes, as in the terminal. Only for untrusted text, never for the app's own number cells."""
    text = _BIDI.sub(_escape, _unsurrogate(str(text)))
    return "'" + text if text.startswith(_FORMULA_START) else text


def display_safe(text: object) -> str:
    """Untrusted text for a window label: a text holding bidi controls has them removed and
    is isolated (U+2068 ... U+2069), so nothing in it reorders what is shown after it; bytes
    that are not UTF-8 as ``\\xff``. Other text is shown as it is."""
    text = _unsurrogate(str(text))
    return "\u2068" + _BIDI.sub("", text) + "\u2069" if _BIDI.search(text) else text


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 photo', '2 photos' (``plural`` for nouns that take more than an s)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"

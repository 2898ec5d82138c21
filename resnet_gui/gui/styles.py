"""The window's few colours and style sheets, named once (banners, warnings, refusals).

Colours come in (background, border, text) triples: light tints with dark text, readable
on the light and the dark Fusion palettes alike.
"""

from __future__ import annotations

import html

OK = ("#e6f4ea", "#8cc79b", "#1e5e2f")  # green: finished
WARN = ("#fff4e0", "#f0c987", "#7a4b00")  # amber: cancelled, imbalanced, skipped files
ERROR = ("#fde8e8", "#eeb0b0", "#8a1c1c")  # red: failed, refused

MUTED_STYLE = "color: palette(dark);"


def box_style(colours: tuple[str, str, str], padding: int = 4) -> str:
    """A QLabel style sheet: a tinted box with a thin border."""
    background, border, text = colours
    return (f"QLabel {{ background: {background}; border: 1px solid {border}; "
            f"border-radius: 3px; padding: {padding}px; color: {text}; }}")


WARN_STYLE = box_style(WARN)
ERROR_STYLE = box_style(ERROR)


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip shown verbatim: Qt guesses rich text from anything tag-like, and
    names and paths from the user's folders may look like tags."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>" if text else ""

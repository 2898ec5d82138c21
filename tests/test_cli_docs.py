"""docs/cli.md's synopsis names exactly the options each command's parser takes, so the two
cannot drift apart: a new option must be documented, a dropped one must leave the docs."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from resnet_gui.cli import add_gui_arguments, build_parser

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)(?: ([a-z0-9]+(?:\|[a-z0-9]+)+)\b)?")


def synopsis() -> dict[str, str]:
    """The indented block at the top of cli.md, as {command: its lines}; comments dropped."""
    lines = CLI_MD.read_text(encoding="utf-8").split("\n## ")[0].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    resnet-gui "))
    by_command: dict[str, str] = {}
    command = ""
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        text = line.split("#")[0].strip()
        if text.startswith("resnet-gui "):
            word = text.split()[1]
            command = "gui" if word.startswith(("[", "--")) else word
        by_command[command] = by_command.get(command, "") + " " + text
    return by_command


def parsers() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    found = dict(sub.choices)
    found["gui"] = argparse.ArgumentParser()
    add_gui_arguments(found["gui"])
    return found


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def test_every_command_has_a_synopsis():
    assert set(synopsis()) == set(parsers())


@pytest.mark.parametrize("command", sorted(parsers()))
def test_synopsis_names_exactly_the_parsers_options(command):
    text = synopsis()[command]
    written = {m.group(1): m.group(2) for m in OPTION.finditer(text)}
    actions = options(parsers()[command])
    missing = [a.option_strings[-1] for a in actions if not set(a.option_strings) & set(written)]
    assert not missing, f"docs/cli.md's synopsis of {command} lacks {missing}"
    known = {s for a in actions for s in a.option_strings}
    assert not set(written) - known, f"docs/cli.md names options {command} does not take: {set(written) - known}"
    for action in actions:
        for name in action.option_strings:
            if written.get(name):  # "--engine auto|torch|...": the choices, all of them
                assert written[name].split("|") == list(action.choices), (command, name)

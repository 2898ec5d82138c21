"""Paths and names (issue 25, items 9 and 10): deep trees, paths beyond PATH_MAX, names that are
not UTF-8 in a CSV, long names for --cam overlays, argparse's own error line, bidi overrides."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from resnet_gui.cli import main
from resnet_gui.core.data.images import iter_image_files
from resnet_gui.core.text import csv_safe, display_safe, terminal_safe


def test_a_tree_1200_folders_deep_is_walked(tmp_path, make_images):
    photo = make_images(1, folder=tmp_path / "src")[0]
    (tmp_path / "tree").mkdir()
    fd = os.open(tmp_path / "tree", os.O_RDONLY)
    for _ in range(1200):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    out = os.open("p.png", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
    os.write(out, photo.read_bytes())
    os.close(out)
    os.close(fd)
    try:
        found = list(iter_image_files([tmp_path / "tree"]))
        assert len(found) == 1 and found[0].name == "p.png" and len(found[0].parts) > 1200
    finally:
        _remove_chain(tmp_path / "tree", "d", "p.png")


def _remove_chain(top: Path, name: str, leaf: str) -> None:
    """Remove a chain of folders of any depth without recursion (Python 3.11's rmtree, which
    pytest cleans its temp folders with, recurses once per level and would fail on this one)."""
    fds = [os.open(top, os.O_RDONLY)]
    while name in os.listdir(fds[-1]):
        fds.append(os.open(name, os.O_RDONLY, dir_fd=fds[-1]))
    os.unlink(leaf, dir_fd=fds[-1])
    os.close(fds.pop())
    while fds:
        os.rmdir(name, dir_fd=fds[-1])
        os.close(fds.pop())


def _beyond_path_max(root: Path, photo: Path) -> int:
    """Folders of 250-byte names, made relative to each other (an absolute path that long cannot
    be passed to mkdir), with ``photo`` copied to the bottom; returns the bottom path's length."""
    fd = os.open(root, os.O_RDONLY)
    length = len(os.fsencode(root))
    try:
        while length < 4200:
            name = "n" * 250
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd, length = inner, length + 251
        out = os.open("p.png", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
        os.write(out, photo.read_bytes())
        os.close(out)
    finally:
        os.close(fd)
    return length


def test_a_path_beyond_path_max_is_reported_as_skipped(tmp_path, make_images, tiny_weights, capsys):
    photo = make_images(1, folder=tmp_path / "src")[0]
    root = tmp_path / "tree"
    root.mkdir()
    shutil.copy(photo, root / "ok.png")
    assert _beyond_path_max(root, photo) > 4096
    found = list(iter_image_files([root]))
    assert found[0] == root / "ok.png" and len(found) == 2 and len(os.fsencode(found[1])) > 4000
    assert main(["classify", "--weights", str(tiny_weights), "--engine", "torch", str(root)]) == 0
    captured = capsys.readouterr()
    assert "skipped 1" in captured.err and "Traceback" not in captured.err
    assert "too long" in captured.out.lower() + captured.err.lower()


def test_names_that_are_not_utf8_are_escaped_in_the_csv(tmp_path, make_images, tiny_weights, capsys):
    photo = make_images(1, folder=tmp_path / "album")[0]
    os.rename(photo, os.fsencode(tmp_path / "album") + b"/bad\xff\xfe.png")
    out = tmp_path / "r.csv"
    assert main(["classify", "--weights", str(tiny_weights), "--engine", "torch", "--csv", str(out),
                 str(tmp_path / "album")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0].endswith("bad\\xff\\xfe.png")


def test_a_long_photo_name_gets_a_shorter_heatmap_name(tmp_path, make_images, tiny_weights, capsys):
    photo = make_images(1, folder=tmp_path / "album")[0]
    long_name = photo.with_name("é" * 123 + "a.png")  # 251 bytes
    photo.rename(long_name)
    assert len(os.fsencode(long_name.name)) == 251
    assert main(["classify", "--weights", str(tiny_weights), "--engine", "torch", "--cam", str(tmp_path / "cams"),
                 str(long_name)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    written = list((tmp_path / "cams").iterdir())
    assert len(written) == 1 and written[0].suffix == ".png" and len(os.fsencode(written[0].name)) <= 210


def test_argparse_error_lines_are_escaped(capsys):
    with pytest.raises(SystemExit) as info:
        main(["classify", "--bogus\x1b[2J\u202e\nFAKE", "photo.jpg"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    error = [line for line in err.splitlines() if "error:" in line]
    assert len(error) == 1 and "\\x1b[2J\\u202e\\nFAKE" in error[0]
    assert "\x1b" not in err and "\u202e" not in err


EVIL = "evil\u202eGPJ.exe"


def test_bidi_overrides_are_escaped_or_isolated_everywhere():
    assert terminal_safe(EVIL) == "evil\\u202eGPJ.exe"
    assert csv_safe(EVIL) == "evil\\u202eGPJ.exe"
    shown = display_safe(EVIL)
    assert shown == "\u2068evilGPJ.exe\u2069"  # isolated, the override gone
    assert display_safe("daisy") == "daisy"  # ordinary names are shown as they are
    for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c":
        inner = display_safe(f"a{control}b")
        assert inner[0] == "\u2068" and inner[-1] == "\u2069" and control not in inner[1:-1]


def test_the_model_bar_isolates_a_hostile_class_name(qtbot):
    from resnet_gui.core.model.checkpoint import ModelInfo
    from resnet_gui.gui.classify.model_bar import ModelBar

    bar = ModelBar()
    qtbot.addWidget(bar)
    bar.show_model(ModelInfo(arch="resnet18", class_names=[EVIL, "b"], source="/x/model.pt"), "cpu")
    text = bar.text.text()
    assert "\u202e" not in text and "\u2068evilGPJ.exe\u2069" in text

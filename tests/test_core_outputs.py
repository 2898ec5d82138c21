"""Outputs are refused unless they are a regular file or do not exist yet, in a writable folder:
``os.replace`` would otherwise swap out a device (``train --out /dev/null`` as root) or a FIFO."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from resnet_gui.cli import main
from resnet_gui.core.atomic import OutputError, atomic_write, check_output_file


def _hostile(tmp_path: Path, kind: str) -> tuple[Path, callable]:
    """An output path that is not a regular file, and a check that it is still what it was."""
    path = tmp_path / f"out-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
        return path, lambda: stat.S_ISFIFO(os.lstat(path).st_mode)
    if kind == "devnull-link":  # judged by its target: the device
        path.symlink_to("/dev/null")
        return path, lambda: path.is_symlink() and os.readlink(path) == "/dev/null"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return path, lambda: stat.S_ISSOCK(os.lstat(path).st_mode)


KINDS = ["fifo", "devnull-link", "socket"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_shared_check_and_atomic_write_refuse_non_regular_files(tmp_path, kind):
    path, intact = _hostile(tmp_path, kind)
    with pytest.raises(OutputError, match="not a regular file"):
        check_output_file(path)
    with pytest.raises(OutputError, match="not a regular file"):
        with atomic_write(path) as handle:
            handle.write(b"x")
    assert intact() and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_device_is_refused_without_touching_it():
    with pytest.raises(OutputError, match="not a regular file"):
        check_output_file("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_regular_files_and_new_names_still_pass(tmp_path):
    (tmp_path / "old.pt").write_bytes(b"old")
    with atomic_write(tmp_path / "old.pt") as handle:
        handle.write(b"new")
    assert (tmp_path / "old.pt").read_bytes() == b"new"
    assert check_output_file(tmp_path / "new" / "model.pt") == tmp_path / "new" / "model.pt"


def test_a_long_output_name_gets_a_temp_name_that_fits(tmp_path):
    name = "é" * 120 + ".csv"  # 244 bytes: the temp name must stay under 255
    with atomic_write(tmp_path / name, "w") as handle:
        handle.write("x")
    assert (tmp_path / name).read_text() == "x"


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.mark.parametrize("kind", KINDS)
def test_every_command_refuses_such_an_output(tmp_path, capsys, kind, tiny_weights, make_images):
    photos = tmp_path / "data"
    for name in ("red", "green", "blue"):
        make_images(2, folder=photos / name)
    path, intact = _hostile(tmp_path, kind)
    commands = [
        ["train", str(photos), "--out", str(path), "--epochs", "1", "--arch", "resnet18", "--mode", "full",
         "--device", "cpu"],
        ["calibrate", str(tiny_weights), str(photos), "--out", str(path), "--device", "cpu"],
        ["export", str(tiny_weights), "--out", str(path)],
        ["classify", "--weights", str(tiny_weights), "--csv", str(path), str(photos)],
    ]
    for argv in commands:
        assert main(argv) == 2, argv
        assert "regular file" in _one_error_line(capsys), argv
        assert intact(), argv


def test_cam_and_sort_refuse_what_is_in_the_way(tmp_path, capsys, tiny_weights, make_images):
    make_images(2)
    (tmp_path / "cams").mkdir()
    os.mkfifo(tmp_path / "cams" / "heatmap.png")  # the probe name of the heatmap folder
    assert main(["classify", "--weights", str(tiny_weights), "--engine", "torch", "--cam", str(tmp_path / "cams"),
                 str(tmp_path / "images")]) == 2
    assert "regular file" in _one_error_line(capsys)
    (tmp_path / "out").mkdir()
    for name in ("red", "green", "blue", "_unsure"):
        os.mkfifo(tmp_path / "out" / name)
    assert main(["sort", str(tmp_path / "images"), "--into", str(tmp_path / "out"), "--weights", str(tiny_weights),
                 "--min-confidence", "0"]) == 2
    assert "not a folder" in _one_error_line(capsys)
    assert all(stat.S_ISFIFO(os.lstat(p).st_mode) for p in (tmp_path / "out").iterdir())

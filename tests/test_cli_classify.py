"""``resnet-gui classify`` and ``download`` end to end, as a user runs them.

Most tests run the command in-process through ``main(argv)`` (the same parser and code, a
second instead of a new interpreter each); the few that need a real process (its exit status,
what a user's terminal receives) go through ``run_process``."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import torch
from PIL import Image

from resnet_gui.cli import build_parser, main
from resnet_gui.core.results_csv import write_predictions_csv
from resnet_gui.core.infer import Prediction


def run_process(*args, cwd=None, env_extra=None) -> subprocess.CompletedProcess:
    """The command in a new interpreter, as from a shell."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="2")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "resnet_gui", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


def run_cli(*args, env_extra=None) -> subprocess.CompletedProcess:
    """The command in this process through ``main(argv)``: the same result shape as ``run_process``.
    An exception that escapes the command fails the test (a real process would print a traceback)."""
    argv = list(map(str, args))
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env_extra or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(["resnet-gui", *argv], code, out.getvalue(), err.getvalue())


@pytest.fixture
def album(tmp_path, make_images):
    """Four good images in a folder tree plus the kinds of bad files users have."""
    root = tmp_path / "album"
    make_images(2, folder=root, fmt="png")
    make_images(2, size=(300, 200), folder=root / "trip", fmt="jpg")
    (root / "trip" / "zz_empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("I am not a picture")
    (root / "readme.txt").write_text("ignored: not an image extension")
    (root / ".thumbs").mkdir()
    Image.new("RGB", (8, 8)).save(root / ".thumbs" / "t.png")
    return root


def test_table_output_and_exit_code_with_skipped_files(album, tiny_weights):
    result = run_process("classify", "--weights", tiny_weights, "--device", "cpu", "--topk", "2", album)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 6
    by_name = {Path(line.split("\t")[0]).name: line for line in lines}
    assert set(by_name) == {"img_000.png", "img_001.png", "notes.jpg", "img_000.jpg", "img_001.jpg", "zz_empty.jpg"}
    assert "SKIPPED" in by_name["notes.jpg"] and "SKIPPED: empty file" in by_name["zz_empty.jpg"]
    assert any(name in by_name["img_000.png"] for name in ("red", "green", "blue"))  # sidecar class names
    assert "%" in by_name["img_000.png"]
    assert "classified 4 images, skipped 2" in result.stderr


def test_json_output(album, tiny_weights):
    result = run_cli("classify", "--weights", tiny_weights, "--device", "cpu", "--json", "--topk", "5",
                     "--batch-size", "3", album)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 6
    good = [r for r in rows if "topk" in r]
    bad = [r for r in rows if "error" in r]
    assert len(good) == 4 and len(bad) == 2
    for row in good:
        assert len(row["topk"]) == 3  # clamped to the 3 classes
        assert {label for label, _ in row["topk"]} == {"red", "green", "blue"}
        assert sum(p for _, p in row["topk"]) == pytest.approx(1.0, abs=1e-4)
    assert all(set(r) == {"path", "error"} and r["error"] for r in bad)
    # stable order: the same as the folder scan
    again = run_cli("classify", "--weights", tiny_weights, "--device", "cpu", "--json", album)
    assert [json.loads(line)["path"] for line in again.stdout.splitlines()] == [r["path"] for r in rows]


def test_csv_output(album, tiny_weights, tmp_path):
    out = tmp_path / "results.csv"
    result = run_cli("classify", "--weights", tiny_weights, "--device", "cpu", "--topk", "2", "--csv", out, album)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # the table only with -v
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    assert list(rows[0]) == ["path", "label_1", "prob_1", "label_2", "prob_2", "error"]
    good = [r for r in rows if not r["error"]]
    assert len(good) == 4
    for r in good:
        assert r["label_1"] in {"red", "green", "blue"} and float(r["prob_1"]) >= float(r["prob_2"]) > 0
    skipped = [r for r in rows if r["error"]]
    assert all(r["label_1"] == "" for r in skipped)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_csv_into_missing_folder_fails_before_the_run(album, tiny_weights, tmp_path):
    result = run_cli("classify", "--weights", tiny_weights, "--csv", tmp_path / "no" / "such" / "r.csv", album)
    assert result.returncode != 0
    assert "folder does not exist" in result.stderr


def test_csv_that_is_a_folder_fails_before_the_run_in_one_line(album, tiny_weights, tmp_path):
    result = run_cli("classify", "--weights", tiny_weights, "--csv", tmp_path, album)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: {tmp_path} is a folder; give a file name, e.g. {tmp_path}/results.csv"
    assert "classified" not in result.stderr


@pytest.mark.parametrize("content,expected", [
    (b"", "empty"),
    (b"not weights at all", "not a PyTorch weights file"),
    ("evil", "refused"),
])
def test_bad_weights_exit_non_zero_with_one_line(album, tmp_path, content, expected):
    weights = tmp_path / "bad.pth"
    if content == "evil":
        marker = tmp_path / "PWNED"

        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        torch.save({"state_dict": Evil()}, weights)
    else:
        weights.write_bytes(content)
    result = run_cli("classify", "--weights", weights, album)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "PWNED").exists()


def test_missing_weights_and_arch_mismatch(album, tiny_weights, tmp_path):
    result = run_cli("classify", "--weights", tmp_path / "nope.pth", album)
    assert result.returncode != 0 and "no such file" in result.stderr and len(result.stderr.splitlines()) == 1
    result = run_cli("classify", "--weights", tiny_weights, "--arch", "resnet50", album)
    assert result.returncode != 0 and "you chose resnet50" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_device(album, tiny_weights):
    result = run_cli("classify", "--weights", tiny_weights, "--device", "cuda", album)
    assert result.returncode != 0 and "CUDA was requested but is not available" in result.stderr


def test_no_images_found(tmp_path, tiny_weights):
    (tmp_path / "empty_dir").mkdir()
    result = run_cli("classify", "--weights", tiny_weights, tmp_path / "empty_dir")
    assert result.returncode != 0 and "no image files found" in result.stderr


def test_argument_validation():
    parser = build_parser()
    for bad in (["--batch-size", "0"], ["--topk", "0"], ["--workers", "-1"], ["--device", "tpu"], ["--arch", "vgg"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["classify", *bad, "x.jpg"])
    args = parser.parse_args(["classify", "--weights", "w.pth", "--arch", "resnet34", "--topk", "3", "--device", "cpu",
                              "--batch-size", "8", "a.jpg", "folder"])
    assert (args.arch, args.topk, args.device, args.batch_size, args.paths) == ("resnet34", 3, "cpu", 8, ["a.jpg", "folder"])


def test_download_command_over_local_http(tmp_path):
    import functools
    import hashlib
    import http.server
    import threading

    import torchvision

    src = tmp_path / "srv" / "tmp.pth"
    src.parent.mkdir()
    torch.save(torchvision.models.resnet18(num_classes=2).state_dict(), src)
    named = src.with_name(f"resnet18-{hashlib.sha256(src.read_bytes()).hexdigest()[:8]}.pth")
    src.rename(named)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(named.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tmp_path / "th"
    try:
        result = run_cli("download", "resnet18", "--url", f"http://127.0.0.1:{server.server_address[1]}/{named.name}",
                         env_extra={"TORCH_HOME": str(home)})
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == home / "hub" / "checkpoints" / named.name
    assert "MB" in result.stderr
    result = run_cli("download", "resnet18", "--url", "http://127.0.0.1:9/resnet18-f37072fd.pth",
                     env_extra={"TORCH_HOME": str(home)})
    assert result.returncode == 2 and "could not download" in result.stderr and "Errno" not in result.stderr


@pytest.mark.parametrize("url", ["file:///etc/passwd", "data:,hello", "ftp://example.com/r.pth",
                                 "http://example.com/r.pth"])
def test_download_refuses_other_schemes(tmp_path, url):
    home = tmp_path / "th"
    result = run_cli("download", "resnet18", "--url", url, env_extra={"TORCH_HOME": str(home)})
    assert result.returncode == 2 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: refused") and "only https://" in lines[0]
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))


def test_csv_writer_unit(tmp_path):
    preds = [Prediction(0, "a,b.jpg", topk=[("x", 0.75), ("y", 0.25)]), Prediction(1, "c.jpg", error="empty file")]
    path = write_predictions_csv(tmp_path / "o.csv", preds, topk=3)
    rows = list(csv.reader(open(path, newline="", encoding="utf-8")))
    assert rows[1] == ["a,b.jpg", "x", "0.750000", "y", "0.250000", "", "", ""]
    assert rows[2] == ["c.jpg", "", "", "", "", "", "", "empty file"]


# Hostile names: class names from a sidecar, file and folder names, all shown by the CLI.
EVIL_NAMES = ["\x1b[2Jevil", "a\nFAKE ROW 100.0%", "=cmd|' /C calc'!A0"]
UNSAFE_CHARS = "\x1b\x07\x9b\u202e\u2066"


@pytest.fixture
def evil_weights(tmp_path):
    """A 3-class resnet18 whose class_indices.json holds terminal escapes, a newline and a formula;
    the weights file name itself holds an escape (it shows in the 'model:' and 'note:' lines)."""
    import torchvision

    folder = tmp_path / "evil_model"
    folder.mkdir()
    torch.manual_seed(0)
    path = folder / "w\x1b]0;pwned\x07.pth"
    torch.save(torchvision.models.resnet18(num_classes=3).state_dict(), path)
    (folder / "class_indices.json").write_text(json.dumps({str(i): n for i, n in enumerate(EVIL_NAMES)}))
    (folder / (path.stem + ".json")).write_text(json.dumps(["only", "two"]))  # gives a 'note:' line
    return path


@pytest.fixture
def evil_album(tmp_path, make_images):
    root = tmp_path / "evil_album"
    good = make_images(2, folder=root)
    good[0].rename(root / "line\nbreak\u202e.png")
    good[1].rename(root / "-=1+1\t\x1b[31m.png")
    (root / "bad\x1b[2J.png").write_text("not a picture")
    return root


def test_hostile_names_in_table_and_csv(evil_weights, evil_album, tmp_path):
    """One run, two outputs (-v: the table with --csv): escaped on the terminal, exact but inert in the CSV."""
    out = tmp_path / "r.csv"
    result = run_cli("classify", "--weights", evil_weights, "--device", "cpu", "--topk", "3", "-v", "--csv", out,
                     evil_album)
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert not any(c in stream for c in UNSAFE_CHARS), repr(stream)
    rows = result.stdout.splitlines()
    assert len(rows) == 3 and all(row.count("\t") == 1 for row in rows)  # no fake rows or columns
    assert sum("FAKE ROW" in row for row in rows) == 2  # inside the two good rows, not a row of its own
    assert "\\x1b[2Jevil" in result.stdout and "a\\nFAKE ROW" in result.stdout
    assert any(row.startswith(str(evil_album / "line\\nbreak\\u202e.png")) for row in rows)
    assert any("bad\\x1b[2J.png\tSKIPPED" in row for row in rows)
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes and "w\\x1b]0;pwned\\x07.json" in notes[0]
    assert "model: resnet18" in result.stderr and "w\\x1b]0;pwned\\x07.pth" in result.stderr
    _check_csv(out)


def test_json_keeps_names_exact(evil_weights, evil_album):
    result = run_cli("classify", "--weights", evil_weights, "--device", "cpu", "--json", "--topk", "3", evil_album)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    assert {label for r in rows if "topk" in r for label, _ in r["topk"]} == set(EVIL_NAMES)
    assert str(evil_album / "line\nbreak\u202e.png") in {r["path"] for r in rows}


def test_error_lines_are_escaped(tmp_path):
    missing = tmp_path / "no\x1b[2Jsuch\n.pth"
    result = run_process("classify", "--weights", missing, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "no\\x1b[2Jsuch\\n.pth" in lines[0]


def test_train_progress_and_skipped_lines_are_escaped(tmp_path, make_images):
    data = tmp_path / "data"
    make_images(4, folder=data / "\x1b[2Jcat", size=(40, 40))
    make_images(4, folder=data / "dog\u202e\nFAKE", size=(40, 40))
    (data / "dog\u202e\nFAKE" / "broken\x1b[31m.png").write_text("not a picture")
    result = run_cli("train", data, "--out", tmp_path / "m.pt", "--from", "scratch", "--epochs", "1",
                     "--image-size", "32", "--batch-size", "4", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert not any(c in stream for c in UNSAFE_CHARS), repr(stream)
    assert "skipped " in result.stderr and "broken\\x1b[31m.png" in result.stderr
    per_class = [line for line in result.stdout.splitlines() if line.startswith("per-class")]
    assert per_class and "\\x1b[2Jcat" in per_class[0] and "dog\\u202e\\nFAKE" in per_class[0]


def _check_csv(out):
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["path", "label_1", "prob_1", "label_2", "prob_2", "label_3", "prob_3", "error"]
    good = [r for r in rows[1:] if not r[-1]]
    assert len(good) == 2
    for row in good:
        assert "'=cmd|' /C calc'!A0" in row[1::2]
        assert "\x1b[2Jevil" in row[1::2] and "a\nFAKE ROW 100.0%" in row[1::2]  # CSV keeps text exact
        assert all(0 <= float(p) <= 1 for p in row[2:-1:2])  # number cells stay numbers
    assert any(Path(r[0]).name == "-=1+1\t\x1b[31m.png" for r in rows)  # only a path that starts so gets a quote


def test_csv_writer_neutralises_every_formula_start(tmp_path):
    starts = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"]
    preds = [Prediction(i, s, topk=[(s, 0.5)], error=None) for i, s in enumerate(starts)]
    preds.append(Prediction(99, "-rf.jpg", error="=cannot decode"))
    preds.append(Prediction(100, "ok.jpg", topk=[("a-b", 1.0), ("1e3", 0.0)]))
    path = write_predictions_csv(tmp_path / "o.csv", preds, topk=2)
    rows = list(csv.reader(open(path, newline="", encoding="utf-8")))[1:]
    for row, text in zip(rows, starts):
        assert row[:3] == ["'" + text, "'" + text, "0.500000"]
    assert rows[-2] == ["'-rf.jpg", "", "", "", "", "'=cannot decode"]
    assert rows[-1] == ["ok.jpg", "a-b", "1.000000", "1e3", "0.000000", ""]  # untouched: no formula start

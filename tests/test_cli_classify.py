"""``resnet-gui classify`` and ``download`` end to end, as a user runs them (subprocess)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from resnet_gui.cli import build_parser
from resnet_gui.core.export import write_predictions_csv
from resnet_gui.core.infer import Prediction


def run_cli(*args, cwd=None, env_extra=None):
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="2")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "resnet_gui", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


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
    result = run_cli("classify", "--weights", tiny_weights, "--device", "cpu", "--topk", "2", album)
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


def test_download_command_with_local_url(tmp_path):
    import hashlib

    import torchvision

    src = tmp_path / "tmp.pth"
    torch.save(torchvision.models.resnet18(num_classes=2).state_dict(), src)
    named = tmp_path / f"resnet18-{hashlib.sha256(src.read_bytes()).hexdigest()[:8]}.pth"
    src.rename(named)
    home = tmp_path / "th"
    result = run_cli("download", "resnet18", "--url", named.as_uri(), env_extra={"TORCH_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == home / "hub" / "checkpoints" / named.name
    assert "MB" in result.stderr
    result = run_cli("download", "resnet18", "--url", "http://127.0.0.1:9/resnet18-f37072fd.pth",
                     env_extra={"TORCH_HOME": str(home)})
    assert result.returncode != 0 and "could not download" in result.stderr


def test_csv_writer_unit(tmp_path):
    preds = [Prediction(0, "a,b.jpg", topk=[("x", 0.75), ("y", 0.25)]), Prediction(1, "c.jpg", error="empty file")]
    path = write_predictions_csv(tmp_path / "o.csv", preds, topk=3)
    rows = list(csv.reader(open(path, newline="", encoding="utf-8")))
    assert rows[1] == ["a,b.jpg", "x", "0.750000", "y", "0.250000", "", "", ""]
    assert rows[2] == ["c.jpg", "", "", "", "", "", "", "empty file"]

"""``resnet-gui export`` and ``classify --engine``: the engine that ran is named, bad .onnx
files and impossible choices end in one line with exit code 2."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision
from PIL import Image

from resnet_gui.cli import build_parser, main
from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint

# The flags land with a small edit of cli/__init__.py and cli/classify.py (issue 14), held
# back while those files were being edited by others: until then these tests skip.
_WIRED = "export" in build_parser()._subparsers._group_actions[0].choices
pytestmark = pytest.mark.skipif(not _WIRED, reason="resnet-gui export / classify --engine not wired into the CLI yet")


@pytest.fixture
def model(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_GUI_CACHE_DIR", str(tmp_path / "cache"))
    torch.manual_seed(0)
    info = ModelInfo("resnet18", ["cat", "dog"], image_size=32, resize_size=37)
    return save_checkpoint(tmp_path / "pets.pt", torchvision.models.resnet18(num_classes=2), info)


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.effect_noise((50 + 9 * i, 40), 40).convert("RGB").save(folder / f"{i}.jpg")
    return folder


def test_export_then_classify_the_onnx_file(model, photos, tmp_path, capsys):
    out = tmp_path / "pets.onnx"
    assert main(["export", str(model), "--format", "onnx", "--out", str(out), "--check", str(photos)]) == 0
    assert "top-1 agreement 100.0%" in capsys.readouterr().err and out.is_file()
    assert main(["classify", "--weights", str(out), "--json", "--topk", "2", str(photos)]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert len(rows) == 3 and all({label for label, _ in r["topk"]} == {"cat", "dog"} for r in rows)
    assert "engine: onnxruntime fp32 on cpu (pets.onnx)" in captured.err


def test_classify_pt_on_each_engine_names_it(model, photos, capsys):
    for engine, said in (("torch", "engine: torch fp32 on cpu"), ("onnxruntime", "converted now, cached"),
                         ("auto", "cached conversion of pets.pt"), ("openvino", "engine: openvino fp32")):
        assert main(["classify", "--weights", str(model), "--engine", engine, "--device", "cpu", str(photos)]) == 0
        assert said in capsys.readouterr().err, engine


def test_bad_onnx_and_impossible_choices_end_in_one_line(model, photos, tmp_path, capsys):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07" + b"\xff" * 100)
    for argv in (["classify", "--weights", str(broken), str(photos)],
                 ["export", str(model), "--int8"],
                 ["export", str(broken)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    out = tmp_path / "pets.onnx"
    assert main(["export", str(model), "--out", str(out)]) == 0
    assert main(["classify", "--weights", str(out), "--engine", "torch", str(photos)]) == 2
    assert "not torch" in capsys.readouterr().err

"""The export pipeline end to end: fp32 with its parity check, int8 calibrated on a photo
folder and judged on the rest, and the rule that refuses int8 with the numbers."""

from __future__ import annotations

import pytest
import torch
import torchvision
from PIL import Image

from files_support import run_steps
from resnet_gui.core.engines.onnx_model import read_onnx
from resnet_gui.core.engines.pipeline import ExportError, export_model
from resnet_gui.core.engines.quantize import Int8Verdict, QuantizeError, check_verdict, split_photos
from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint

CLASSES = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    info = ModelInfo("resnet18", CLASSES, image_size=32, resize_size=37)
    return save_checkpoint(tmp_path_factory.mktemp("int8") / "tiny.pt", torchvision.models.resnet18(num_classes=3), info)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """3 labeled classes x 16 photos: colour plus grain, as class subfolders."""
    folder = tmp_path_factory.mktemp("photos")
    for c, colour in enumerate([(200, 40, 40), (40, 180, 60), (40, 70, 210)]):
        (folder / CLASSES[c]).mkdir()
        for i in range(16):
            noise = Image.effect_noise((40 + i, 36), 30 + i).convert("RGB")
            Image.blend(Image.new("RGB", noise.size, colour), noise, 0.3).save(folder / CLASSES[c] / f"{i}.jpg")
    return folder


def test_fp32_export_reports_its_parity(checkpoint, photos, tmp_path):
    lines, result = run_steps(export_model(checkpoint, tmp_path / "m.onnx", check=photos))
    assert result.parity.images == 48 and result.parity.agreement == 1.0 and result.parity.max_prob_diff < 1e-4
    assert any("top-1 agreement 100.0%" in line for line in lines)
    assert read_onnx(result.out).info.class_names == CLASSES


def test_int8_is_written_only_when_the_rule_accepts_it(checkpoint, photos, tmp_path):
    out = tmp_path / "m.int8.onnx"
    try:
        lines, result = run_steps(export_model(checkpoint, out, int8=True, calibrate=photos))
    except QuantizeError as exc:  # refused: the numbers are in the message, nothing written
        assert "agreement" in str(exc) and "accuracy fp32" in str(exc) and not out.exists()
    else:
        assert result.verdict.accepted and result.verdict.images == 24 and read_onnx(out).precision == "int8"
        assert result.verdict.fp32_accuracy is not None  # class subfolders give accuracy too


def test_the_refusal_rule():
    check_verdict(Int8Verdict(500, 0.99, 0.876, 0.870))  # 0.6 point lower, 99 % agreement: kept
    with pytest.raises(QuantizeError, match="int8 refused.*agreement 96.0%"):
        check_verdict(Int8Verdict(500, 0.96, 0.876, 0.876))
    with pytest.raises(QuantizeError, match="accuracy fp32 87.6%, int8 86.4%"):
        check_verdict(Int8Verdict(500, 0.98, 0.876, 0.864))
    check_verdict(Int8Verdict(500, 0.975, None, None))  # unlabeled photos: agreement only


def test_too_few_photos_and_int8_without_photos(checkpoint, tmp_path):
    (tmp_path / "few").mkdir()
    Image.new("RGB", (40, 40)).save(tmp_path / "few" / "a.png")
    with pytest.raises(QuantizeError, match="1 photos; int8 calibration needs at least 40"):
        split_photos(tmp_path / "few", CLASSES)
    with pytest.raises(ExportError, match="int8 needs photos"):
        run_steps(export_model(checkpoint, tmp_path / "x.onnx", int8=True))

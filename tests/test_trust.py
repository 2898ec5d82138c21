"""Issue 16 items 1-2: "not one of my classes" (out-of-class score and threshold) and honest
confidence (temperature), fitted, stored in checkpoints, reported by classify, on tiny models
and real files made here."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnet_gui.core.model.checkpoint import ModelInfo, WeightsError, checkpoint_dict, save_checkpoint, save_torch
from resnet_gui.core.model.loading import load_model
from resnet_gui.core.trust.calibration import ece, fit_temperature, nll, softmax
from resnet_gui.core.trust.fit import fit_trust
from resnet_gui.core.trust.record import NOT_AVAILABLE
from resnet_gui.core.trust.scores import auroc

CLASSES = ["blue", "green", "red"]
COLOURS = {"red": (200, 30, 30), "green": (30, 180, 40), "blue": (30, 40, 210)}


def clusters(rng, n_per_class: int, width: int = 32, spread: float = 0.4, centres=None):
    """Features around one centre per class (or ``centres``), with their labels."""
    centres = rng.normal(0, 1, (3, width)) if centres is None else centres
    labels = np.repeat(np.arange(len(centres)), n_per_class)
    return centres[labels] + rng.normal(0, spread, (len(labels), width)), labels, centres


def logits_of(features, centres):
    return (features @ centres.T).astype(np.float32)


def fitted(method="knn", seed=0, width=32):
    rng = np.random.default_rng(seed)
    fit_x, fit_y, centres = clusters(rng, 100, width)
    held_x, held_y, _ = clusters(rng, 100, width, centres=centres)
    trust = fit_trust(fit_x, fit_y, logits_of(held_x, centres), held_x, held_y, 3, method=method, k=5)
    return trust, rng, centres


@pytest.mark.parametrize("method", ["knn", "mahalanobis", "energy", "msp"])
def test_threshold_passes_95_percent_of_in_class_photos(method):
    trust, rng, centres = fitted(method)
    assert 0.95 <= trust.pass_rate < 0.96 and trust.photos == 300
    fresh_x, _, _ = clusters(rng, 300, centres=centres)  # photos from the same classes, never seen
    passed = (trust.scores(logits_of(fresh_x, centres), fresh_x) <= trust.threshold).mean()
    assert 0.90 <= passed <= 0.99


@pytest.mark.parametrize("method", ["knn", "mahalanobis"])
def test_ood_score_separates_a_far_away_cluster(method):
    trust, rng, centres = fitted(method)
    near_x, _, _ = clusters(rng, 50, centres=centres)
    far_x = rng.normal(0, 1, (150, 32)) + 6 * rng.normal(0, 1, (1, 32))  # one cluster, far from all classes
    near, far = trust.scores(logits_of(near_x, centres), near_x), trust.scores(logits_of(far_x, centres), far_x)
    assert auroc(near, far) > 0.99
    assert (far > trust.threshold).mean() > 0.95  # unknown


def test_temperature_lowers_nll_of_an_over_confident_model():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, 2000)
    logits = rng.normal(0, 1, (2000, 5))
    right = rng.random(2000) < 0.7  # 70 % right...
    logits[np.arange(2000), np.where(right, labels, (labels + 1) % 5)] += 2.0
    logits *= 6.0  # ...but sure of every answer
    t = fit_temperature(logits, labels)
    assert t > 2.0
    assert nll(logits, labels, t) < nll(logits, labels) - 0.5
    assert ece(softmax(logits, t), labels) < 0.1 < 0.2 < ece(softmax(logits), labels)


def test_a_handful_of_held_out_photos_keeps_the_temperature_near_one():
    """One sure mistake among 4 photos pushes the plain NLL fit to T = 3.3 (every answer much
    less sure); the prior pulls it toward 1, and is invisible on many photos."""
    logits = np.array([[6.0, 0, 0], [0, 6.0, 0], [0, 0, 6.0], [6.0, 0, 0]])
    labels = np.array([0, 1, 2, 1])  # the last one: sure of class 0, truly class 1
    plain, with_prior = fit_temperature(logits, labels, prior_sd=None), fit_temperature(logits, labels)
    assert 1.0 < with_prior < plain - 0.5
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 5, 1000)
    logits = rng.normal(0, 1, (1000, 5)) * 4
    logits[np.arange(1000), labels] += 3.0
    assert fit_temperature(logits, labels) == pytest.approx(fit_temperature(logits, labels, prior_sd=None), rel=0.01)


def test_ece_of_perfectly_calibrated_and_of_sure_but_wrong():
    probs = np.array([[1.0, 0.0]] * 10)
    assert ece(probs, np.zeros(10, int)) == 0.0
    assert ece(probs, np.ones(10, int)) == pytest.approx(1.0)


# ------------------------------------------------------------------ checkpoints


def tiny_model(width_classes=3):
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=width_classes).eval()


def trusted_info(method="knn"):
    rng = np.random.default_rng(0)
    fit_x, fit_y, centres = clusters(rng, 40, width=960)
    held_x, held_y, _ = clusters(rng, 20, width=960, centres=centres)
    trust = fit_trust(np.abs(fit_x), fit_y, logits_of(held_x, centres), np.abs(held_x), held_y, 3, method=method)
    return ModelInfo("resnet18", list(CLASSES), image_size=32, resize_size=37, trust=trust)


@pytest.mark.parametrize("method", ["knn", "mahalanobis", "energy"])
def test_checkpoint_round_trip_keeps_the_trust_data(tmp_path, method):
    info = trusted_info(method)
    save_checkpoint(tmp_path / "m.pt", tiny_model(), info, half=True)
    back = load_model(tmp_path / "m.pt").info.trust
    stored = torch.load(tmp_path / "m.pt", weights_only=True)["trust"]
    assert back.method == method and back.threshold == info.trust.threshold
    assert back.temperature == info.trust.temperature and back.ece_after == info.trust.ece_after
    if method == "knn":
        assert stored["bank"].dtype == torch.float16 and np.array_equal(back.bank, info.trust.bank)
    if method == "mahalanobis":
        assert np.allclose(back.precision, info.trust.precision)
    from resnet_gui.core.model.checkpoint import save_safetensors

    save_safetensors(tmp_path / "m.safetensors", tiny_model(), info)
    again = load_model(tmp_path / "m.safetensors").info.trust
    assert again.describe() == back.describe()


def test_a_model_without_trust_data_loads_and_says_so(tmp_path, make_images):
    from resnet_gui.core.infer import Classifier, classify_files

    save_checkpoint(tmp_path / "plain.pt", tiny_model(), ModelInfo("resnet18", list(CLASSES), 32, 37))
    classifier = Classifier(load_model(tmp_path / "plain.pt"), "cpu")
    assert classifier.trust is None and classifier.trust_notes == [NOT_AVAILABLE]
    pred = next(classify_files(classifier, make_images(1)))
    assert pred.ood_score is None and pred.unknown is None
    assert pred.to_json()["ood_score"] is None and "unknown" in pred.to_json()


def _malformed(meta):
    nan = float("nan")
    yield "NaN temperature", {**meta, "temperature": nan}, "temperature must be a number"
    yield "huge temperature", {**meta, "temperature": 1e6}, "temperature must be a number"
    yield "bank with NaN", {**meta, "bank": torch.full((4, 960), nan, dtype=torch.float16)}, "NaN"
    yield "bank of 3 dimensions", {**meta, "bank": torch.zeros(2, 4, 960, dtype=torch.float16)}, "dimensions"
    yield "bank too large", {**meta, "bank": torch.zeros(5000, 960, dtype=torch.float16)}, "shape"
    yield "bank of integers", {**meta, "bank": torch.zeros(4, 960, dtype=torch.int32)}, "float16 or float32"
    yield "bank missing", {k: v for k, v in meta.items() if k != "bank"}, "bank must be"
    yield "k beyond the bank", {**meta, "k": 10_000}, "k must be"
    yield "unknown method", {**meta, "method": "oracle"}, "unknown method"
    yield "newer version", {**meta, "version": 99}, "version"
    yield "other features", {**meta, "features": "penultimate"}, "features"
    yield "not a dictionary", [1, 2], "dictionary"


@pytest.mark.parametrize("case", range(12))
def test_malformed_trust_data_is_refused_in_one_line(tmp_path, case):
    info = trusted_info()
    checkpoint = checkpoint_dict(tiny_model().state_dict(), info)
    name, meta, expected = list(_malformed(checkpoint["trust"]))[case]
    save_torch({**checkpoint, "trust": meta}, tmp_path / "bad.pt")
    with pytest.raises(WeightsError) as raised:
        load_model(tmp_path / "bad.pt")
    text = str(raised.value)
    assert "\n" not in text and text.startswith("bad.pt: its out-of-class data is malformed") and expected in text, name


def test_malformed_json_bank_is_refused(tmp_path):
    from resnet_gui.core.model.checkpoint import save_safetensors

    info = trusted_info()
    path = save_safetensors(tmp_path / "m.safetensors", tiny_model(), info)
    data = path.read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_len])
    meta = json.loads(header["__metadata__"]["resnet_gui"])
    meta["trust"]["bank"]["shape"] = [10 ** 9, 960]  # a claimed shape bigger than allowed: refused before decoding
    header["__metadata__"]["resnet_gui"] = json.dumps(meta)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + header_len:])
    with pytest.raises(WeightsError, match="bank has shape"):
        load_model(path)


def test_a_bank_that_does_not_fit_the_model_is_ignored_with_a_note(tmp_path):
    from resnet_gui.core.infer import Classifier

    info = trusted_info()
    info.trust.bank = info.trust.bank[:, :100]
    save_checkpoint(tmp_path / "m.pt", tiny_model(), info)
    classifier = Classifier(load_model(tmp_path / "m.pt"), "cpu")
    assert classifier.trust is None and "does not fit this model" in classifier.trust_notes[0]


# ------------------------------------------------------------------ calibrate, classify, engines, training


def labeled_folder(root, per_class=14, classes=CLASSES, size=40):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        base = np.array(COLOURS.get(name, (120, 120, 120)), dtype=np.float32)
        for i in range(per_class):
            pixels = base + rng.normal(0, 35, (size, size, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(root / name / f"{name}_{i:02d}.png")
    return root


def calibrate_cli(*argv):
    from resnet_gui.cli import calibrate

    parser = argparse.ArgumentParser()
    calibrate.add_parser(parser.add_subparsers())
    args = parser.parse_args(["calibrate", *map(str, argv)])
    return args.func(args)


@pytest.fixture
def plain_model(tmp_path):
    return save_checkpoint(tmp_path / "plain.pt", tiny_model(), ModelInfo("resnet18", list(CLASSES), 32, 37), half=True)


@pytest.fixture
def calibrated(tmp_path, plain_model, capsys):
    data = labeled_folder(tmp_path / "data")
    before = plain_model.read_bytes()
    # --no-int8: these tests read the fp32 model; the twin has its own test below
    assert calibrate_cli(plain_model, data, "--val-split", "0.5", "--device", "cpu", "--no-int8") == 0
    out = capsys.readouterr().out
    assert "int8 twin" not in out
    assert "out-of-class detection: mahalanobis" in out and "plain.calibrated.pt" in out
    assert plain_model.read_bytes() == before  # the input is never touched
    return tmp_path / "plain.calibrated.pt"


def test_calibrate_writes_a_new_checkpoint_with_trust(calibrated, plain_model):
    loaded = load_model(calibrated)
    trust = loaded.info.trust
    assert trust is not None and trust.photos == 21 and trust.pass_rate >= 0.95
    assert "data" in trust.fitted_on and "/" not in trust.fitted_on.split(" (")[0]  # the folder's name only
    stored = torch.load(calibrated, weights_only=True)["state_dict"]
    assert stored["fc.weight"].dtype == torch.float16  # fp16 storage kept
    plain = load_model(plain_model).model.state_dict()
    assert all(torch.equal(v, plain[k]) for k, v in loaded.model.state_dict().items())


def test_calibrate_then_makes_the_twin_of_what_it_wrote(tmp_path, plain_model, capsys):
    from resnet_gui.core.engines.twin import has_twin

    data = labeled_folder(tmp_path / "data")
    assert calibrate_cli(plain_model, data, "--val-split", "0.5", "--device", "cpu") == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    out = tmp_path / "plain.calibrated.pt"
    if has_twin(out):  # checked on the 21 held-out photos of calibrate's own split
        assert last.startswith("int8 twin plain.calibrated.int8.onnx: ") and "on 21 validation photos" in last
    else:  # a random tiny model: int8 may well disagree, and then the line says so with the numbers
        assert last.startswith("int8 twin not made (int8 refused: int8 vs fp32 on 21 held-out photos")
        assert not (tmp_path / "plain.calibrated.int8.onnx").exists()


def test_calibrate_refuses_mismatched_classes_with_both_lists(tmp_path, plain_model, capsys):
    data = labeled_folder(tmp_path / "other", classes=["blue", "green", "cyan"])
    assert calibrate_cli(plain_model, data, "--val-split", "0.5") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model (3): blue, green, red" in err[0] and "folder (3): blue, cyan, green" in err[0]
    assert not (tmp_path / "plain.calibrated.pt").exists()


def test_calibrate_gives_an_unnamed_model_the_folders_names_when_the_counts_match(tmp_path, capsys):
    placeholders = ["class 0", "class 1", "class 2"]  # a plain state_dict without a names file reads so
    unnamed = save_checkpoint(tmp_path / "unnamed.pt", tiny_model(), ModelInfo("resnet18", placeholders, 32, 37))
    assert calibrate_cli(unnamed, labeled_folder(tmp_path / "data"), "--val-split", "0.5", "--device", "cpu") == 0
    out = capsys.readouterr().out
    assert "it now uses the folder's names, in order: blue, green, red" in out
    assert load_model(tmp_path / "unnamed.calibrated.pt").info.class_names == CLASSES
    # other counts: still refused, with both lists
    assert calibrate_cli(unnamed, labeled_folder(tmp_path / "two", classes=["blue", "red"]), "--out",
                         tmp_path / "two.pt") == 2
    assert "model (3): class 0, class 1, class 2; folder (2): blue, red" in capsys.readouterr().err


def test_calibrate_refuses_a_folder_that_cannot_be_trained_on_like_train(tmp_path, plain_model, capsys):
    from resnet_gui.core.data.datasets import DatasetError, scan_labeled_folder

    data = tmp_path / "one_class"
    labeled_folder(data, per_class=3, classes=["red"])
    with pytest.raises(DatasetError) as train_says:
        scan_labeled_folder(data)
    assert calibrate_cli(plain_model, data) == 2
    assert capsys.readouterr().err.strip() == f"error: {train_says.value}"
    assert calibrate_cli(tmp_path / "missing.pt", data) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_classify_json_and_csv_carry_the_fields(calibrated, tmp_path, capsys):
    from resnet_gui.cli import classify

    parser = argparse.ArgumentParser()
    classify.add_parser(parser.add_subparsers())
    photos = labeled_folder(tmp_path / "photos", per_class=2)
    far = tmp_path / "photos" / "far.png"
    Image.effect_noise((40, 40), 120).convert("RGB").save(far)
    args = parser.parse_args(["classify", "--weights", str(calibrated), "--engine", "torch", "--device", "cpu",
                              "--json", str(photos)])
    assert args.func(args) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 7 and all(isinstance(r["ood_score"], float) and isinstance(r["unknown"], bool) for r in rows)
    probs = [p for _, p in rows[0]["topk"]]
    assert sum(probs) == pytest.approx(1.0, abs=1e-4)
    args = parser.parse_args(["classify", "--weights", str(calibrated), "--engine", "torch", "--device", "cpu",
                              "--csv", str(tmp_path / "out.csv"), str(photos)])
    assert args.func(args) == 0
    table = list(csv.DictReader(open(tmp_path / "out.csv", newline="")))
    assert all(r["unknown"] in ("true", "false") and float(r["ood_score"]) >= 0 for r in table)


def test_probabilities_use_the_stored_temperature(calibrated, make_images):
    from resnet_gui.core.infer import Classifier, classify_files

    loaded = load_model(calibrated)
    t = loaded.info.trust.temperature
    files = make_images(2)
    shown = [p.topk for p in classify_files(Classifier(loaded, "cpu"), files, topk=3)]
    loaded.info.trust = None
    raw = [p.topk for p in classify_files(Classifier(loaded, "cpu"), files, topk=3)]
    for scaled, plain in zip(shown, raw):
        logits = np.log([p for _, p in plain])
        expected = softmax(logits[None, :], t)[0]
        assert [p for _, p in scaled] == pytest.approx(sorted(expected, reverse=True), abs=1e-5)


def test_onnx_engine_and_torch_agree_on_the_ood_score(calibrated, tmp_path, make_images):
    from resnet_gui.core.engines.export import export_onnx
    from resnet_gui.core.engines.runtimes import open_engine
    from resnet_gui.core.infer import Classifier, classify_files

    loaded = load_model(calibrated)
    engine = open_engine(export_onnx(loaded, tmp_path / "m.onnx"))
    assert engine.trust is not None and engine.trust_notes == []
    files = make_images(6) + list(labeled_folder(tmp_path / "photos", per_class=2).rglob("*.png"))
    by_torch = list(classify_files(Classifier(loaded, "cpu"), files, topk=3))
    by_onnx = list(classify_files(engine, files, topk=3))
    for a, b in zip(by_torch, by_onnx):
        assert b.ood_score == pytest.approx(a.ood_score, rel=1e-4, abs=1e-5) and a.unknown == b.unknown
        assert [p for _, p in b.topk] == pytest.approx([p for _, p in a.topk], abs=1e-5)


def test_csv_writer_adds_the_columns_only_when_scores_exist(tmp_path):
    from resnet_gui.core.results_csv import write_predictions_csv
    from resnet_gui.core.infer import Prediction

    preds = [Prediction(0, "a.jpg", [("red", 0.9)], ood_score=1.25, unknown=True), Prediction(1, "b.jpg", error="bad")]
    rows = list(csv.reader(open(write_predictions_csv(tmp_path / "o.csv", preds, 1), newline="")))
    assert rows == [["path", "label_1", "prob_1", "ood_score", "unknown", "error"],
                    ["a.jpg", "red", "0.900000", "1.250000", "true", ""], ["b.jpg", "", "", "", "", "bad"]]
    plain = [Prediction(0, "a.jpg", [("red", 0.9)])]
    assert list(csv.reader(open(write_predictions_csv(tmp_path / "p.csv", plain, 1))))[0][-1] == "error"


def test_training_stores_trust_and_reports_ece(tmp_path):
    from resnet_gui.core.train.config import TrainConfig
    from resnet_gui.core.train.events import Calibrated, Done
    from resnet_gui.core.train.fine_tune import fine_tune

    data = labeled_folder(tmp_path / "data", per_class=10)
    cfg = TrainConfig(data_dir=str(data), out=str(tmp_path / "model.pt"), arch="resnet18", start="scratch",
                      mode="full", epochs=1, image_size=32, batch_size=8, val_split=0.3, workers=1)
    events = list(fine_tune(cfg))
    calibrated = next(e for e in events if isinstance(e, Calibrated))
    done = events[-1]
    assert isinstance(done, Done) and done.reason == "completed"
    assert calibrated.photos == 9 and 0 <= calibrated.ece_after <= 1 and calibrated.temperature > 0
    assert "expected calibration error" in done.message
    trust = load_model(tmp_path / "model.pt").info.trust
    assert trust.temperature == pytest.approx(calibrated.temperature)
    # the score looks at the ImageNet teacher's features when it is installed, else at the model's own
    assert trust.means.shape == ((3, 1280) if trust.uses_teacher else (3, 960))


def test_export_leaves_the_model_in_eval_mode(calibrated, tmp_path):
    from resnet_gui.core.engines.export import export_onnx

    loaded = load_model(calibrated)
    export_onnx(loaded, tmp_path / "m.onnx")
    assert not any(m.training for m in loaded.model.modules())  # BatchNorm keeps its running statistics

"""The review of a training folder (core/review): likely mislabeled photos from out-of-fold
predictions, duplicates and train/validation leakage, and ``resnet-gui review``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnet_gui.cli import review as review_cli
from resnet_gui.core.model.checkpoint import ModelInfo, save_checkpoint
from resnet_gui.core.review.duplicates import DuplicateGroup, duplicate_groups, file_digests
from resnet_gui.core.review.features import extract_features
from resnet_gui.core.review.folder import ReviewError, ReviewReport, check_classes, review_folder
from resnet_gui.core.review.mislabeled import (WEIGHT_DECAYS, confident_joint, find_label_issues, fit_linear_head,
                                               label_quality, out_of_fold_probs)
from resnet_gui.core.model.loading import load_model


def drain(generator):
    """Run a core generator to its end; returns (events, return value)."""
    events = []
    while True:
        try:
            events.append(next(generator))
        except StopIteration as stop:
            return events, stop.value


def separable(n_per_class=60, classes=3, dim=256, flips=9, seed=0):
    """Features in well-separated class clusters, with ``flips`` labels changed at random."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 3
    truth = np.repeat(np.arange(classes), n_per_class)
    x = (centres[truth] + rng.normal(size=(len(truth), dim)) * 2).astype(np.float32)
    given = truth.copy()
    flipped = rng.choice(len(truth), flips, replace=False)
    given[flipped] = (truth[flipped] + rng.integers(1, classes, flips)) % classes
    return x, given, set(flipped.tolist())


def test_flips_rank_at_the_top_out_of_fold_and_beat_in_sample():
    x, given, flipped = separable()
    _, probs = drain(out_of_fold_probs(x, given, 3))
    order = np.argsort(label_quality(given, probs))
    assert set(order[:len(flipped)].tolist()) == flipped  # every flip ranks above every correct label
    issues = find_label_issues(given, probs)
    assert flipped <= set(np.flatnonzero(issues).tolist()) and issues.sum() <= len(flipped) + 2
    assert (probs[list(flipped)].argmax(1) != given[list(flipped)]).all()  # suggested: not the given class

    # A head asked about the photos it was trained on (more dimensions than photos: it can
    # memorise them) has learned the flips: it predicts their wrong labels, and confident
    # learning on its own probabilities misses most of them.
    z = (x - x.mean(0)) / x.std(0)
    w, b = fit_linear_head(z, given, 3, weight_decay=0.0, steps=300)
    own = torch.softmax(torch.as_tensor(z) @ w + b, 1).numpy()
    rows = sorted(flipped)
    assert (own[rows].argmax(1) == given[rows]).all()
    assert find_label_issues(given, own)[rows].sum() < len(flipped) // 2


def test_out_of_fold_keeps_the_weight_decay_with_the_lowest_cross_entropy():
    # Few photos, many noisy features: the weakest decay overfits, a stronger one generalises.
    x, given, _ = separable(n_per_class=25, dim=512, flips=6, seed=3)
    x += np.random.default_rng(4).normal(size=x.shape).astype(np.float32) * 6
    rows = np.arange(len(given))
    _, chosen = drain(out_of_fold_probs(x, given, 3))
    losses = {}
    for decay in WEIGHT_DECAYS:
        _, alone = drain(out_of_fold_probs(x, given, 3, weight_decays=(decay,)))
        losses[decay] = -np.log(alone[rows, given]).mean()
        if np.allclose(alone, chosen, atol=2e-3):
            picked = decay
    assert losses[picked] == min(losses.values())
    assert losses[min(WEIGHT_DECAYS)] > losses[picked]


def test_out_of_fold_can_be_cancelled():
    x, given, _ = separable()
    events, probs = drain(out_of_fold_probs(x, given, 3, should_stop=lambda: True))
    assert probs is None and events


def test_confident_learning_matches_cleanlab():
    cleanlab_filter = pytest.importorskip("cleanlab.filter")
    from cleanlab.count import compute_confident_joint

    rng = np.random.default_rng(1)
    for _ in range(8):
        n, k = int(rng.integers(80, 600)), int(rng.integers(2, 6))
        truth = np.arange(n) % k
        given = np.where(rng.random(n) < 0.1, rng.integers(0, k, n), truth)
        logits = rng.normal(size=(n, k)) + 3 * rng.random() * np.eye(k)[truth]
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        ours = find_label_issues(given, probs)
        theirs = cleanlab_filter.find_label_issues(given, probs, n_jobs=1)
        assert (ours == theirs).all()
        assert np.abs(confident_joint(given, probs) - compute_confident_joint(given, probs)).sum() <= 2


def test_confident_learning_by_hand():
    # 3 photos of each class, one "a" photo the model is sure is "b"; class thresholds are the
    # mean probability of each class among its own photos.
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.05, 0.95], [0.1, 0.9], [0.2, 0.8], [0.15, 0.85]])
    given = np.array([0, 0, 0, 1, 1, 1])
    assert find_label_issues(given, probs).tolist() == [False, False, True, False, False, False]
    assert label_quality(given, probs).tolist() == [0.9, 0.8, 0.05, 0.9, 0.8, 0.85]


# --- real files ----------------------------------------------------------------------------

def picture(seed: int, size=(160, 120)) -> Image.Image:
    """A smooth random picture: blobs of colour, different for every seed."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def tiny_model(tmp_path: Path, classes: list[str]) -> Path:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=len(classes))
    return save_checkpoint(tmp_path / "tiny.pt", model, ModelInfo("resnet18", classes, image_size=64, resize_size=73))


@pytest.fixture
def folder_with_copies(tmp_path):
    """train/ and val/ folders of classes a and b; one photo copied byte for byte within train,
    one resized and re-encoded into val (leakage)."""
    root = tmp_path / "data"
    for split, seeds in (("train", range(0, 12)), ("val", range(100, 104))):
        for i in seeds:
            cls = "a" if i % 2 else "b"
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            picture(i).save(root / split / cls / f"p{i}.jpg", quality=92)
    shutil.copyfile(root / "train/a/p1.jpg", root / "train/a/p1 copy.jpg")
    picture(3).resize((96, 72)).save(root / "val/a/p3 small.jpg", quality=60)
    return root


def test_exact_and_resized_copies_are_grouped_distinct_photos_are_not(folder_with_copies, tmp_path):
    root = folder_with_copies
    weights = tiny_model(tmp_path, ["a", "b"])
    events, report = drain(review_folder(root, weights, folds=3))
    assert any(e.total and e.done == e.total for e in events)
    groups = {frozenset(Path(p).name for p in g.paths): g for g in report.duplicates}
    assert set(groups) == {frozenset({"p1.jpg", "p1 copy.jpg"}), frozenset({"p3.jpg", "p3 small.jpg"})}
    exact, near = groups[frozenset({"p1.jpg", "p1 copy.jpg"})], groups[frozenset({"p3.jpg", "p3 small.jpg"})]
    assert exact.kind == "exact" and not exact.leaks  # both in train
    assert near.kind == "near" and near.leaks and sorted(near.splits) == ["train", "val"]
    assert report.leaks == [near]
    assert len(report.items) == 18 and {it.split for it in report.items} == {"train", "val"}
    scores = [it.score for it in report.items]
    assert scores == sorted(scores) and all(0 <= s <= 1 for s in scores)
    assert sum(map(sum, report.confusion)) == 18
    cells = {it.path for it in report.cell("a", "a") + report.cell("a", "b")}
    assert cells == {it.path for it in report.items if it.given == "a"} and len(cells) == 10


def test_duplicates_from_thumbnails_directly(tmp_path):
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"d{i}.png")
        picture(i).save(paths[-1])
    picture(4).resize((120, 90)).convert("L").convert("RGB").save(tmp_path / "grey.jpg", quality=70)
    paths.append(tmp_path / "grey.jpg")
    loaded = load_model(tiny_model(tmp_path, ["a", "b"]))
    _, found = drain(extract_features(loaded, paths))
    _, digests = drain(file_digests(paths))
    groups = duplicate_groups(paths, digests, found.thumbs)
    assert [sorted(Path(p).name for p in g.paths) for g in groups] == [["d4.png", "grey.jpg"]]
    assert groups[0].splits is None and not groups[0].leaks


def test_the_pair_search_stops_between_blocks_when_asked():
    from resnet_gui.core.review.duplicates import similar_pairs

    n = 2100  # two blocks of rows
    thumbs = np.random.default_rng(0).normal(size=(n, 256)).astype(np.float32)
    thumbs[n - 1] = thumbs[0] * 2 + 1  # the same picture, brighter: correlation 1
    assert similar_pairs(thumbs) == [(0, n - 1, pytest.approx(1.0, abs=1e-5))]
    checks = []

    def stop_at_second_check():
        checks.append(1)
        return len(checks) > 1

    assert similar_pairs(thumbs, should_stop=stop_at_second_check) is None and len(checks) == 2
    assert duplicate_groups([f"p{i}" for i in range(n)], [None] * n, thumbs, should_stop=lambda: True) is None


def test_features_skip_unreadable_files_and_cancel(tmp_path):
    good = tmp_path / "good.png"
    picture(0).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a picture")
    loaded = load_model(tiny_model(tmp_path, ["a", "b"]))
    _, found = drain(extract_features(loaded, [bad, good, good]))
    assert found.features.shape == (2, 512) and found.logits.shape == (2, 2) and found.indices == [1, 2]
    assert found.skipped[0][0] == str(bad)
    _, stopped = drain(extract_features(loaded, [good] * 70, batch_size=8, should_stop=lambda: True))
    assert stopped.cancelled and len(stopped.paths) == 8


def test_class_lists_must_match():
    assert check_classes(["b", "a"], ["a", "b"]) == [1, 0]
    with pytest.raises(ReviewError, match=r"model \(2\): daisy, roses; folder \(2\): a, b; review with a model"):
        check_classes(["daisy", "roses"], ["a", "b"])
    with pytest.raises(ReviewError, match="names a class twice"):
        check_classes(["a", "a", "b"], ["a", "b", "a"])


# --- the command ---------------------------------------------------------------------------

def review(*argv) -> int:
    parser = argparse.ArgumentParser(prog="resnet-gui")
    review_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["review", *map(str, argv)])
    return args.func(args)


def test_cli_json_and_text(folder_with_copies, tmp_path, capsys):
    weights = tiny_model(tmp_path, ["a", "b"])
    assert review(folder_with_copies, "--weights", weights, "--json", "--top", "3", "--folds", "3") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [r["type"] for r in rows]
    assert kinds.count("mislabeled") == 3 and kinds.count("duplicates") == 2 and kinds[-1] == "summary"
    first = rows[0]
    assert set(first) >= {"path", "given", "suggested", "score"} and Path(first["path"]).is_file()
    assert rows[-1]["leakage_groups"] == 1
    assert review(folder_with_copies, "--weights", weights, "--folds", "3") == 0
    out, err = capsys.readouterr()
    assert "duplicate groups (2):" in out and "LEAKAGE" in out and "leakage groups: 1" in out
    assert "2 duplicate groups, 1 across train/validation" in err  # the summary line
    assert "unlike any class: out-of-class detection: not available for this model" in out  # no trust data
    assert rows[-1]["unlike"] is None and "unlike" not in kinds


def test_cli_lists_photos_unlike_any_class_from_the_models_own_verdict(folder_with_copies, tmp_path, capsys):
    from resnet_gui.core.model.loading import load_model
    from resnet_gui.core.trust.record import TrustInfo

    plain = load_model(tiny_model(tmp_path, ["a", "b"]))
    # max-softmax: a two-class model is never under 50 % sure, so at threshold -0.75 exactly the
    # photos it gives less than 75 % are "unknown"
    info = dataclasses.replace(plain.info, trust=TrustInfo(method="msp", threshold=-0.75))
    weights = save_checkpoint(tmp_path / "trusting.pt", plain.model, info)
    assert review(folder_with_copies, "--weights", weights, "--json", "--folds", "3") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    unlike = [r for r in rows if r["type"] == "unlike"]
    mislabeled = {r["path"]: r for r in rows if r["type"] == "mislabeled"}
    assert unlike and rows[-1]["unlike"] == len(unlike)
    assert [r["ood_score"] for r in unlike] == sorted((r["ood_score"] for r in unlike), reverse=True)
    assert all(r["ood_score"] > -0.75 and Path(r["path"]).is_file() for r in unlike)
    assert all(r["unknown"] == (r["ood_score"] > -0.75) for r in mislabeled.values())


def test_cli_refusals_are_one_line_exit_2(tmp_path, capsys, folder_with_copies):
    weights = tiny_model(tmp_path, ["a", "b"])
    one_class = tmp_path / "one"
    (one_class / "cats").mkdir(parents=True)
    for i in range(3):
        picture(i).save(one_class / "cats" / f"{i}.png")
    (tmp_path / "other").mkdir()
    other = tiny_model(tmp_path / "other", ["cat", "dog\x1b[31m"])
    cases = [
        ((tmp_path / "missing", "--weights", weights), "not a folder"),
        ((one_class, "--weights", weights), "need at least 2 classes"),  # the same refusal as train
        ((folder_with_copies, "--weights", other), "model (2): cat, dog\\x1b[31m; folder (2): a, b"),
        ((folder_with_copies, "--weights", tmp_path / "nope.pt"), "no such file"),
        ((folder_with_copies / "train", "--weights", weights, "--val-split", "1.5"), "between 0 and 1"),
    ]
    for argv, expected in cases:
        assert review(*argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and expected in err
        assert "\x1b" not in err


def test_summary_says_one_group_in_the_singular():
    group = DuplicateGroup(["x.jpg", "y.jpg"], "exact", 1.0, ["train", "val"])
    text = ReviewReport(["a", "b"], [], [group], [[0, 0], [0, 0]]).summary()
    assert "1 duplicate group, 1 across train/validation" in text


def test_none_photos_are_reviewed_as_a_class_of_their_own(folder_with_copies, tmp_path):
    from resnet_gui.constants import NONE_FOLDER
    from resnet_gui.core.review.folder import review_folder

    for split, seeds in (("train", range(200, 206)), ("val", range(300, 302))):
        (folder_with_copies / split / NONE_FOLDER).mkdir()
        for i in seeds:
            picture(i).save(folder_with_copies / split / NONE_FOLDER / f"n{i}.jpg", quality=92)
    shutil.copyfile(folder_with_copies / "train/a/p1.jpg", folder_with_copies / f"val/{NONE_FOLDER}/p1 again.jpg")
    weights = tiny_model(tmp_path, ["a", "b"])  # the model knows a and b only
    gen = review_folder(folder_with_copies, weights, folds=3)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        report = stop.value
    assert report.classes == ["a", "b", NONE_FOLDER]
    given = [item.given for item in report.items]
    assert given.count(NONE_FOLDER) == 9 and len(report.items) == 18 + 9
    nones = [item for item in report.items if item.given == NONE_FOLDER]
    assert all(0.0 <= item.model_prob <= 0.5 for item in nones)  # 1 - the top of 2 classes
    leaked = [sorted(Path(p).name for p in g.paths) for g in report.duplicates if g.leaks]
    assert ["p1 again.jpg", "p1 copy.jpg", "p1.jpg"] in leaked

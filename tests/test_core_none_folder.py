"""The ``_none`` folder: photos of none of the classes, never a class; outlier exposure in
training and the out-of-class threshold fitted with them (issue 27, item 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from resnet_gui.constants import NONE_FOLDER
from resnet_gui.core.data.datasets import DatasetError, scan_labeled_folder, split_from_csv
from resnet_gui.core.files.dataset import Dataset
from resnet_gui.core.model.loading import load_model
from resnet_gui.core.train.events import DataReady, Done
from resnet_gui.core.trust.fit import MIN_PASS_RATE, fit_trust, separating_threshold
from test_core_training import make_labeled, run, small_cfg


def make_none(root: Path, n: int = 10, size: int = 40) -> Path:
    """Grey noise: none of the colour classes."""
    from PIL import Image

    folder = root / NONE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        pixels = 120 + rng.normal(0, 35, (size, size, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(folder / f"none_{i:02d}.png")
    return folder


def test_scanning_lists_none_photos_apart_never_as_a_class(tmp_path):
    data_dir = make_labeled(tmp_path / "data", per_class=4, classes=("red", "green"))
    make_none(data_dir, 5)
    data = scan_labeled_folder(data_dir)
    assert data.classes == ["green", "red"]
    assert len(data.train) == 8 and all(p.parent.name != NONE_FOLDER for p, _ in data.train)
    assert sorted(p.name for p in data.none_train) == [f"none_{i:02d}.png" for i in range(5)]
    train, val = data.none_split(0.2, seed=0)
    assert len(train) == 4 and len(val) == 1 and not set(train) & set(val)
    assert data.none_split(0.2, seed=0) == (train, val)  # seeded: the same split every run
    assert Dataset(data_dir).class_names() == ["green", "red"]
    assert Dataset(data_dir).none_count() == 5


def test_a_folder_with_one_class_and_none_photos_is_still_refused(tmp_path):
    data_dir = make_labeled(tmp_path / "data", per_class=4, classes=("red",))
    make_none(data_dir, 5)
    with pytest.raises(DatasetError, match=f"need at least 2 classes.*{NONE_FOLDER}/ is not a class"):
        scan_labeled_folder(data_dir)


def test_train_and_val_folders_keep_their_none_photos_where_they_are(tmp_path):
    make_labeled(tmp_path / "data" / "train", per_class=4, classes=("red", "green"))
    make_labeled(tmp_path / "data" / "val", per_class=2, classes=("red", "green"))
    make_none(tmp_path / "data" / "train", 3)
    make_none(tmp_path / "data" / "val", 2)
    data = scan_labeled_folder(tmp_path / "data")
    assert data.classes == ["green", "red"]
    train, val = data.none_split(0.5)
    assert [p.parent.parent.name for p in train] == ["train"] * 3 and [p.parent.parent.name for p in val] == ["val"] * 2


def test_a_split_csv_places_none_photos_by_their_rows(tmp_path):
    data_dir = make_labeled(tmp_path / "data", per_class=4, classes=("red", "green"))
    make_none(data_dir, 3)
    rows = ["split,class,file"] + [f"{'val' if i == 0 else 'train'},{c},{c}_{i:02d}.png"
                                   for c in ("red", "green") for i in range(4)]
    rows.append(f"val,{NONE_FOLDER},none_01.png")
    (tmp_path / "split.csv").write_text("\n".join(rows) + "\n")
    data = split_from_csv(scan_labeled_folder(data_dir), tmp_path / "split.csv")
    assert [p.name for p in data.none_val] == ["none_01.png"]
    assert sorted(p.name for p in data.none_train) == ["none_00.png", "none_02.png"]  # rows it does not name train


def test_separating_threshold_sits_between_class_and_none_scores():
    class_scores = np.linspace(0.0, 1.0, 100)
    none_scores = np.linspace(2.0, 3.0, 20)
    t = separating_threshold(class_scores, none_scores)
    assert 1.0 < t < 2.0  # every class photo passes, every none photo is flagged
    # overlapping: never fewer than MIN_PASS_RATE of class photos pass, however many none photos it would catch
    t = separating_threshold(class_scores, np.linspace(0.0, 0.5, 50))
    assert (class_scores <= t).mean() >= MIN_PASS_RATE


def test_fit_trust_uses_held_out_none_photos_for_the_threshold():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 1, (60, 8)) + 4 * np.eye(8)[0], rng.normal(0, 1, (60, 8)) + 4 * np.eye(8)[1]])
    labels = np.repeat([0, 1], 60)
    logits = np.stack([features[:, 0], features[:, 1]], axis=1)
    none_features = rng.normal(0, 1, (30, 8)) - 4 * np.eye(8)[0] - 4 * np.eye(8)[1]
    none_logits = np.stack([none_features[:, 0], none_features[:, 1]], axis=1)
    plain = fit_trust(features, labels, logits, features, labels, 2)
    fitted = fit_trust(features, labels, logits, features, labels, 2, none_logits=none_logits,
                       none_features=none_features)
    none_scores = fitted.scores(none_logits, none_features)
    assert (none_scores > fitted.threshold).mean() == 1.0
    assert fitted.pass_rate > plain.pass_rate  # far-off none photos: no class photo needs flagging
    few = fit_trust(features, labels, logits, features, labels, 2, none_logits=none_logits[:2],
                    none_features=none_features[:2])
    assert few.threshold == plain.threshold  # too few to say anything: the usual 95 % rule


def test_training_with_none_photos_teaches_them_as_none_of_the_classes(tmp_path):
    data_dir = make_labeled(tmp_path / "data", per_class=12, classes=("red", "green"))
    make_none(data_dir, 10)
    events = run(small_cfg(tmp_path, data_dir, epochs=3))
    ready = next(e for e in events if isinstance(e, DataReady))
    assert ready.classes == ["green", "red"] and sum(ready.train_counts) + sum(ready.val_counts) == 24
    assert f"8 training / 2 validation photos of none of the classes ({NONE_FOLDER}/)" in ready.message
    done = events[-1]
    assert isinstance(done, Done) and done.checkpoint
    info = load_model(done.checkpoint).info
    assert info.class_names == ["green", "red"]  # not a class of the model
    assert "2 photos of none of the classes" in info.trust.fitted_on


def test_outlier_exposure_pushes_none_photos_towards_uniform():
    import torch

    from resnet_gui.core.train.steps import NONE_LABEL, outlier_exposure_loss

    plain = torch.nn.CrossEntropyLoss()
    loss = outlier_exposure_loss(plain, weight=1.0)
    logits = torch.tensor([[4.0, 0.0], [0.0, 0.0], [5.0, -5.0]])
    y = torch.tensor([0, NONE_LABEL, NONE_LABEL])
    uniform_part = -torch.log_softmax(logits[1:], 1).mean(1).mean()
    assert torch.isclose(loss(logits, y), plain(logits[:1], y[:1]) + uniform_part)
    # a confident prediction on a none photo costs more than an even one
    assert float(-torch.log_softmax(logits[2:], 1).mean()) > float(-torch.log_softmax(logits[1:2], 1).mean())
    assert torch.isclose(loss(logits[:1], y[:1]), plain(logits[:1], y[:1]))  # no none rows: the plain loss

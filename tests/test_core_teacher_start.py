"""The teacher-guided start (issue 27): chosen by default when no ImageNet ResNet is cached,
said in words, and run for real: a probe on the teacher's features teaches a ResNet whose
checkpoint is an ordinary one."""

from __future__ import annotations

from pathlib import Path

import pytest

import resnet_gui.core.train.config as config
from resnet_gui.core.model.loading import load_model
from resnet_gui.core.train.config import DISTIL_EPOCHS, TEACHER, TrainConfig, TrainingError, distil_epochs
from resnet_gui.core.train.events import Done, Stage, StartChosen
from resnet_gui.resources import default_weights
from test_core_training import make_labeled, run


def test_without_imagenet_weights_the_default_start_is_the_teacher(monkeypatch):
    monkeypatch.setattr(config, "imagenet_cached", lambda arch: False)
    monkeypatch.setattr(config, "teacher_installed", lambda: True)
    c = TrainConfig(data_dir="d", out="o.pt").resolve()
    assert (c.start, c.mode, c.epochs, c.label_smoothing, c.augment) == (TEACHER, "full", None, 0.0, "distil")
    assert c.student == str(default_weights())  # the shipped model, unless the window passes its own
    assert c.describe_start().startswith("start: teacher-guided (no ImageNet ResNet weights are cached; "
                                         "--from imagenet downloads them once, 45 MB)")  # torchvision's size
    assert f"starts from {default_weights().name}" in c.describe_start()
    mine = TrainConfig(data_dir="d", out="o.pt").resolve(fallback_start="/models/mine.pt")
    assert (mine.start, mine.student) == (TEACHER, "/models/mine.pt")
    chosen = TrainConfig(data_dir="d", out="o.pt", start="scratch").resolve()
    assert chosen.describe_start() == "start: resnet18 from scratch (chosen)"
    with pytest.raises(TrainingError, match="whole network"):
        TrainConfig(data_dir="d", out="o.pt", start=TEACHER, mode="head").resolve()
    monkeypatch.setattr(config, "imagenet_cached", lambda arch: True)  # ImageNet weights first, when at hand
    assert TrainConfig(data_dir="d", out="o.pt").resolve().start == "imagenet"
    # the stored config names the student's file only, never its folder
    stored = TrainConfig(data_dir="/x/d", out="/x/o.pt", start=TEACHER, student="/secret/mine.pt").for_checkpoint()
    assert stored["student"] == "mine.pt"


def test_the_schedule_is_sized_to_the_folder():
    low, high = DISTIL_EPOCHS
    assert distil_epochs(192) == round(config.DISTIL_VIEWS / 192)
    assert distil_epochs(10) == high and distil_epochs(100_000) == low


def test_teacher_guided_training_gives_an_ordinary_resnet(tmp_path):
    pytest.importorskip("resnet_gui.core.teacher")
    data = make_labeled(tmp_path / "data", per_class=8, classes=("red", "blue"))
    cfg = TrainConfig(data_dir=str(data), out=str(tmp_path / "m.pt"), start=TEACHER, student="scratch", epochs=2,
                      image_size=32, batch_size=8, val_split=0.25, workers=1)
    events = run(cfg)
    assert isinstance(events[0], StartChosen) and "teacher-guided (chosen)" in events[0].message
    assert any(isinstance(e, Stage) and e.message.startswith("teacher's head: ") for e in events)
    done = events[-1]
    assert isinstance(done, Done) and done.reason == "completed" and done.checkpoint
    loaded = load_model(done.checkpoint)  # a plain resnet18 checkpoint: no teacher inside
    assert loaded.info.arch == "resnet18" and loaded.info.class_names == ["blue", "red"]
    assert loaded.info.training["start"] == "teacher-guided resnet18 from scratch"
    assert not any("teacher" in k or "_fc" in k for k in loaded.model.state_dict())


def test_the_cli_says_what_the_start_is_and_why(tmp_path, capsys, monkeypatch):
    pytest.importorskip("resnet_gui.core.teacher")
    from resnet_gui.cli import main

    monkeypatch.setattr(config, "imagenet_cached", lambda arch: False)
    data = make_labeled(tmp_path / "data", per_class=6, classes=("red", "blue"))
    assert main(["train", str(data), "--out", str(tmp_path / "m.pt"), "--epochs", "1", "--image-size", "32",
                 "--batch-size", "4", "--val-split", "0.34", "--student", "scratch"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("start: teacher-guided (no ImageNet ResNet weights are cached; --from imagenet downloads")
    assert Path(tmp_path / "m.pt").is_file()


def test_the_estimate_counts_the_teacher_on_every_view():
    from resnet_gui.core.train.estimate import Speed, _teacher_seconds, estimate_run

    plain = Speed("cpu", decode=0.01, forward=0.02, train=0.06, save=0.5)
    taught = Speed("cpu", decode=0.01, forward=0.02, train=0.06, save=0.5, teacher=0.01)
    a, b = estimate_run(plain, "full", 20, 192, 48), estimate_run(taught, "full", 20, 192, 48)
    assert b.seconds - a.seconds == pytest.approx(240 * 0.01 + 20 * 192 * 0.01)  # its head once, then every view
    assert "the teacher's head on 240 photos" in b.breakdown()
    # from the measured forward pass: 0.3 of resnet18's at 224 px, whatever the student and its size
    assert _teacher_seconds(0.1, "resnet18", 224) == pytest.approx(0.03)
    assert _teacher_seconds(0.1 * (160 / 224) ** 2, "resnet18", 160) == pytest.approx(0.03)

"""Fine-tuning core: real training runs on small images made here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resnet_gui.core.model.loading import load_model
from resnet_gui.core.train.config import TrainConfig, TrainingError
from resnet_gui.core.train.events import BatchProgress, DataReady, Done, EpochEnd
from resnet_gui.core.train.fine_tune import fine_tune

COLOURS = {"red": (200, 30, 30), "green": (30, 180, 40), "blue": (30, 40, 210)}


def make_labeled(root: Path, per_class: int = 12, classes=("red", "green", "blue"), size: int = 40) -> Path:
    """Visually distinct classes: noisy images dominated by one colour each."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in classes:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        base = np.array(COLOURS[name], dtype=np.float32)
        for i in range(per_class):
            pixels = base + rng.normal(0, 35, (size, size, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(folder / f"{name}_{i:02d}.png")
    return root


def run(cfg: TrainConfig, stop=None):
    return list(fine_tune(cfg, stop))


def small_cfg(tmp_path: Path, data: Path, **kw) -> TrainConfig:
    base = dict(data_dir=str(data), out=str(tmp_path / "model.pt"), arch="resnet18", start="scratch", mode="full",
                epochs=2, image_size=32, batch_size=8, val_split=0.25, workers=1)
    base.update(kw)
    return TrainConfig(**base)


def test_head_mode_learns_distinct_classes(tmp_path):
    data = make_labeled(tmp_path / "data", per_class=16)
    events = run(small_cfg(tmp_path, data, mode="head", epochs=40, batch_size=16, lr=3e-3))
    done = events[-1]
    assert isinstance(done, Done) and done.reason in ("completed", "early_stopping")
    assert done.best_val_acc >= 0.8  # chance is 1/3
    ready = next(e for e in events if isinstance(e, DataReady))
    assert ready.classes == ["blue", "green", "red"]
    assert sum(ready.val_counts) == 12 and sum(ready.train_counts) == 36
    loaded = load_model(done.checkpoint)
    assert loaded.info.class_names == ["blue", "green", "red"]
    assert loaded.info.image_size == 32
    assert loaded.info.training["best_epoch"] == done.best_epoch
    assert len(loaded.info.training["confusion"]) == 3
    assert set(loaded.info.training["per_class_acc"]) == {"blue", "green", "red"}
    # each validation photo once, with its folder's class and the best epoch's prediction: the
    # confusion matrix's cells, photo by photo
    assert len(done.val_photos) == 12 and len({p for p, _, _ in done.val_photos}) == 12
    assert all(Path(p).parent.name == ready.classes[t] for p, t, _ in done.val_photos)
    cells = [[0] * 3 for _ in range(3)]
    for _, t, p in done.val_photos:
        cells[t][p] += 1
    assert cells == done.confusion


def test_full_mode_trains_and_reports_every_epoch(tmp_path):
    data = make_labeled(tmp_path / "data")
    events = run(small_cfg(tmp_path, data, epochs=3))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert all(0.0 <= e.val_acc <= 1.0 and e.train_loss > 0 for e in epochs)
    batches = [e for e in events if isinstance(e, BatchProgress)]
    assert batches and batches[0].batches == 4  # 27 training images in batches of 8: 8+8+8+3
    done = events[-1]
    assert done.reason == "completed" and len(done.history) == 3
    assert not Path(str(tmp_path / "model.pt") + ".resume").exists()
    loaded = load_model(tmp_path / "model.pt")
    assert loaded.info.arch == "resnet18" and loaded.info.num_classes == 3


def test_cancel_mid_epoch_keeps_the_last_good_checkpoint(tmp_path):
    data = make_labeled(tmp_path / "data")
    seen = []

    def stop():
        # cancel during the second epoch, after one of its batches
        return sum(1 for e in seen if isinstance(e, BatchProgress) and e.epoch == 2) >= 1

    events = []
    for event in fine_tune(small_cfg(tmp_path, data, epochs=5), stop):
        seen.append(event)
        events.append(event)
    done = events[-1]
    assert done.reason == "cancelled"
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1]
    assert done.checkpoint == str(tmp_path / "model.pt")
    loaded = load_model(done.checkpoint)
    assert loaded.info.training["best_epoch"] == 1
    assert not list(tmp_path.glob(".model.pt.*.tmp"))  # no temp files left behind


def test_cancel_before_any_epoch_saves_nothing_and_keeps_old_file(tmp_path):
    data = make_labeled(tmp_path / "data")
    out = tmp_path / "model.pt"
    out.write_bytes(b"previous model")
    events = run(small_cfg(tmp_path, data), stop=lambda: True)
    assert events[-1].reason == "cancelled" and events[-1].checkpoint is None
    assert out.read_bytes() == b"previous model"


def test_resume_continues_after_the_last_epoch(tmp_path):
    data = make_labeled(tmp_path / "data")
    seen = []
    for event in fine_tune(small_cfg(tmp_path, data, epochs=3),
                           lambda: any(isinstance(e, EpochEnd) and e.epoch == 2 for e in seen)):
        seen.append(event)
    assert seen[-1].reason == "cancelled"
    events = run(small_cfg(tmp_path, data, epochs=3, resume=True))
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [3]
    done = events[-1]
    assert done.reason == "completed" and [h["epoch"] for h in done.history] == [1, 2, 3]


def test_nan_loss_stops_and_keeps_last_good_model(tmp_path):
    import torch
    import torchvision

    from resnet_gui.core.model.checkpoint import WeightsError

    data = make_labeled(tmp_path / "data")
    good = run(small_cfg(tmp_path, data, epochs=1))[-1]
    before = Path(good.checkpoint).read_bytes()
    # a learning rate this large makes the very first loss NaN
    done = run(small_cfg(tmp_path, data, lr=1e6))[-1]
    assert done.reason == "nan" and "nan" in done.message.lower()
    assert Path(good.checkpoint).read_bytes() == before
    # starting weights full of NaN are refused before anything runs
    poisoned = tmp_path / "nan.pth"
    state = torchvision.models.resnet18(num_classes=3).state_dict()
    state["fc.weight"].fill_(float("nan"))
    torch.save(state, poisoned)
    with pytest.raises(WeightsError, match="NaN or infinite"):
        run(small_cfg(tmp_path, data, start=str(poisoned), mode="full"))
    assert Path(good.checkpoint).read_bytes() == before


@pytest.mark.parametrize(
    "layout, expected",
    [
        ({}, "no images found"),
        ({"only": 5}, "need at least 2 classes"),
        ({"a": 5, "b": 1, "c": 0}, "too few in: b/ (1)"),  # c/, empty, is left out (below)
    ],
)
def test_bad_folders_are_refused_with_the_offending_folders(tmp_path, layout, expected):
    from PIL import Image

    root = tmp_path / "data"
    root.mkdir()
    for name, count in layout.items():
        (root / name).mkdir()
        for i in range(count):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(root / name / f"{i}.png")
    with pytest.raises(TrainingError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        run(small_cfg(tmp_path, root))


@pytest.mark.parametrize("split_folders", [False, True])
def test_empty_class_folders_are_left_out_with_a_note(tmp_path, split_folders):
    from PIL import Image

    from resnet_gui.core.data.datasets import scan_labeled_folder

    root = tmp_path / "data"
    for split in ("train", "val") if split_folders else ("",):
        for name, count in (("ants", 3), ("bees", 3), ("roses", 0)):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (8, 8), (i, 0, 0)).save(root / split / name / f"{i}.png")
    data = scan_labeled_folder(root)
    assert data.classes == ["ants", "bees"] and data.ignored == ["roses"]
    assert data.note == "ignored empty class folder: roses/"
    items = data.train + (data.val or [])
    assert sorted({label for _, label in items}) == [0, 1]
    assert all(path.parent.name == data.classes[label] for path, label in items)


def test_unreadable_images_are_skipped_and_counted(tmp_path):
    data = make_labeled(tmp_path / "data", per_class=8, classes=("red", "blue"))
    (data / "red" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (data / "blue" / "empty.png").write_bytes(b"")
    events = run(small_cfg(tmp_path, data, epochs=1))
    ready = next(e for e in events if isinstance(e, DataReady))
    assert sorted(Path(p).name for p, _ in ready.skipped) == ["broken.jpg", "empty.png"]
    assert "skipped 2 unreadable" in ready.message
    assert events[-1].reason == "completed"


def test_existing_train_and_val_folders_are_used(tmp_path):
    make_labeled(tmp_path / "data" / "train", per_class=6, classes=("red", "blue"))
    make_labeled(tmp_path / "data" / "val", per_class=3, classes=("red", "blue"))
    events = run(small_cfg(tmp_path, tmp_path / "data", epochs=1))
    ready = next(e for e in events if isinstance(e, DataReady))
    assert ready.train_counts == [6, 6] and ready.val_counts == [3, 3]
    assert ready.split_from == "train/val folders"


def test_imbalance_is_reported_and_weighted(tmp_path):
    make_labeled(tmp_path / "data", per_class=12, classes=("red",))
    make_labeled(tmp_path / "data", per_class=4, classes=("blue",))
    events = run(small_cfg(tmp_path, tmp_path / "data", epochs=1))
    ready = next(e for e in events if isinstance(e, DataReady))
    assert ready.imbalance == pytest.approx(3.0) and ready.weighted_loss
    assert "imbalanced (3.0x)" in ready.message


def test_cli_train_then_classify_with_the_new_model(tmp_path, capsys):
    """In-process through main(argv): the same parser and code as the command (test_cli_classify
    runs a real process)."""
    from resnet_gui.cli import main

    data = make_labeled(tmp_path / "data", per_class=6, classes=("red", "blue"))
    out = tmp_path / "cli.pt"
    code = main(["train", str(data), "--out", str(out), "--from", "scratch", "--epochs", "1", "--image-size", "32",
                 "--batch-size", "4", "--val-split", "0.34", "--augment", "light"])
    train = capsys.readouterr()
    assert code == 0, train.err
    assert "epoch   1/1" in train.out and "saved to" in train.out
    # the int8 twin step ran, and said why there is none: 4 validation photos cannot show 99 % agreement
    assert "int8 twin not made: 4 validation photos to check it on (at least 20 needed)" in train.out
    assert not out.with_name("cli.int8.onnx").exists()
    from resnet_gui.core.model.loading import load_model

    assert load_model(out).info.training["config"]["augment"] == "light"  # not the strong default from scratch
    code = main(["classify", "--weights", str(out), "--json", "--topk", "2", str(data / "red")])
    classify = capsys.readouterr()
    assert code == 0, classify.err
    rows = [json.loads(line) for line in classify.out.splitlines()]
    assert len(rows) == 6
    assert all({label for label, _ in row["topk"]} == {"red", "blue"} for row in rows)


def test_cli_train_refuses_bad_folder_with_one_line(tmp_path, capsys):
    from resnet_gui.cli import main

    (tmp_path / "empty").mkdir()
    assert main(["train", str(tmp_path / "empty"), "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err
    assert err.strip().startswith("error: no images found")
    assert len(err.strip().splitlines()) == 1


def test_fine_tuning_a_checkpoint_keeps_its_input_size_and_adapts_the_head(tmp_path):
    first = make_labeled(tmp_path / "first", per_class=6, classes=("red", "blue"))
    base = run(small_cfg(tmp_path, first, epochs=1, image_size=40, out=str(tmp_path / "base.pt")))[-1]
    assert load_model(base.checkpoint).info.image_size == 40
    second = make_labeled(tmp_path / "second", per_class=6, classes=("red", "green", "blue"))
    cfg = small_cfg(tmp_path, second, epochs=2, image_size=None, start=base.checkpoint, mode="head",
                    out=str(tmp_path / "tuned.pt"))
    assert cfg.resolve().image_size is None  # decided from the start model
    done = run(cfg)[-1]
    tuned = load_model(done.checkpoint)
    assert tuned.info.image_size == 40 and tuned.info.class_names == ["blue", "green", "red"]
    # the backbone came from the start model: head mode leaves it exactly as it was
    start = load_model(base.checkpoint).model.state_dict()
    after = tuned.model.state_dict()
    assert all((start[k] == after[k]).all() for k in start if k.startswith("layer4.") and "num_batches" not in k)


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)


def test_a_saved_model_names_its_folders_but_never_reveals_their_paths(tmp_path):
    import torch

    data = make_labeled(tmp_path / "holiday photos", per_class=6, classes=("red", "blue"))
    split = tmp_path / "split.csv"
    split.write_text("split,class,file\n" + "".join(
        f"{'val' if i < 2 else 'train'},{c},{c}_{i:02d}.png\n" for c in ("red", "blue") for i in range(6)))
    start = run(small_cfg(tmp_path, data, epochs=1, out=str(tmp_path / "start.pt")))[-1].checkpoint
    done = run(small_cfg(tmp_path, data, epochs=1, start=start, split_csv=str(split),
                         out=str(tmp_path / "models" / "mine.pt")))[-1]
    raw = torch.load(done.checkpoint, map_location="cpu", weights_only=True)
    config = raw["training"]["config"]
    assert (config["data_dir"], config["out"], config["split_csv"], config["start"]) == (
        "holiday photos", "mine.pt", "split.csv", "start.pt")
    assert not [s for s in _strings({k: v for k, v in raw.items() if k != "state_dict"}) if str(tmp_path) in s]


def test_defaults_come_from_one_resolve(tmp_path, monkeypatch):
    import resnet_gui.core.train.config as config

    monkeypatch.setattr(config, "imagenet_cached", lambda arch: False)
    monkeypatch.setattr(config, "teacher_installed", lambda: False)
    scratch = TrainConfig(data_dir="d", out="o.pt").resolve()
    assert (scratch.start, scratch.mode, scratch.epochs, scratch.image_size, scratch.augment) == (
        "scratch", "full", 60, 160, "strong")
    # the window offers its loaded model: features beat random ones
    mine = TrainConfig(data_dir="d", out="o.pt").resolve(fallback_start="/models/mine.pt")
    assert (mine.start, mine.mode, mine.epochs, mine.image_size) == ("/models/mine.pt", "head", 30, None)
    monkeypatch.setattr(config, "imagenet_cached", lambda arch: True)
    imagenet = TrainConfig(data_dir="d", out="o.pt").resolve(fallback_start="/models/mine.pt")
    assert (imagenet.start, imagenet.mode, imagenet.image_size, imagenet.lr) == ("imagenet", "head", 224, 1e-3)
    with pytest.raises(TrainingError, match="mode"):
        TrainConfig(data_dir="d", out="o.pt", mode="half").resolve()


# ---------------------------------------------------------------- output problems (issue 11, items 2, 10, 12)


def test_unusable_outputs_are_refused_before_any_image_is_read(tmp_path, monkeypatch):
    import resnet_gui.core.data.decoded as decoded

    data = make_labeled(tmp_path / "data", per_class=4, classes=("red", "blue"))
    monkeypatch.setattr(decoded, "decode_all", lambda *a, **k: pytest.fail("images were read"))
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(TrainingError, match=r"a_folder is a folder; give a file name"):
        run(small_cfg(tmp_path, data, out=str(tmp_path / "a_folder")))
    with pytest.raises(TrainingError, match=r"cannot write .*a_file/model.pt"):
        run(small_cfg(tmp_path, data, out=str(tmp_path / "a_file" / "model.pt")))
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 5_000_000, 5_000_000))
    with pytest.raises(TrainingError, match=r"not enough free space for model.pt: 5 MB free .* about \d+ MB needed"):
        run(small_cfg(tmp_path, data))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "a_folder", "data"]  # no probe litter


def test_cli_refuses_a_folder_as_output_in_one_line(tmp_path, capsys):
    from resnet_gui.cli import main

    data = make_labeled(tmp_path / "data", per_class=4, classes=("red", "blue"))
    assert main(["train", str(data), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {tmp_path} is a folder; give a file name, e.g. {tmp_path}/model.pt"]


def test_a_disk_that_fills_mid_run_keeps_the_last_good_model(tmp_path, monkeypatch):
    import torch

    data = make_labeled(tmp_path / "data", per_class=6, classes=("red", "blue"))
    real_save, calls = torch.save, []

    def filling_save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) > 2:  # epoch 1's model and resume file fit; then the disk is full
            f.write(b"partial")
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", filling_save)
    cfg = small_cfg(tmp_path, data, epochs=3, augment="none", lr=1e-4)
    events = []
    with pytest.raises(TrainingError) as info:
        for event in fine_tune(cfg):
            events.append(event)
    monkeypatch.setattr(torch, "save", real_save)
    first = next(e for e in events if isinstance(e, EpochEnd))
    assert first.improved
    message = str(info.value)
    assert message.startswith("could not save ") and "the disk is full" in message
    assert message.endswith("The last good model (epoch 1) is kept.")
    assert load_model(tmp_path / "model.pt").info.training["best_epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "model.pt", "model.pt.resume"]


def test_stale_temps_of_a_killed_run_are_removed_and_only_those(tmp_path):
    import os
    import time

    data = make_labeled(tmp_path / "data", per_class=4, classes=("red", "blue"))
    old = time.time() - 3600
    stale = [tmp_path / ".model.pt.0123456789ab.tmp", tmp_path / ".model.pt.resume.ba9876543210.tmp"]
    kept = [tmp_path / ".model.pt.notours.tmp", tmp_path / ".other.pt.0123456789ab.tmp", tmp_path / "model.pt.tmp"]
    for path in stale + kept:
        path.write_bytes(b"x" * 1000)
        os.utime(path, (old, old))
    fresh = tmp_path / ".model.pt.fedcba987654.tmp"  # newer than this process: maybe another run's
    fresh.write_bytes(b"x")
    os.utime(fresh, (time.time() + 60, time.time() + 60))
    run(small_cfg(tmp_path, data, epochs=1))
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept + [fresh])


def test_resume_without_its_resume_file_continues_the_learning_rate_schedule(tmp_path):
    data = make_labeled(tmp_path / "data", per_class=6, classes=("red", "blue"))
    whole = run(small_cfg(tmp_path, data, epochs=4, patience=10, out=str(tmp_path / "whole.pt")))
    lrs = [e.lr for e in whole if isinstance(e, EpochEnd)]

    seen = []

    def stop_after_two():
        return len(seen) >= 2

    cfg = small_cfg(tmp_path, data, epochs=4, patience=10)
    for event in fine_tune(cfg, stop_after_two):
        if isinstance(event, EpochEnd):
            seen.append(event)
    (tmp_path / "model.pt.resume").unlink()  # only the best checkpoint is left
    best = max(e.epoch for e in seen if e.improved)  # 1 or 2: whether epoch 2 beat epoch 1 depends on the CPU's numerics
    resumed = [e for e in run(small_cfg(tmp_path, data, epochs=4, patience=10, resume=True)) if isinstance(e, EpochEnd)]
    assert [e.epoch for e in resumed] == list(range(best + 1, 5))
    assert [e.lr for e in resumed] == pytest.approx(lrs[best:], rel=1e-6)  # not a fresh warm-up


def test_a_diverging_first_epoch_says_nothing_was_saved(tmp_path):
    data = make_labeled(tmp_path / "data", per_class=6, classes=("red", "blue"))
    done = run(small_cfg(tmp_path, data, epochs=2, lr=1e6))[-1]
    assert done.reason == "nan" and done.checkpoint is None
    assert done.message.endswith("Nothing was saved.") and "kept" not in done.message

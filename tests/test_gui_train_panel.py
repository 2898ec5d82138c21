"""The Fine-tune panel on real widgets (offscreen), driving the real worker thread and core
through short runs (resnet18 from scratch, 32 px images, a few epochs)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from resnet_gui.gui.main_window import MainWindow  # noqa: E402
from resnet_gui.gui.settings import AppSettings  # noqa: E402

WAIT = 180_000  # a loaded 2-core machine: torch import + a tiny run
COLOURS = {"red": (200, 30, 30), "green": (30, 180, 40), "blue": (30, 40, 210)}


def make_labeled(root: Path, per_class: int = 8, classes=("red", "green", "blue"), size: int = 32,
                 counts: dict[str, int] | None = None) -> Path:
    """Noisy images dominated by one colour per class (as in test_core_training.py)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in classes:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        base = np.array(COLOURS[name], dtype=np.float32)
        for i in range((counts or {}).get(name, per_class)):
            pixels = base + rng.normal(0, 35, (size, size, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(folder / f"{name}_{i:02d}.png")
    return root


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))  # default model paths land here
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings)
    win.confirm_stop_training = lambda: True  # never a modal question in tests (pytest-qt closes widgets first)
    qtbot.addWidget(win)
    win.resize(1180, 760)
    win.show()
    win.tabs.setCurrentWidget(win.train_panel)
    yield win
    win.close()
    assert win.service.thread.isFinished() and win.train_panel.service.thread.isFinished()


def choose(qtbot, panel, folder):
    with qtbot.waitSignal(panel.folder_scanned, timeout=30_000) as blocker:
        panel.set_folder(folder)
    return blocker.args[0]


def tiny_options(panel, epochs=2, batch_size=8):
    panel.start_combo.setCurrentIndex(panel.start_combo.findData("scratch"))
    panel.arch_combo.setCurrentText("resnet18")
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("full"))
    panel.epochs_spin.setValue(epochs)
    panel.size_spin.setValue(32)
    panel.batch_spin.setValue(batch_size)
    panel.val_spin.setValue(25)


def test_folder_table_imbalance_warning_and_refusal(window, qtbot, tmp_path):
    panel = window.train_panel
    assert window.tabs.tabText(window.tabs.indexOf(panel)) == "Fine-tune"
    assert not panel.start_button.isEnabled()  # no folder yet

    scan = choose(qtbot, panel, make_labeled(tmp_path / "good", per_class=6))
    assert scan.error == ""
    assert panel.class_counts() == {"blue": 6, "green": 6, "red": 6}
    assert panel.start_button.isEnabled()
    assert not panel.warning_label.isVisible() and not panel.refusal_label.isVisible()
    # defaults pre-filled as TrainConfig.resolved() gives them (from scratch: full, 60 epochs, 160 px)
    assert panel.start_combo.currentData() in ("scratch", "imagenet")
    panel.start_combo.setCurrentIndex(panel.start_combo.findData("scratch"))
    assert (panel.mode_combo.currentData(), panel.epochs_spin.value(), panel.size_spin.value()) == ("full", 60, 160)
    assert panel.val_spin.value() == 20
    out = Path(panel.out_edit.text())
    assert out.name == "good-resnet18.pt" and str(out).startswith(str(tmp_path / "appdata"))

    make_labeled(tmp_path / "skewed", counts={"red": 9, "green": 3, "blue": 6})
    choose(qtbot, panel, tmp_path / "skewed")
    assert panel.class_counts() == {"blue": 6, "green": 3, "red": 9}
    assert panel.warning_label.isVisible() and "3.0×" in panel.warning_label.text()
    assert panel.start_button.isEnabled()

    make_labeled(tmp_path / "one", classes=("red",))
    choose(qtbot, panel, tmp_path / "one")
    assert panel.refusal_label.isVisible() and "need at least 2 classes" in panel.refusal_label.text()
    assert not panel.start_button.isEnabled() and panel.class_counts() == {}
    assert panel.start() is False and not panel.running

    choose(qtbot, panel, tmp_path / "missing")
    assert "not a folder" in panel.refusal_label.text() and not panel.start_button.isEnabled()


def test_short_run_curves_matrix_and_use_model(window, qtbot, tmp_path):
    from resnet_gui.core.checkpoint import load_model

    panel = window.train_panel
    choose(qtbot, panel, make_labeled(tmp_path / "colours"))
    tiny_options(panel, epochs=2)
    with qtbot.waitSignal(panel.training_finished, timeout=WAIT) as blocker:
        panel.start_button.click()
        assert panel.running and not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
    done = blocker.args[0]
    assert done is not None and done.reason == "completed", panel.last_error
    assert not panel.running and panel.start_button.isEnabled()

    # the curves: 2 points per series, equal to the EpochEnd events and the checkpoint's history
    history = load_model(done.checkpoint).info.training["history"]
    assert [e.epoch for e in panel.epochs_seen] == [1, 2] == [h["epoch"] for h in history]
    points = panel.points()
    for chart, key in (("loss", "loss"), ("accuracy", "acc")):
        for series in ("train", "val"):
            got = points[chart][series]
            assert [x for x, _ in got] == [1, 2]
            assert [y for _, y in got] == pytest.approx([h[f"{series}_{key}"] for h in history], abs=1e-6)
            assert [y for _, y in got] == pytest.approx([getattr(e, f"{series}_{key}") for e in panel.epochs_seen],
                                                        abs=1e-6)

    # the class table got train/val counts; the confusion matrix covers every validation image
    val_counts = [int(panel.class_table.item(r, 3).text()) for r in range(3)]
    assert sum(val_counts) == 6  # 25 % of 8 per class
    matrix = panel.confusion.matrix()
    assert len(matrix) == 3 and sum(map(sum, matrix)) == sum(val_counts)
    assert [sum(row) for row in matrix] == val_counts
    assert set(panel.confusion.accuracies()) == {"blue", "green", "red"}
    assert "Finished" in panel.result_label.text() and panel.result_label.isVisible()
    assert panel.progress.value() == panel.progress.maximum()

    # one click: the window classifies with the new model
    assert panel.use_button.isEnabled()
    with qtbot.waitSignal(window.service.model_loaded, timeout=WAIT):
        panel.use_button.click()
    assert window.model.source == str(Path(done.checkpoint).resolve())
    text = window.model_bar.text.text()
    assert "blue, green, red" in text and "3 classes" in text
    assert window.tabs.currentWidget() is window.classify_page
    # the next run will not overwrite this model
    assert panel.out_edit.text() != done.checkpoint


def test_cancel_mid_run_keeps_the_best_checkpoint(window, qtbot, tmp_path):
    from resnet_gui.core.checkpoint import load_model

    panel = window.train_panel
    choose(qtbot, panel, make_labeled(tmp_path / "colours"))
    tiny_options(panel, epochs=40, batch_size=2)
    with qtbot.waitSignal(panel.service.epoch_end, timeout=WAIT):
        panel.start()
    with qtbot.waitSignal(panel.training_finished, timeout=WAIT) as blocker:
        panel.cancel_button.click()
        assert not panel.cancel_button.isEnabled() and "Cancelling" in panel.status_label.text()
    done = blocker.args[0]
    assert done.reason == "cancelled" and "Cancelled" in panel.result_label.text()
    assert "the best model so far" in done.message
    loaded = load_model(done.checkpoint)
    assert loaded.info.class_names == ["blue", "green", "red"]
    assert 1 <= len(panel.epochs_seen) < 40 and panel.use_button.isEnabled()

    # cancelled before any epoch ends: nothing saved, and the panel says so
    with qtbot.waitSignal(panel.training_finished, timeout=WAIT) as blocker:
        panel.start()
        panel.cancel()
    done = blocker.args[0]
    assert done.reason == "cancelled" and done.checkpoint is None
    assert "nothing was saved" in panel.result_label.text() and not panel.use_button.isEnabled()


def test_closing_mid_run_asks_then_cancels_and_joins(qtbot, tmp_path, monkeypatch, qtlog):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    win = MainWindow(AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    win.confirm_stop_training = lambda: True
    qtbot.addWidget(win)
    win.show()
    panel = win.train_panel
    choose(qtbot, panel, make_labeled(tmp_path / "colours"))
    tiny_options(panel, epochs=40, batch_size=2)
    with qtbot.waitSignal(panel.service.progress, timeout=WAIT):
        panel.start()
    asked = []
    win.confirm_stop_training = lambda: asked.append("no") or False
    win.close()
    assert asked == ["no"] and win.isVisible() and panel.running  # "No": the window stays, training goes on

    win.confirm_stop_training = lambda: asked.append("yes") or True
    win.close()
    assert asked == ["no", "yes"] and not win.isVisible()
    thread = panel.service.thread
    assert thread.isFinished() and not thread.isRunning() and win.service.thread.isFinished()
    qtbot.wait(50)
    assert not [r for r in qtlog.records if "Destroyed" in r.message]



def test_the_window_model_becomes_the_default_start(window, qtbot, tiny_weights):
    panel = window.train_panel
    with qtbot.waitSignal(window.service.model_loaded, timeout=WAIT):
        window.use_model(str(tiny_weights))
    qtbot.waitUntil(lambda: panel.current_model is not None, timeout=10_000)
    if panel.imagenet_cached.get("resnet18"):
        pytest.skip("ImageNet weights are cached here: they are the default start")
    assert panel.start_combo.currentData() == "current"
    # fine-tune its last layer, at the model's own input size (tiny_weights: a 224 px resnet18)
    assert panel.mode_combo.currentData() == "head" and panel.size_spin.value() == 224
    assert panel.arch_combo.currentText() == "resnet18" and not panel.arch_combo.isEnabled()
    assert panel.config().start == str(tiny_weights)

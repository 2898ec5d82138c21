"""The Fine-tune page on real widgets (offscreen), driving the real task runners and core
through short runs (resnet18 from scratch, 32 px images, a few epochs)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from resnet_gui.gui.finetune import jobs  # noqa: E402
from resnet_gui.gui.finetune.page import FinetunePage  # noqa: E402
from resnet_gui.gui.settings import AppSettings  # noqa: E402
from resnet_gui.gui.tasks import TaskRunner  # noqa: E402

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
def window(qtbot, tmp_path, monkeypatch, settings):
    from resnet_gui.gui.main_window import MainWindow

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))  # default model paths land here
    win = MainWindow(settings)
    win.confirm_stop_training = lambda: True  # never a modal question in tests (pytest-qt closes widgets first)
    qtbot.addWidget(win)
    win.resize(1180, 760)
    win.show()
    win.tabs.setCurrentWidget(win.finetune_page)
    yield win
    win.close()
    assert threads_finished(win)


def threads_finished(win) -> bool:
    """Every task runner of the window (the page's two among them) has stopped its threads."""
    runners = win.findChildren(TaskRunner)
    page = win.finetune_page
    assert page.train_runner in runners and page.scan_runner in runners
    return all(t.isFinished() for runner in runners for t in runner._threads)


def choose(qtbot, panel, folder):
    with qtbot.waitSignal(panel.folder_scanned, timeout=30_000) as blocker:
        panel.set_folder(folder)
    return blocker.args[0]


def tiny_options(page, epochs=2, batch_size=8):
    panel = page.form
    panel.start_combo.setCurrentIndex(panel.start_combo.findData("scratch"))
    panel.arch_combo.setCurrentText("resnet18")
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("full"))
    panel.epochs_spin.setValue(epochs)
    panel.size_spin.setValue(32)
    panel.batch_spin.setValue(batch_size)
    panel.val_spin.setValue(25)


def test_folder_table_imbalance_warning_and_refusal(window, qtbot, tmp_path):
    page = window.finetune_page
    form = page.form
    assert window.tabs.tabText(window.tabs.indexOf(page)) == "Fine-tune"
    assert not form.start_button.isEnabled()  # no folder yet

    scan = choose(qtbot, page, make_labeled(tmp_path / "good", per_class=6))
    assert scan.error == ""
    assert page.class_counts() == {"blue": 6, "green": 6, "red": 6}
    assert form.start_button.isEnabled()
    assert not form.warning_label.isVisible() and not form.refusal_label.isVisible()
    # defaults pre-filled as TrainConfig.resolve() gives them (from scratch: full, 60 epochs, 160 px)
    assert form.start_combo.currentData() in ("teacher", "imagenet")
    form.start_combo.setCurrentIndex(form.start_combo.findData("scratch"))
    assert (form.mode_combo.currentData(), form.epochs_spin.value(), form.size_spin.value()) == ("full", 60, 160)
    assert form.val_spin.value() == 20
    out = Path(form.out_edit.text())
    assert out.name == "good-resnet18.pt" and str(out).startswith(str(tmp_path / "appdata"))

    make_labeled(tmp_path / "skewed", counts={"red": 9, "green": 3, "blue": 6})
    choose(qtbot, page, tmp_path / "skewed")
    assert page.class_counts() == {"blue": 6, "green": 3, "red": 9}
    assert form.warning_label.isVisible() and "3.0×" in form.warning_label.text()
    assert form.start_button.isEnabled()

    make_labeled(tmp_path / "one", classes=("red",))
    choose(qtbot, page, tmp_path / "one")
    assert form.refusal_label.isVisible() and "need at least 2 classes" in form.refusal_label.text()
    assert not form.start_button.isEnabled() and page.class_counts() == {}
    assert page.start() is False and not page.running

    choose(qtbot, page, tmp_path / "missing")
    assert "not a folder" in form.refusal_label.text() and not form.start_button.isEnabled()


def test_class_names_and_paths_show_as_plain_text(qtbot, tmp_path, monkeypatch):
    """A class folder named like an HTML tag is shown as it is, never rendered."""
    from PySide6.QtCore import Qt

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    page = FinetunePage(None)
    qtbot.addWidget(page)
    root = tmp_path / "<i>odd"
    make_labeled(root, counts={"red": 9, "green": 3, "blue": 6})
    (root / "red").rename(root / "<b>red")
    choose(qtbot, page, root)
    form = page.form
    assert "<b>red" in page.class_counts()
    assert form.warning_label.textFormat() == Qt.TextFormat.PlainText and "<b>red" in form.warning_label.text()
    assert page.run_view.status_label.textFormat() == Qt.TextFormat.PlainText
    assert form.refusal_label.textFormat() == Qt.TextFormat.PlainText
    page.run_view.show_error("cannot read <b>x</b>", "Traceback <module>")
    assert "Cannot read &lt;b&gt;x&lt;/b&gt;" in page.run_view.banner_text()  # a sentence, still plain text
    assert "&lt;module&gt;" in page.run_view.result_label.toolTip()
    assert page.shutdown()


def test_dropping_one_folder_scans_it(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    page = FinetunePage(None)
    qtbot.addWidget(page)
    folder = make_labeled(tmp_path / "colours", per_class=2)

    def drop(*paths) -> QDropEvent:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                           Qt.KeyboardModifier.NoModifier)
        event.setAccepted(False)
        page.dropEvent(event)
        return event

    assert not drop(folder / "red" / "red_00.png").isAccepted()  # a file: not for this page
    assert not drop(folder / "red", folder / "blue").isAccepted()  # one folder at a time
    with qtbot.waitSignal(page.folder_scanned, timeout=30_000):
        assert drop(folder).isAccepted()
    assert page.class_counts() == {"blue": 2, "green": 2, "red": 2}
    assert page.form.folder_edit.text() == str(folder)
    assert page.shutdown()


def test_a_failed_run_shows_why_and_reports_none(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    page = FinetunePage(None)
    qtbot.addWidget(page)
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    page.set_current_model(SimpleNamespace(source=str(bad), arch="resnet18", image_size=64))
    choose(qtbot, page, make_labeled(tmp_path / "colours", per_class=4))
    form = page.form
    form.start_combo.setCurrentIndex(form.start_combo.findData("current"))  # also when ImageNet is cached
    assert form.size_spin.value() == 64 and form.arch_combo.currentText() == "resnet18"
    with qtbot.waitSignal(page.training_finished, timeout=WAIT) as blocker:
        assert page.start()
    assert blocker.args == [None] and not page.running and page.last_error
    view = page.run_view
    assert "Training failed" in view.banner_text() and "Traceback" in view.result_label.toolTip()
    assert view.progress.format() == "Failed" and not view.use_button.isEnabled()
    assert form.start_button.isEnabled()
    assert page.shutdown()


def test_jobs_import_no_qt_and_the_page_no_torch():
    import subprocess
    import sys

    code = ("import sys, resnet_gui.gui.finetune.jobs; assert 'PySide6' not in sys.modules; "
            "import resnet_gui.gui.finetune.page; assert 'torch' not in sys.modules, 'torch'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_jobs_run_without_qt(tmp_path, monkeypatch):
    """The page's jobs are plain functions: a scan, and a training generator whose batch
    progress is thinned to ~10/s but always keeps each epoch's last batch."""
    import resnet_gui.core.train.fine_tune as core_fine_tune
    from resnet_gui.core.train.events import BatchProgress, Done, EpochEnd

    never = lambda: False  # noqa: E731
    scan = jobs.scan_folder(str(make_labeled(tmp_path / "c", per_class=4)), should_stop=never)
    assert (scan.classes, scan.counts, scan.error) == (["blue", "green", "red"], [4, 4, 4], "")
    assert "not a folder" in jobs.scan_folder(str(tmp_path / "nowhere"), should_stop=never).error

    def fast_fine_tune(cfg, should_stop):  # 2 epochs of 500 instant batches
        for epoch in (1, 2):
            for batch in range(1, 501):
                yield BatchProgress(epoch, 2, batch, 500, 0.5, 1000.0, 1.0)
            yield EpochEnd(epoch, 2, 0.5, 0.5, 0.5, 0.5, 1e-3, 0.1, True, cfg.out)
        yield Done("completed", "finished 2 epochs", cfg.out, 2, 0.5)

    monkeypatch.setattr(core_fine_tune, "fine_tune", fast_fine_tune)
    gen = jobs.train(SimpleNamespace(out="m.pt"), should_stop=never)
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            done = stop.value
            break
    assert isinstance(done, Done) and done.reason == "completed"
    assert not any(isinstance(e, Done) for e in events)
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2]
    progress = [(e.epoch, e.batch) for e in events if isinstance(e, BatchProgress)]
    assert (1, 500) in progress and (2, 500) in progress  # the last batch of every epoch comes through
    assert len(progress) < 20  # not 1000

    stopped = jobs.train(SimpleNamespace(out="m.pt"), should_stop=lambda: True)
    with pytest.raises(StopIteration) as stop:
        next(stopped)
    assert stop.value.value.reason == "cancelled" and stop.value.value.checkpoint is None


def test_short_run_curves_matrix_and_use_model(window, qtbot, tmp_path):
    from resnet_gui.core.model.loading import load_model

    page = window.finetune_page
    form, view = page.form, page.run_view
    choose(qtbot, page, make_labeled(tmp_path / "colours"))
    tiny_options(page, epochs=2)
    with qtbot.waitSignal(page.training_finished, timeout=WAIT) as blocker:
        form.start_button.click()
        assert page.running and not form.start_button.isEnabled() and form.cancel_button.isEnabled()
    done = blocker.args[0]
    assert done is not None and done.reason == "completed", page.last_error
    assert not page.running and form.start_button.isEnabled()

    # the curves: 2 points per series, equal to the EpochEnd events and the checkpoint's history
    history = load_model(done.checkpoint).info.training["history"]
    assert [e.epoch for e in view.epochs_seen] == [1, 2] == [h["epoch"] for h in history]
    points = page.points()
    for chart, key in (("loss", "loss"), ("accuracy", "acc")):
        for series in ("train", "val"):
            got = points[chart][series]
            assert [x for x, _ in got] == [1, 2]
            assert [y for _, y in got] == pytest.approx([h[f"{series}_{key}"] for h in history], abs=1e-6)
            assert [y for _, y in got] == pytest.approx([getattr(e, f"{series}_{key}") for e in view.epochs_seen],
                                                        abs=1e-6)

    # the class table got train/val counts; the confusion matrix covers every validation image
    val_counts = [int(form.class_table.item(r, 3).text()) for r in range(3)]
    assert sum(val_counts) == 6  # 25 % of 8 per class
    matrix = view.confusion.matrix()
    assert len(matrix) == 3 and sum(map(sum, matrix)) == sum(val_counts)
    assert [sum(row) for row in matrix] == val_counts
    assert set(view.confusion.accuracies()) == {"blue", "green", "red"}
    # a click on a cell shows exactly that cell's validation photos: every photo once over the row
    photos = view.confusion_panel.photos
    for r, row in enumerate(matrix):
        shown = []
        for c, count in enumerate(row):
            rect = view.confusion.visualItemRect(view.confusion.item(r, c))
            qtbot.mouseClick(view.confusion.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            assert len(photos.paths()) == count
            assert f"true {['blue', 'green', 'red'][r]}" in photos.title.text()
            shown += photos.paths()
        assert len(set(shown)) == sum(row) and {Path(p).parent.name for p in shown} == {
            ["blue", "green", "red"][r]}
    assert "Finished" in view.banner_text() and view.result_label.isVisible()
    assert view.progress.value() == view.progress.maximum()
    # the int8 twin step ran after the save, in the background, and says why there is none here
    qtbot.waitUntil(lambda: not page.twin.running, timeout=WAIT)
    assert page.twin.isVisible() and page.twin.result.out is None
    assert page.twin.text().startswith("int8 twin not made: 6 validation photos to check it on")

    # one click: the window classifies with the new model
    assert view.use_button.isEnabled()
    with qtbot.waitSignal(window.classify_page.model_loaded, timeout=WAIT):
        view.use_button.click()
    assert window.classify_page.model.source == str(Path(done.checkpoint).resolve())
    text = window.classify_page.model_bar.text.text()
    assert "blue, green, red" in text and "3 classes" in text
    assert window.tabs.currentWidget() is window.classify_page
    # the next run will not overwrite this model
    assert form.out_edit.text() != done.checkpoint


def test_cancel_mid_run_keeps_the_best_checkpoint(window, qtbot, tmp_path):
    from resnet_gui.core.model.loading import load_model

    page = window.finetune_page
    form, view = page.form, page.run_view
    choose(qtbot, page, make_labeled(tmp_path / "colours"))
    tiny_options(page, epochs=40, batch_size=2)
    page.start()
    qtbot.waitUntil(lambda: len(view.epochs_seen) > 0, timeout=WAIT)
    with qtbot.waitSignal(page.training_finished, timeout=WAIT) as blocker:
        form.cancel_button.click()
        assert not form.cancel_button.isEnabled() and "Cancelling" in view.status_label.text()
    done = blocker.args[0]
    assert done.reason == "cancelled" and "Cancelled" in view.banner_text()
    assert "the best model so far" in done.message
    loaded = load_model(done.checkpoint)
    assert loaded.info.class_names == ["blue", "green", "red"]
    assert 1 <= len(view.epochs_seen) < 40 and view.use_button.isEnabled()

    # cancelled before any epoch ends: nothing saved, and the page says so
    with qtbot.waitSignal(page.training_finished, timeout=WAIT) as blocker:
        page.start()
        page.cancel()
    done = blocker.args[0]
    assert done.reason == "cancelled" and done.checkpoint is None
    assert "nothing was saved" in view.banner_text() and not view.use_button.isEnabled()


def test_closing_mid_run_asks_then_cancels_and_joins(qtbot, tmp_path, monkeypatch, qtlog):
    from resnet_gui.gui.main_window import MainWindow

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    win = MainWindow(AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    win.confirm_stop_training = lambda: True
    qtbot.addWidget(win)
    win.show()
    page = win.finetune_page
    choose(qtbot, page, make_labeled(tmp_path / "colours"))
    tiny_options(page, epochs=40, batch_size=2)
    page.start()
    qtbot.waitUntil(lambda: page.run_view.progress.maximum() > 0, timeout=WAIT)  # batches are running
    asked = []
    win.confirm_stop_training = lambda: asked.append("no") or False
    win.close()
    assert asked == ["no"] and win.isVisible() and page.running  # "No": the window stays, training goes on

    win.confirm_stop_training = lambda: asked.append("yes") or True
    win.close()
    assert asked == ["no", "yes"] and not win.isVisible()
    assert threads_finished(win) and not any(t.isRunning() for t in page.train_runner._threads)
    qtbot.wait(50)
    assert not [r for r in qtlog.records if "Destroyed" in r.message]


def test_the_window_model_becomes_the_default_start(window, qtbot, tiny_weights):
    page = window.finetune_page
    form = page.form
    with qtbot.waitSignal(window.classify_page.model_loaded, timeout=WAIT):
        window.classify_page.use_model(str(tiny_weights))
    qtbot.waitUntil(lambda: form.current_model is not None, timeout=10_000)
    if form.imagenet_cached.get("resnet18"):
        pytest.skip("ImageNet weights are cached here: they are the default start")
    # the teacher teaches a ResNet that starts from the window's model, at its own input size
    assert form.start_combo.currentData() == "teacher"
    assert form.mode_combo.currentData() == "full" and not form.mode_combo.isEnabled()
    assert form.size_spin.value() == 224  # tiny_weights: a 224 px resnet18
    assert (page.config().start, page.config().student) == ("teacher", str(tiny_weights))
    assert form.start_note.text().startswith("start: teacher-guided (no ImageNet ResNet weights are cached)")
    assert "starts from tiny" in form.start_note.text()
    form.start_combo.setCurrentIndex(form.start_combo.findData("current"))
    # fine-tune its last layer, at the model's own input size
    assert form.mode_combo.currentData() == "head" and form.size_spin.value() == 224
    assert form.arch_combo.currentText() == "resnet18" and not form.arch_combo.isEnabled()
    assert page.config().start == str(tiny_weights)
    assert form.start_note.text().endswith("last layer only (chosen)")


def test_resume_continues_a_cancelled_run_and_old_resume_files_go(window, qtbot, tmp_path):
    page = window.finetune_page
    form, view = page.form, page.run_view
    choose(qtbot, page, make_labeled(tmp_path / "colours", per_class=4))
    tiny_options(page, epochs=3, batch_size=4)
    assert not page.resume_button.isVisibleTo(page)
    first_out = Path(form.out_edit.text())
    page.start()
    qtbot.waitUntil(lambda: len(view.epochs_seen) > 0, timeout=WAIT)
    with qtbot.waitSignal(page.training_finished, timeout=WAIT) as blocker:
        page.cancel()
    assert blocker.args[0].reason == "cancelled" and blocker.args[0].checkpoint == str(first_out)
    resume_file = Path(str(first_out) + ".resume")
    assert resume_file.is_file()
    # the form now offers a new name for Start, and Resume for the stopped run
    assert form.out_edit.text() != str(first_out)
    assert page.resume_button.isVisibleTo(page) and page.resume_button.text() == f"Resume {first_out.stem}"
    stale = first_out.with_name(f"{first_out.stem}-7.pt.resume")  # an older stopped run of this folder
    stale.write_bytes(b"weights and moments")
    page.update_resume()
    assert page.resume_button.text() == f"Resume {first_out.stem}-7"  # the newest first...
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    page.update_resume()
    assert page.resume_button.text() == f"Resume {first_out.stem}"  # ...by time
    with qtbot.waitSignal(page.training_finished, timeout=WAIT) as blocker:
        page.resume_button.click()
        assert page.running and not page.resume_button.isVisibleTo(page)
    done = blocker.args[0]
    assert done.reason == "completed" and done.checkpoint == str(first_out)
    assert view.epochs_seen[0].epoch >= 2 and view.epochs_seen[-1].epoch == 3  # it went on, not from 1
    assert not resume_file.exists() and not stale.exists()  # finished: nothing is left to resume
    assert not page.resume_button.isVisibleTo(page)


def _wheel(widget, dy: int = -120, dx: int = 0) -> None:
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(), QPoint(dx, dy),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_options_and_changes_a_field_only_once_focused(qtbot, settings):
    page = FinetunePage(settings)
    qtbot.addWidget(page)
    page.resize(900, 300)  # short: the options scroll
    page.show()
    form = page.form
    scroll = form.parentWidget().parentWidget()
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0
    size, arch = form.size_spin.value(), form.arch_combo.currentIndex()
    before = bar.value()
    for widget in (form.size_spin, form.arch_combo, form.epochs_spin):
        _wheel(widget)  # the pointer over a field that has no focus
    assert (form.size_spin.value(), form.arch_combo.currentIndex()) == (size, arch)
    assert bar.value() > before  # the wheel scrolled the form instead
    form.size_spin.setFocus()
    qtbot.waitUntil(form.size_spin.hasFocus)
    _wheel(form.size_spin, dy=120)
    assert form.size_spin.value() == size + form.size_spin.singleStep()  # focused: the wheel is its own
    _wheel(form.epochs_spin, dx=-120, dy=0)  # a sideways wheel never moves the panel sideways
    assert scroll.horizontalScrollBar().value() == 0
    page.shutdown()


def test_imagenet_weights_are_offered_first_with_their_download_size(qtbot):
    from PySide6.QtWidgets import QComboBox

    from resnet_gui.gui.finetune import starts

    combo = QComboBox()
    qtbot.addWidget(combo)
    texts = {}
    for cached in (None, False, True):  # not probed yet, probed and missing, in torch's cache
        starts.fill(combo, ("/models/mine.pt", 5), cached, "resnet34")
        texts[cached] = [combo.itemText(i) for i in range(combo.count())]
    assert texts[False][1] == "ImageNet weights (downloads 83 MB once)"  # torchvision's resnet34 file
    assert texts[True][1] == "ImageNet weights (cached)" and texts[None][1] == "ImageNet weights"
    assert texts[False][0] == "Current model (mine.pt)" and texts[False][-1] == "Random (from scratch)"

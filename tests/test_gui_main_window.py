"""The main window and its Classify page on real widgets (offscreen): the real task runner and the real core."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402

from resnet_gui.gui.classify.jobs import KEEP_TOPK  # noqa: E402
from resnet_gui.gui.classify.results import COL_CONFIDENCE, COL_IMAGE  # noqa: E402
from resnet_gui.gui.main_window import MainWindow  # noqa: E402

WAIT = 60_000
REPO = Path(__file__).resolve().parents[1]


def threads_ended(page) -> bool:
    """Every thread of the page's runners has ended (shutdown had nothing left to wait for)."""
    return page.runner.shutdown(0) and page.thumbnails.shutdown()


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    assert threads_ended(win.classify_page)


@pytest.fixture
def loaded(window, qtbot, tiny_weights):
    with qtbot.waitSignal(window.classify_page.model_loaded, timeout=WAIT):
        window.classify_page.use_model(tiny_weights)
    return window


@pytest.fixture(scope="session")
def core_results(tiny_weights):
    """Core's own answers for a list of files: {path: topk}."""

    def run(files) -> dict[str, list]:
        from resnet_gui.core.infer import Classifier, classify_files
        from resnet_gui.core.model.loading import load_model

        classifier = Classifier(load_model(tiny_weights), "cpu")
        return {p.path: p.topk for p in classify_files(classifier, [str(f) for f in files], topk=KEEP_TOPK)}

    return run


def classify_and_wait(qtbot, window, paths, timeout=WAIT):
    page = window.classify_page
    with qtbot.waitSignal(page.run_finished, timeout=timeout) as blocker:
        page.classify([str(p) for p in paths])
    return blocker.args[0]


def test_importing_the_window_does_not_import_torch():
    code = ("import sys, resnet_gui.gui.main_window, resnet_gui.gui.app; "
            "bad = [m for m in ('torch', 'torchvision', 'resnet_gui.core.model.loading', 'resnet_gui.core.infer', "
            "'resnet_gui.cli') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_loading_weights_shows_what_was_loaded(loaded, tiny_weights, settings):
    page = loaded.classify_page
    assert page.model.arch == "resnet18"
    assert page.model.class_names == ["red", "green", "blue"]
    text = page.model_bar.text.text()
    assert "resnet18" in text and "3 classes" in text and "tiny.pth" in text
    assert settings.weights == str(tiny_weights.resolve())
    assert settings.recent_weights[0] == str(tiny_weights.resolve())
    assert loaded.windowTitle().startswith("tiny.pth")
    # torch and the model are frozen out of the garbage collector's full walks (gui/heap.py)
    import gc
    import sys

    assert "torch" in sys.modules and gc.get_freeze_count() > 100_000


def test_results_and_chart_match_core(loaded, qtbot, make_images, core_results, tmp_path):
    page = loaded.classify_page
    files = make_images(5)
    bad = files[0].parent / "broken.jpg"
    bad.write_text("not an image")
    summary = classify_and_wait(qtbot, loaded, [files[0].parent])
    assert (summary.classified, summary.skipped, summary.cancelled) == (5, 1, False)

    expected = core_results(files)
    items = page.result_items()
    assert [i.path for i in items] == [str(f) for f in files]
    for item in items:
        assert [label for label, _ in item.topk] == [label for label, _ in expected[item.path]]
        assert [p for _, p in item.topk] == pytest.approx([p for _, p in expected[item.path]], abs=1e-6)
    # the table shows the top-1 label and confidence
    model = page.results.model
    assert model.data(model.index(2, 1)) == expected[str(files[2])][0][0]
    assert model.data(model.index(2, COL_CONFIDENCE)) == f"{expected[str(files[2])][0][1]:.1%}"
    # skipped files are listed with their reason
    assert page.skipped.entries() == [(str(bad), "not an image Pillow can read")]
    # shown with its folder and what the user can do about it
    assert page.skipped.item(0, 1).text() == bad.parent.name
    assert page.skipped.item(0, 2).text().startswith("not an image Pillow can read (is it a photo?")
    assert page.lists.tabText(1) == "Skipped (1)"
    assert loaded.export_action.isEnabled()

    # selecting an image: its top-k as bars, values equal to the core's
    page.results.select_row(3)
    want = expected[str(files[3])][:5]
    bars = page.preview.chart.bars()
    assert [label for label, _ in bars] == [label for label, _ in want]
    assert [v for _, v in bars] == pytest.approx([p for _, p in want], abs=1e-6)
    page.topk_spin.setValue(2)
    assert [v for _, v in page.preview.chart.bars()] == pytest.approx([p for _, p in want[:2]], abs=1e-6)

    # thumbnails and the large preview arrive from the thumbnail threads
    qtbot.waitUntil(lambda: model.thumbnail(str(files[0])) is not None, timeout=10_000)
    qtbot.waitUntil(page.preview.image.has_picture, timeout=10_000)

    # export: path, top-k labels and probabilities, skipped with their error
    out = page.export_csv(tmp_path / "out.csv")
    rows = list(csv.DictReader(out.open()))
    assert [r["path"] for r in rows] == [str(f) for f in files] + [str(bad)]
    assert rows[1]["label_1"] == expected[str(files[1])][0][0]
    assert float(rows[1]["prob_2"]) == pytest.approx(expected[str(files[1])][1][1], abs=1e-6)
    assert "label_3" not in rows[0] and rows[-1]["error"] == "not an image Pillow can read"


def test_unreadable_files_get_a_null_image(qtbot, tmp_path, make_images):
    from resnet_gui.gui.thumbnails import Thumbnails

    good = make_images(1)[0]
    bad = tmp_path / "broken.jpg"
    bad.write_text("not an image")
    thumbnails = Thumbnails()
    got = {}
    thumbnails.loaded.connect(lambda path, size, image: got.setdefault(path, (size, image)))
    thumbnails.request(str(good), 40)
    thumbnails.request(str(bad), 40)
    qtbot.waitUntil(lambda: len(got) == 2 and thumbnails.idle(), timeout=10_000)
    size, image = got[str(good)]
    assert size == 40 and max(image.width(), image.height()) == 40
    assert got[str(bad)][1].isNull()
    assert thumbnails.shutdown()


def test_filter_sort_and_low_confidence_marks(loaded, qtbot, make_images):
    classify_and_wait(qtbot, loaded, make_images(6))
    panel = loaded.classify_page.results
    items = loaded.classify_page.result_items()
    label = items[0].label
    panel.filter_edit.setText(label)
    assert panel.visible_items() and all(i.label == label for i in panel.visible_items())
    panel.filter_edit.clear()
    panel.table.sortByColumn(COL_CONFIDENCE, Qt.SortOrder.DescendingOrder)
    shown = [i.confidence for i in panel.visible_items()]
    assert shown == sorted(shown, reverse=True) and len(shown) == 6
    # a 3-class random model is never 100% sure: everything is marked at 100 %, nothing at 0 %
    model = panel.model
    panel.low_spin.setValue(100)
    assert all(model.data(model.index(r, COL_IMAGE), Qt.ItemDataRole.BackgroundRole) is not None for r in range(6))
    panel.show_combo.setCurrentIndex(2)  # confident only
    assert panel.visible_items() == []
    page = loaded.classify_page
    # the count says what the filter shows, and a hidden photo is no longer previewed
    assert page.lists.tabText(0) == "Results (0 of 6)" and page.preview._item is None
    panel.low_spin.setValue(0)
    assert len(panel.visible_items()) == 6
    assert page.lists.tabText(0) == "Results (6)"
    assert all(model.data(model.index(r, COL_IMAGE), Qt.ItemDataRole.BackgroundRole) is None for r in range(6))


def _drop(window, paths):
    """What the platform delivers during a drag: DragEnter, then Drop. (QApplication.sendEvent
    will not deliver a Drop without a real drag in progress, so the handlers are called.)"""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPoint(20, 20), *args)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), *args)
    window.dropEvent(drop)
    assert drop.isAccepted()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent's QPoint constructor
def test_dropping_weights_and_images(window, qtbot, tiny_weights, make_images):
    page = window.classify_page
    files = make_images(3)
    with qtbot.waitSignal(page.run_finished, timeout=WAIT) as blocker:
        _drop(window, [tiny_weights, *files])
    assert blocker.args[0].classified == 3
    assert page.model.source == str(tiny_weights.resolve())
    assert [i.path for i in page.result_items()] == [str(f) for f in files]


def test_one_photo_is_counted_in_the_singular(loaded, qtbot, make_images):
    with qtbot.waitSignal(loaded.classify_page.run_finished, timeout=WAIT):
        _drop(loaded, make_images(1))
    qtbot.waitUntil(lambda: "Classified 1 image in" in loaded.statusBar().currentMessage(), timeout=WAIT)


def test_cancel_and_replace(loaded, qtbot, make_images, tmp_path):
    page = loaded.classify_page
    many = make_images(80, size=(32, 32), folder=tmp_path / "many")
    few = make_images(3, folder=tmp_path / "few")
    # a new request while one runs replaces it: only the new run's results are shown
    with qtbot.waitSignal(page.results_arrived, timeout=WAIT):
        page.classify([tmp_path / "many"])
    summary = classify_and_wait(qtbot, loaded, few)
    assert summary.total == 3 and not summary.cancelled
    assert [i.path for i in page.result_items()] == [str(f) for f in few]

    # cancel: fewer results, the run ends and the runner takes the next request
    with qtbot.waitSignal(page.results_arrived, timeout=WAIT):
        page.classify(many)
    cancel_button = page.run_status.cancel_button
    assert cancel_button.isVisible()
    with qtbot.waitSignal(page.run_finished, timeout=WAIT) as blocker:
        cancel_button.click()
    assert blocker.args[0].cancelled
    assert 0 < len(page.result_items()) < len(many)
    assert not page.running and not cancel_button.isVisible()
    assert classify_and_wait(qtbot, loaded, few[:1]).classified == 1


def test_closing_mid_run_cancels_and_joins(loaded, qtbot, make_images, tmp_path):
    page = loaded.classify_page
    make_images(60, size=(32, 32), folder=tmp_path / "many")
    with qtbot.waitSignal(page.results_arrived, timeout=WAIT):
        page.classify([tmp_path / "many"])
    assert page.running and page.runner.busy
    loaded.close()
    assert not page.runner.busy and threads_ended(page)


def test_bad_weights_are_reported_in_the_window(window, qtbot, tmp_path):
    page = window.classify_page
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"this is not a checkpoint")
    with qtbot.waitSignal(page.model_failed, timeout=WAIT):
        page.use_model(bad)
    assert "broken.pth" in page.last_error
    assert window.error_box is not None and window.error_box.isVisible()
    assert "broken.pth" in window.error_box.text()
    assert page.model_bar.state == "error"
    assert "broken.pth" in window.statusBar().currentMessage()


def test_a_failed_load_keeps_the_previous_model(loaded, qtbot, tmp_path, make_images):
    page = loaded.classify_page
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"this is not a checkpoint")
    with qtbot.waitSignal(page.model_failed, timeout=WAIT):
        page.use_model(bad)
    assert page.model.arch == "resnet18" and page.model_bar.state == "ok"
    assert "still using tiny.pth" in loaded.statusBar().currentMessage()
    assert classify_and_wait(qtbot, loaded, make_images(2)).classified == 2


def test_without_weights_it_says_what_to_do(window, qtbot, make_images, tmp_path, monkeypatch):
    page = window.classify_page
    monkeypatch.setenv("RESNET_GUI_WEIGHTS_DIR", str(tmp_path / "empty"))
    page.start(None, [str(p) for p in make_images(2)])
    assert page.model_bar.state == "none"
    assert "Open a weights file" in page.model_bar.text.text()
    assert page.model_bar.download_button.isVisible()
    assert "Choose a model first" in window.statusBar().currentMessage()
    assert page.result_items() == []


def test_settings_round_trip(qtbot, settings, tiny_weights, make_images):
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    page = first.classify_page
    with qtbot.waitSignal(page.model_loaded, timeout=WAIT):
        page.use_model(tiny_weights)
    classify_and_wait(qtbot, first, [make_images(1)[0].parent])
    first.resize(700, 520)  # the offscreen screen is 800x600
    assert (page.topk_spin.value(), page.topk_spin.suffix()) == (3, " of 3")  # never "5 of 3"
    assert settings.topk == 5  # the user's k stays for a model with more classes
    page.topk_spin.setValue(2)
    first.device_combo.setCurrentIndex(first.device_combo.findData("cpu"))
    page.results.low_spin.setValue(35)
    folder = settings.image_folder
    first.close()

    second = MainWindow(settings)
    qtbot.addWidget(second)
    page = second.classify_page
    assert page.topk_spin.value() == 2
    assert second.device() == "cpu"
    assert page.results.low_spin.value() == 35
    assert (second.width(), second.height()) == (700, 520)
    assert settings.image_folder == folder and folder
    assert settings.weights == str(tiny_weights.resolve())
    with qtbot.waitSignal(page.model_loaded, timeout=WAIT):
        page.start()  # no weights given: the last ones are used
    assert page.model.source == str(tiny_weights.resolve())
    second.close()


def test_gpu_out_of_memory_falls_back_to_cpu(loaded, qtbot, make_images, monkeypatch, core_results):
    """A fake GPU classifier that runs out of memory: the run continues on the CPU."""
    import torch

    from resnet_gui.core import infer

    class FakeGpuClassifier(infer.Classifier):
        def __init__(self, loaded_model, device="auto", precision="fp32"):
            super().__init__(loaded_model, "cpu", precision)
            if device == "cuda":
                self.device = torch.device("cuda")

        def predict_batch(self, batch, topk):
            if self.device.type == "cuda":
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return super().predict_batch(batch, topk)

    monkeypatch.setattr(infer, "Classifier", FakeGpuClassifier)
    page = loaded.classify_page
    page.state.device = "cuda"
    with qtbot.waitSignal(page.model_loaded, timeout=WAIT) as blocker:
        page.use_model(page.model.source)
    assert blocker.args[1] == "cuda" and "on CUDA" in page.model_bar.text.text()
    files = make_images(3)
    with qtbot.waitSignal(page.status_message, timeout=WAIT,
                          check_params_cb=lambda text, _ms: "Out of memory" in text):
        summary = classify_and_wait(qtbot, loaded, files)
    assert (summary.classified, summary.device) == (3, "cpu")
    expected = core_results(files)
    for item in page.result_items():
        assert [p for _, p in item.topk] == pytest.approx([p for _, p in expected[item.path]], abs=1e-6)


def test_self_test_command(tiny_weights, make_images, tmp_path):
    files = make_images(2)
    shot = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "resnet_gui", "--self-test", "--weights", str(tiny_weights),
                           *map(str, files), "--screenshot", str(shot)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "Destroyed while thread" not in done.stderr
    *lines, last = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(f) for f in files]
    # the last line: what ran, and the GUI thread's longest stall (measured, not asserted)
    summary = last["summary"]
    assert summary["images"] == 2 and summary["seconds"] > 0
    assert isinstance(summary["max_gui_stall_ms"], float)  # reported; its size is bench_gui's business
    assert all(len(line["topk"]) == 3 for line in lines)  # 3 classes, k=5 asks for at most 3
    assert shot.stat().st_size > 10_000


def test_job_errors_reach_the_window(loaded, qtbot, make_images, monkeypatch):
    from resnet_gui.core import infer

    def broken(*args, **kwargs):
        raise RuntimeError("boom in the job")
        yield  # pragma: no cover

    monkeypatch.setattr(infer, "classify_files", broken)
    page = loaded.classify_page
    summary = classify_and_wait(qtbot, loaded, make_images(2))
    assert summary.failed and summary.classified == 0
    assert "boom in the job" in page.last_error
    assert loaded.error_box is not None and loaded.error_box.isVisible()
    assert "boom in the job" in loaded.error_box.detailedText()  # the traceback
    assert "boom in the job" in loaded.statusBar().currentMessage()


def test_switching_device_reloads_and_reruns(loaded, qtbot, make_images, tmp_path):
    page = loaded.classify_page
    make_images(40, size=(32, 32), folder=tmp_path / "many")
    with qtbot.waitSignal(page.results_arrived, timeout=WAIT):
        page.classify([tmp_path / "many"])
    # switching mid-run: the run is cancelled, the model moves, the same images run again
    finished = []
    page.run_finished.connect(finished.append)
    with qtbot.waitSignal(page.model_loaded, timeout=WAIT) as blocker:
        loaded.set_device("cpu")
    assert blocker.args[1] == "cpu" and loaded.settings.device == "cpu"
    qtbot.waitUntil(lambda: finished and not finished[-1].cancelled, timeout=WAIT)
    assert finished[0].cancelled and finished[-1].classified == 40
    assert len(page.result_items()) == 40


def test_download_shows_progress_then_loads(window, qtbot, tiny_weights, monkeypatch):
    """The download is the core's iter_download driven by the page's runner: its progress
    reaches the model bar, then the weights load, and the generator is closed."""
    from resnet_gui.core.model import download

    closed = []

    def fake_download(arch, **kwargs):
        try:
            for done in (0, 50, 100):
                yield done, 100
        finally:
            closed.append(arch)
        return tiny_weights

    monkeypatch.setattr(download, "iter_download", fake_download)
    page = window.classify_page
    seen = []
    shown = page.model_bar.show_download
    monkeypatch.setattr(page.model_bar, "show_download",
                        lambda arch, done=0, total=0: seen.append((arch, done, total)) or shown(arch, done, total))
    with qtbot.waitSignal(page.model_loaded, timeout=WAIT):
        page.download_imagenet("resnet18")
    assert seen[0] == ("resnet18", 0, 0) and seen[-1] == ("resnet18", 100, 100)
    assert page.model.source == str(tiny_weights) and closed == ["resnet18"]


def test_cancelling_a_download_keeps_no_model(window, qtbot, monkeypatch):
    from resnet_gui.core.model import download

    closed = []

    def slow_download(arch, **kwargs):
        try:
            while True:  # the job stops pulling (and closes it) once cancelled
                yield 10, 100
                time.sleep(0.01)
        finally:
            closed.append("cancelled")

    monkeypatch.setattr(download, "iter_download", slow_download)
    page = window.classify_page
    page.download_imagenet("resnet18")
    qtbot.waitUntil(lambda: page.model_bar.progress.value() == 100, timeout=WAIT)
    with qtbot.waitSignal(page.model_failed, timeout=WAIT) as blocker:
        page.model_bar.cancel_button.click()
    assert blocker.args[0] == "Download cancelled." and page.model is None and closed == ["cancelled"]
    assert window.error_box is None and "Download cancelled." in window.statusBar().currentMessage()


def test_results_belong_to_the_model_that_made_them(loaded, qtbot, tiny_weights, make_images, tmp_path,
                                                     monkeypatch):
    import shutil

    from resnet_gui.gui.classify import run_control

    page = loaded.classify_page
    files = make_images(3)
    classify_and_wait(qtbot, loaded, files)
    assert page.results_model == str(tiny_weights) and page.lists.tabToolTip(0) == "Made by tiny.pth"
    other = tmp_path / "other" / "second.pth"
    other.parent.mkdir()
    shutil.copy(tiny_weights, other)
    shutil.copy(tiny_weights.parent / "class_indices.json", other.parent)
    # a small run is classified again at once with the new model
    with qtbot.waitSignal(page.run_finished, timeout=WAIT):
        page.use_model(other)
    assert page.results_model == str(other) and len(page.result_items()) == 3
    assert page.lists.tabToolTip(0) == "Made by second.pth"
    # a bigger one is cleared (nothing from the old model stays on screen) and offered again
    monkeypatch.setattr(run_control, "AUTO_RERUN_LIMIT", 2)
    with qtbot.waitSignal(page.model_loaded, timeout=WAIT):
        page.use_model(tiny_weights)
    assert page.result_items() == [] and page.results_model == ""
    assert page.preview.chart.predictions() == [] and loaded.rerun_action.isEnabled()
    with qtbot.waitSignal(page.run_finished, timeout=WAIT):
        loaded.rerun_action.trigger()
    assert page.results_model == str(tiny_weights) and len(page.result_items()) == 3


def test_show_them_opens_the_leaking_groups_on_the_review_page(window, qtbot, make_images, tmp_path):
    """The Fine-tune page's leak warning asks; the window shows the groups on the Review page."""
    from resnet_gui.core.review.duplicates import DuplicateGroup

    a, b = make_images(2)
    group = DuplicateGroup([str(a), str(b)], "exact", 1.0, ["train", "val"])
    window.finetune_page.show_leaks_requested.emit(str(tmp_path), [group])
    review = window.review_page
    assert window.tabs.currentWidget() is review and review.data_dir == str(tmp_path)
    assert review.tabs.currentIndex() == review.duplicates_tab and len(review.duplicates.group_titles()) == 1
    assert review.leak_banner.isVisibleTo(review)

"""Issue 10 item 7 on real widgets: every phase of a run shows a count and an ETA, and before
Start the page shows an estimate of the run's time measured on this machine, in the background."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pytestqt")

from resnet_gui.core.train import events  # noqa: E402
from resnet_gui.gui.finetune import estimate as estimate_view  # noqa: E402
from resnet_gui.gui.finetune.page import FinetunePage  # noqa: E402
from test_gui_finetune_page import WAIT, choose, make_labeled  # noqa: E402


@pytest.fixture
def page(qtbot):
    page = FinetunePage()
    qtbot.addWidget(page)
    page.resize(1000, 600)
    page.show()
    yield page
    assert page.shutdown()


def tiny(page, mode: str, epochs: int = 2) -> None:
    form = page.form
    form.start_combo.setCurrentIndex(form.start_combo.findData("scratch"))
    form.arch_combo.setCurrentText("resnet18")
    form.mode_combo.setCurrentIndex(form.mode_combo.findData(mode))
    form.epochs_spin.setValue(epochs)
    form.size_spin.setValue(32)
    form.batch_spin.setValue(8)
    form.val_spin.setValue(25)


def test_a_head_only_run_shows_each_phase_with_a_count_and_an_eta(page, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(events, "PHASE_INTERVAL", 0.0)  # every chunk reports
    view = page.run_view
    shown = []  # what the bar and the ETA said at each phase event
    show_phase = view.show_phase

    def record(event):
        show_phase(event)
        shown.append((event.phase, view.progress.format(), view.progress.value(), view.progress.maximum(),
                      view.rate_label.text(), view.status_label.text()))

    monkeypatch.setattr(view, "show_phase", record)
    page._views[events.PhaseProgress] = record
    choose(qtbot, page, make_labeled(tmp_path / "colours", per_class=30))
    tiny(page, "head")
    with qtbot.waitSignal(page.training_finished, timeout=WAIT) as blocker:
        assert page.start()
    assert blocker.args[0].reason == "completed", page.last_error

    phases = [s[0] for s in shown]
    assert phases.index("reading") < phases.index("features") < phases.index("saving")
    features = [s for s in shown if s[0] == "features"]
    total = 2 * 66 + 24  # 90 photos, 8 of each 30 held out: 66 training photos and their mirror images, 24 validation
    assert features[0][1] == f"Computing features · 0 / {total}" and features[0][3] == total  # no rate yet
    assert features[-1][1] == f"Computing features · {total} / {total} · ETA 0:00" and features[-1][2] == total
    # a count and an ETA once running, in the bar's own text (a label beside it would lag)
    assert all(re.fullmatch(r"Computing features · \d+ / \d+ · ETA \d+:\d\d", s[1]) for s in features[1:])
    assert features[0][5] == "Computing features with the frozen backbone…"
    reading = [s for s in shown if s[0] == "reading"]
    assert reading[-1][1] == "Reading photos · 90 / 90 · ETA 0:00"
    saving = [s for s in shown if s[0] == "saving"]
    assert saving[0][1] == "Saving the model…" and re.fullmatch(r"Saving the model… · ETA \d+:\d\d", saving[-1][1])
    # after the last epoch the bar shows the whole run done
    assert view.progress.value() == view.progress.maximum()


def test_the_estimate_appears_before_start_without_blocking(page, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(estimate_view, "DEBOUNCE_MS", 50)
    label = page.estimate
    label._timer.setInterval(50)
    assert label.isHidden()  # nothing to estimate without a folder
    choose(qtbot, page, make_labeled(tmp_path / "colours", per_class=20))
    tiny(page, "full", epochs=4)
    # the measurement runs in the background: the GUI thread is back at once, saying so
    assert label.measuring and "measuring" in label.text() and label.isVisible()
    qtbot.waitUntil(lambda: "about" in label.text(), timeout=WAIT)
    assert re.fullmatch(r"Estimated time: about \d+ (s|min) \(measured on this machine, CPU\)", label.text())
    assert label.speed.train > 0 and label.speed.forward > 0
    assert "4 epochs (45 training, 15 validation photos)" in label.toolTip()
    four = label.estimate.seconds

    # more epochs: plain arithmetic, at once, no new measurement
    page.form.epochs_spin.setValue(8)
    assert not label.measuring
    assert label.estimate.seconds > four and "8 epochs" in label.toolTip()

    # another mode: the speed differs, so it is measured again; head mode trains no backbone
    page.form.mode_combo.setCurrentIndex(page.form.mode_combo.findData("head"))
    assert label.measuring
    qtbot.waitUntil(lambda: "about" in label.text() and not label.measuring, timeout=WAIT)
    assert label.speed.train == 0 and "computing features of" in label.toolTip()


def test_a_run_pauses_the_measurement(page, qtbot, tmp_path):
    choose(qtbot, page, make_labeled(tmp_path / "colours", per_class=8))
    tiny(page, "full", epochs=1)
    assert page.estimate.measuring
    with qtbot.waitSignal(page.training_finished, timeout=WAIT):
        assert page.start()
        assert not page.estimate.measuring  # nothing competes with the run for the CPU

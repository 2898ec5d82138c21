"""Every phase of a fine-tune outside the training steps reports a count and an ETA
(PhaseProgress), at a bounded rate."""

from __future__ import annotations

import math

import pytest

from resnet_gui.core.train import events
from resnet_gui.core.train.events import BatchProgress, EpochEnd, PhaseMeter, PhaseProgress
from resnet_gui.core.train.fine_tune import fine_tune
from test_core_training import make_labeled, small_cfg


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_meter_counts_estimates_and_bounds_its_rate():
    clock = FakeClock()
    meter = PhaseMeter("features", "computing features", 1000, interval=0.25, clock=clock)
    first = meter.start()
    assert (first.done, first.total) == (0, 1000) and math.isnan(first.eta_seconds)
    clock.now += 1.0
    event = meter.advance(100)  # 100 images in 1 s: 900 left, 9 s
    assert event.done == 100 and event.eta_seconds == pytest.approx(9.0)
    clock.now += 0.1
    assert meter.advance(100) is None  # too soon after the last one
    clock.now += 0.1
    last = meter.advance(800)  # the last one always comes
    assert last.done == 1000 and last.eta_seconds == pytest.approx(0.0)


def test_meter_uses_the_last_duration_before_it_has_a_rate():
    assert PhaseMeter("saving", "saving", 1, expected=2.5).start().eta_seconds == 2.5


@pytest.fixture
def every_event(monkeypatch):
    monkeypatch.setattr(events, "PHASE_INTERVAL", 0.0)  # every chunk reports: the test sees them all


def phases(evts, name):
    return [e for e in evts if isinstance(e, PhaseProgress) and e.phase == name]


def test_head_run_reports_reading_features_and_saving(tmp_path, every_event, monkeypatch):
    from resnet_gui.core.train import setup

    monkeypatch.setattr(setup, "DECODE_CHUNK", 10)  # several chunks from a small folder
    data = make_labeled(tmp_path / "data", per_class=12)
    evts = list(fine_tune(small_cfg(tmp_path, data, mode="head", epochs=2, batch_size=16)))
    reading = phases(evts, "reading")
    assert [e.done for e in reading] == [0, 10, 20, 27, 36]  # 27 training (in 10s), then 9 validation images
    assert all(e.total == 36 for e in reading)
    assert all(math.isfinite(e.eta_seconds) and e.eta_seconds >= 0 for e in reading[1:])
    features = phases(evts, "features")  # training images, flipped copies, validation images
    assert features[0].done == 0 and features[-1].done == features[-1].total == 27 + 27 + 9
    assert len(features) >= 4 and all(math.isfinite(e.eta_seconds) for e in features[1:])
    saving = phases(evts, "saving")
    assert len(saving) == 2 and all(e.total == 1 for e in saving)
    assert math.isnan(saving[0].eta_seconds) and saving[1].eta_seconds > 0  # the first save times the next
    # the order a user sees: read, features, then epochs
    kinds = [type(e).__name__ + ":" + getattr(e, "phase", "") for e in evts]
    assert kinds.index("PhaseProgress:features") < kinds.index("BatchProgress:") < kinds.index("EpochEnd:")
    assert not phases(evts, "validating")  # head mode validates on cached features: instant


def test_full_run_reports_validation_with_a_count(tmp_path, every_event, monkeypatch):
    from resnet_gui.core.train import steps

    monkeypatch.setattr(steps, "FEATURE_CHUNK", 4)
    data = make_labeled(tmp_path / "data", per_class=8)
    evts = list(fine_tune(small_cfg(tmp_path, data, epochs=1, batch_size=8)))
    validating = phases(evts, "validating")
    assert [e.done for e in validating] == [0, 4, 6] and all(e.total == 6 for e in validating)
    assert all(math.isfinite(e.eta_seconds) for e in validating[1:])
    order = [type(e) for e in evts]
    last_batch = max(i for i, t in enumerate(order) if t is BatchProgress)
    assert last_batch < evts.index(validating[0]) < order.index(EpochEnd)


def test_cancel_while_computing_features_saves_nothing(tmp_path, every_event):
    data = make_labeled(tmp_path / "data", per_class=12)
    seen = []

    def stop() -> bool:
        return any(e.phase == "features" and e.done > 0 for e in seen)

    for event in fine_tune(small_cfg(tmp_path, data, mode="head", epochs=2), stop):
        if isinstance(event, PhaseProgress):
            seen.append(event)
        last = event
    assert last.reason == "cancelled" and last.checkpoint is None
    assert not any(isinstance(e, EpochEnd) for e in seen)

"""The run-time estimate: the arithmetic from a measured speed, its wording, a cancelled measurement."""

from __future__ import annotations

import pytest

from resnet_gui.core.train.config import TrainConfig
from resnet_gui.core.train.estimate import Speed, about, estimate_run, measure_speed

SPEED = Speed("cpu", decode=0.01, forward=0.05, train=0.2, save=1.0, calibration_rows=2048)


def test_head_mode_pays_for_features_once_and_little_per_epoch():
    est = estimate_run(SPEED, "head", epochs=30, n_train=800, n_val=200)
    parts = dict(est.parts)
    assert parts["reading 1,000 photos"] == pytest.approx(10.0)
    assert parts["computing features of 1,800 images"] == pytest.approx(90.0)  # training twice (mirrored) + val
    assert parts["30 epochs of the last layer"] == pytest.approx(30.0)
    assert parts["calibrating confidence on 1,000 photos"] == pytest.approx(50.0)
    assert est.seconds == pytest.approx(180.0) and est.describe() == "about 3 min"


def test_whole_network_epochs_train_and_validate():
    est = estimate_run(SPEED, "full", epochs=10, n_train=800, n_val=200)
    per_epoch = 800 * 0.2 + 200 * 0.05 + 1.0
    assert dict(est.parts)["10 epochs (800 training, 200 validation photos)"] == pytest.approx(10 * per_epoch)
    assert "calibrating confidence on 1,000 photos: 1 min" in est.breakdown()


@pytest.mark.parametrize("seconds, text", [(3, "about 5 s"), (42, "about 40 s"), (61, "about 1 min"),
                                           (240, "about 4 min"), (5400, "about 1 h 30 min"),
                                           (float("nan"), "unknown")])
def test_wording(seconds, text):
    assert about(seconds) == text


def test_a_cancelled_measurement_returns_none(tmp_path):
    cfg = TrainConfig(str(tmp_path), str(tmp_path / "m.pt"), arch="resnet18", start="scratch", mode="full",
                      image_size=32, batch_size=4)
    assert measure_speed(cfg, "resnet18", [], lambda: True) is None

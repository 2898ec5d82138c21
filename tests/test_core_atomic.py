"""The one file writer: all or nothing, no litter, ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from resnet_gui.core.atomic import atomic_write
from resnet_gui.core.results_csv import write_predictions_csv
from resnet_gui.core.infer import Prediction


def test_success_replaces_the_file_with_umask_permissions(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    old_umask = os.umask(0o022)
    try:
        with atomic_write(target, "w", encoding="utf-8") as handle:
            handle.write("new")
    finally:
        os.umask(old_umask)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # mkstemp would give 0600
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_an_error_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"last good")
    with pytest.raises(OSError, match="disk full"):
        with atomic_write(target) as handle:
            handle.write(b"half of the new")
            raise OSError(28, "disk full")
    assert target.read_bytes() == b"last good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_only_whole_file_modes(tmp_path):
    with pytest.raises(ValueError, match="whole files"):
        with atomic_write(tmp_path / "x", "a"):
            pass


def test_csv_export_goes_through_it(tmp_path, monkeypatch):
    target = tmp_path / "p.csv"
    target.write_text("previous export\n")
    rows = [Prediction(0, "a.jpg", [("daisy", 0.9)]), Prediction(1, "b.jpg", error="not an image")]

    def broken_iter():
        yield rows[0]
        raise KeyboardInterrupt  # killed while writing

    with pytest.raises(KeyboardInterrupt):
        write_predictions_csv(target, broken_iter(), 1)
    assert target.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]
    write_predictions_csv(target, rows, 1)
    assert target.read_text().splitlines() == ["path,label_1,prob_1,error", "a.jpg,daisy,0.900000,",
                                               "b.jpg,,,not an image"]

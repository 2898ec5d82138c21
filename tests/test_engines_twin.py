"""A trained model's int8 twin (core/engines/twin.py): made from the run's own split, refused
under the stricter rule, cancellable, and then what ``classify`` runs by default."""

from __future__ import annotations

import shutil

import pytest

from files_support import run_steps
from resnet_gui.cli import main
from resnet_gui.core.engines.quantize import Int8Verdict, QuantizeError, check_verdict
from resnet_gui.core.engines.twin import (MIN_TWIN_AGREEMENT, has_twin, make_twin, run_split, twin_of_run,
                                          twin_path)

CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


@pytest.fixture(scope="module")
def flowers(shared_data, tmp_path_factory):
    """The shipped model copied as if a user had trained it, and 10 real photos per class."""
    root = tmp_path_factory.mktemp("twin")
    weights = root / "flowers.pt"
    shutil.copyfile(__import__("weights").__path__[0] + "/default.pt", weights)
    data = root / "data"
    for name in CLASSES:
        (data / name).mkdir(parents=True)
        for photo in sorted((shared_data / "flowers-photos" / name).glob("*.jpg"))[:10]:
            shutil.copyfile(photo, data / name / photo.name)
    return weights, data


def test_the_twin_is_checked_on_the_runs_validation_photos_and_classify_uses_it(flowers, capsys):
    weights, data = flowers
    split = run_split(CLASSES, data, val_split=0.5, seed=0)
    assert len(split.held_out) == 25 and len(split.calibrate) == 25
    assert not set(split.held_out) & set(split.calibrate)  # calibrated on training photos, judged on the others
    assert [CLASSES[label] for label in split.labels] == [p.parent.name for p in split.held_out]
    assert not has_twin(weights)

    lines, result = run_steps(make_twin(weights, split))
    assert result.out == twin_path(weights) == weights.with_name("flowers.int8.onnx") and result.out.is_file()
    verdict = result.verdict
    assert verdict.images == 25 and verdict.agreement >= MIN_TWIN_AGREEMENT
    assert verdict.speedup > 0  # timed while judging; how much faster is bench/'s business, not a test's
    assert verdict.fp32_accuracy - verdict.int8_accuracy <= 0.01
    assert result.note.startswith("int8 twin flowers.int8.onnx: ") and "x the speed of fp32" in result.note
    assert "on 25 validation photos" in result.note and "accuracy" in result.note and "made in" in result.note
    assert any("calibrating int8 on 25 photos" in line for line in lines)
    assert has_twin(weights)

    capsys.readouterr()
    assert main(["classify", "--weights", str(weights), "--device", "cpu", str(data / "roses")]) == 0
    assert "onnxruntime int8 on cpu (flowers.int8.onnx)" in capsys.readouterr().err

    changed = weights.with_name("retrained.pt")  # other weights, the old twin beside them: not theirs
    changed.write_bytes(weights.read_bytes() + b"\0")
    shutil.copyfile(result.out, twin_path(changed))
    assert not has_twin(changed)


def test_too_few_validation_photos_or_a_cancel_write_nothing(flowers):
    weights, data = flowers
    copy = weights.with_name("few.pt")
    shutil.copyfile(weights, copy)
    _, result = run_steps(twin_of_run(copy, data, val_split=0.2))  # 10 validation photos
    assert result.out is None and not twin_path(copy).exists()
    assert result.note == ("int8 twin not made: 10 validation photos to check it on (at least 20 needed); "
                           "few.pt runs in fp32")

    calls = []
    stop = lambda: calls.append(1) or len(calls) > 1  # noqa: E731 - cancelled after the export step
    _, result = run_steps(twin_of_run(copy, data, val_split=0.5, should_stop=stop))
    assert result.out is None and result.note == "int8 twin cancelled; nothing was written"
    assert not twin_path(copy).exists()


def test_a_folder_that_is_not_the_models_classes_is_a_note(flowers, tmp_path):
    weights, _ = flowers
    _, result = run_steps(twin_of_run(weights, tmp_path / "missing"))
    assert result.out is None and result.note.startswith("int8 twin not made (") and "missing" in result.note


def test_the_twins_rule_is_stricter_than_exports():
    check_verdict(Int8Verdict(500, 0.975, 0.876, 0.870))  # export --int8: 97 % is enough
    with pytest.raises(QuantizeError, match="agreement 98.5%.*at least 99% agreement"):
        check_verdict(Int8Verdict(500, 0.985, 0.876, 0.876, MIN_TWIN_AGREEMENT))
    with pytest.raises(QuantizeError, match="accuracy fp32 87.6%, int8 86.4%"):
        check_verdict(Int8Verdict(500, 0.995, 0.876, 0.864, MIN_TWIN_AGREEMENT))
    check_verdict(Int8Verdict(500, 0.99, 0.876, 0.870, MIN_TWIN_AGREEMENT))
    assert Int8Verdict(10, 1.0, None, None, fp32_seconds=3.0, int8_seconds=1.5).speedup == 2.0
    assert Int8Verdict(10, 1.0, None, None).speedup is None

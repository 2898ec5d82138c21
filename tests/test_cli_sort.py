"""``resnet-gui sort`` and ``resnet-gui undo``: copy, move, dry run, unsure folder, undo, phone
formats, and a real sort process killed at random moments."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from files_support import hashes, snapshot
from resnet_gui.cli import main
from resnet_gui.core.files.journal import Journal, run_all


def _sort(capsys, *args) -> tuple[int, dict]:
    code = main(["sort", *map(str, args), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_copy_sort_then_undo(tmp_path, capsys, make_images, tiny_weights):
    make_images(8)
    src = tmp_path / "images"
    before = snapshot(src)
    code, summary = _sort(capsys, src, "--into", tmp_path / "out", "--weights", tiny_weights, "--min-confidence", "0")
    assert code == 0 and summary["done"] == 8 and sum(summary["folders"].values()) == 8
    assert set(summary["folders"]) <= {"red", "green", "blue"}
    assert snapshot(src) == before  # a copy: the photos are where they were, unchanged
    assert hashes(tmp_path / "out") == hashes(src)
    assert main(["undo", summary["journal"]]) == 0
    assert "undone: 8 files" in capsys.readouterr().out
    assert not list((tmp_path / "out").rglob("*.png")) and snapshot(src) == before


def test_sort_with_onnx_weights(tmp_path, capsys, make_images, tiny_weights):
    """sort opens models the way classify does, so an exported .onnx sorts like its .pth."""
    from resnet_gui.core.engines.export import export_onnx, file_sha256
    from resnet_gui.core.model.loading import load_model

    onnx = export_onnx(load_model(tiny_weights), tmp_path / "tiny.onnx", file_sha256(tiny_weights))
    make_images(4)
    runs = [_sort(capsys, tmp_path / "images", "--into", tmp_path / name, "--weights", weights, "--min-confidence", "0",
                  "--dry-run") for name, weights in (("a", onnx), ("b", tiny_weights))]
    assert [code for code, _ in runs] == [0, 0]
    assert runs[0][1]["folders"] == runs[1][1]["folders"] and sum(runs[0][1]["folders"].values()) == 4


def test_unsure_folder_and_dry_run_writes_nothing(tmp_path, capsys, make_images, tiny_weights):
    make_images(6)
    code, summary = _sort(capsys, tmp_path / "images", "--into", tmp_path / "out", "--weights", tiny_weights,
                          "--min-confidence", "1", "--dry-run")
    assert code == 0 and summary["dry_run"] and summary["folders"] == {"_unsure": 6} and summary["journal"] is None
    assert not (tmp_path / "out").exists()
    code, summary = _sort(capsys, tmp_path / "images", "--into", tmp_path / "out", "--weights", tiny_weights,
                          "--min-confidence", "1")
    assert len(list((tmp_path / "out" / "_unsure").iterdir())) == 6


def test_move_sort_and_text_summary(tmp_path, capsys, make_images, tiny_weights):
    make_images(5)
    src = tmp_path / "images"
    original = hashes(src)
    assert main(["sort", str(src), "--into", str(tmp_path / "out"), "--move", "--weights", str(tiny_weights),
                 "--min-confidence", "0"]) == 0
    captured = capsys.readouterr()
    assert "moved 5 photos into" in captured.out and "undo with: resnet-gui undo " in captured.out
    assert "journal: " in captured.err
    assert not list(src.iterdir()) and hashes(tmp_path / "out") == original
    journal = captured.out.split("undo with: resnet-gui undo ")[1].strip()
    assert main(["undo", journal]) == 0 and hashes(src) == original
    assert main(["undo", journal, "--redo"]) == 0 and not list(src.iterdir())


def test_bad_input_gets_one_line(tmp_path, capsys, make_images, tiny_weights):
    make_images(2)
    assert main(["sort", str(tmp_path / "images"), "--into", str(tmp_path / "images" / "x"),
                 "--weights", str(tiny_weights)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert main(["undo", str(tmp_path / "nope.jsonl")]) == 2
    assert "no journal at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sort", str(tmp_path), "--into", str(tmp_path / "o"), "--min-confidence", "7"])


def test_move_does_not_take_files_through_a_linked_folder(tmp_path, capsys, make_images, tiny_weights):
    """``src/link -> elsewhere``: a move must not remove originals outside the folders it was given."""
    make_images(2)
    elsewhere = tmp_path / "elsewhere"
    make_images(2, folder=elsewhere)
    (tmp_path / "images" / "link").symlink_to(elsewhere, target_is_directory=True)
    before, outside = snapshot(tmp_path / "images"), snapshot(elsewhere)
    code = main(["sort", str(tmp_path / "images"), "--into", str(tmp_path / "out"), "--move",
                 "--weights", str(tiny_weights), "--min-confidence", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error: ") and "through a link" in err[-1] and "Traceback" not in err
    assert snapshot(elsewhere) == outside and snapshot(tmp_path / "images") == before
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.png"))
    code, summary = _sort(capsys, tmp_path / "images", "--into", tmp_path / "out", "--weights", tiny_weights,
                          "--min-confidence", "0")  # a copy may read through the link: nothing is removed
    assert code == 0 and summary["done"] == 4 and snapshot(elsewhere) == outside


def test_heic_avif_webp_and_rotated_jpeg_are_sorted(tmp_path, capsys, tiny_weights):
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    src = tmp_path / "phone"
    src.mkdir()
    picture = Image.new("RGB", (64, 48), (200, 30, 30))
    picture.save(src / "a.heic", format="HEIF")
    picture.save(src / "b.avif", format="AVIF")
    picture.save(src / "c.webp", format="WEBP")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the camera held sideways
    picture.save(src / "d.jpg", exif=exif)
    code, summary = _sort(capsys, src, "--into", tmp_path / "out", "--weights", tiny_weights, "--min-confidence", "0")
    assert code == 0 and summary["done"] == 4 and not summary["skipped"]
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.*") if ".resnet-gui" not in p.parts) == \
        ["a.heic", "b.avif", "c.webp", "d.jpg"]


def _photos(folder: Path, n: int) -> None:
    """Photos big enough (~0.5 MB) that a kill often lands inside a copy."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(n)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)).save(folder / f"p{i:02d}.png")


def _kill_one(tmp: Path, weights: Path, seed: int) -> subprocess.Popen:
    rng = random.Random(seed)
    cmd = [sys.executable, "-m", "resnet_gui", "sort", str(tmp / "src"), "--into", str(tmp / "out"), "--move",
           "--weights", str(weights), "--min-confidence", "0.34"]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # mostly once the k-th move has begun (journaled: inside the moves, however fast this machine
    # is), sometimes at any time (classifying, planning)
    process.kill_at = (rng.randint(1, 15), rng.random() < 0.2)
    return process


def _moves_begun(tmp: Path) -> int:
    """How many moves the journal says have begun ("start" records; each record is flushed)."""
    count = 0
    for journal in (tmp / "out" / ".resnet-gui").glob("*.jsonl"):
        for line in journal.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                count += json.loads(line).get("t") == "start"
            except ValueError:  # a line being written
                pass
    return count


@pytest.mark.slow
def test_killed_move_sort_loses_nothing_and_can_finish_or_undo(tmp_path, tiny_weights):
    """A real ``resnet-gui sort --move`` killed (SIGKILL) at random moments, 20 times."""
    rounds = 20
    mid_batch = 0
    for group in range(0, rounds, 4):  # four processes at a time: torch starts slowly
        runs = []
        for seed in range(group, group + 4):
            tmp = tmp_path / f"run{seed}"
            _photos(tmp / "src", 16)
            runs.append((tmp, hashes(tmp / "src"), _kill_one(tmp, tiny_weights, seed), time.monotonic()))
        pending = list(runs)
        while pending:
            for run in list(pending):
                tmp, _, process, started = run
                after, anytime = process.kill_at
                if process.poll() is not None:
                    pending.remove(run)
                    continue
                if (time.monotonic() - started >= after * 0.6 if anytime else _moves_begun(tmp) >= after):
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    pending.remove(run)
            time.sleep(0.003)
        for index, (tmp, original, _, _) in enumerate(runs):
            out = tmp / "out"
            # wherever the kill landed, every photo is in the source or the destination (or both)
            assert set(hashes(tmp / "src", out)) == set(original)
            journals = list((out / ".resnet-gui").glob("*.jsonl")) if out.exists() else []
            if not journals:
                assert hashes(tmp / "src") == original  # killed while classifying: nothing moved
                continue
            journal = Journal(journals[0])
            mid_batch += journal.interrupted is not None
            finish = (group + index) % 2 == 0
            if journal.interrupted is not None and finish:
                run_all(journal.finish())
            elif journal.can_undo is not None and not finish:
                run_all(journal.undo())
            journal.close()
            assert Journal(journals[0]).interrupted is None
            where = out if finish else tmp / "src"
            assert hashes(where) == original and hashes(tmp / "src", out) == original
    print(f"{mid_batch} of {rounds} kills landed inside the file operations")
    assert mid_batch >= 3, f"only {mid_batch} of {rounds} kills landed inside the file operations"


def test_photos_marked_unknown_go_to_their_own_folder_unless_turned_off(tmp_path, make_images):
    import argparse

    from resnet_gui.cli import sort
    from resnet_gui.core.infer import Prediction

    photos = make_images(3)
    predictions = [Prediction(0, str(photos[0]), [("dandelion", 0.923)], ood_score=9.0, unknown=True),
                   Prediction(1, str(photos[1]), [("dandelion", 0.95)], ood_score=1.0, unknown=False),
                   Prediction(2, str(photos[2]), [("roses", 0.40)], ood_score=None, unknown=None)]
    parser = argparse.ArgumentParser()
    sort.add_parser(parser.add_subparsers())
    for flags, expected in (([], {"_unknown": 1, "dandelion": 1, "_unsure": 1}),
                            (["--no-unknown-folder"], {"dandelion": 2, "_unsure": 1})):
        args = parser.parse_args(["sort", str(tmp_path / "images"), "--into", str(tmp_path / "out"), *flags])
        plan, skipped = sort._plan(predictions, tmp_path / "out", args)
        assert {Path(folder).name: n for folder, n in plan.folder_counts().items()} == expected and not skipped

"""Train/validation leakage found before training (core/review/leakage.py), shown on the
Fine-tune page with "Show them", and shown by the Review page's show_leaks. Real files: crops
of flowers-photos when ../shared/data is here, else distinct smooth random pictures."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from files_support import run_steps
from resnet_gui.core.review.leakage import check_leakage
from resnet_gui.core.train.config import TrainingError
from resnet_gui.core.train.events import Stage

# ../shared/data beside the checkout (as conftest.py finds it), or RESNET_GUI_SHARED_DATA
SHARED_DATA = Path(os.environ.get("RESNET_GUI_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
CLASSES = ("daisy", "roses")
PER_CLASS = 6
WAIT = 60_000  # a loaded 2-core machine: the first torch import in a worker thread


def _pictures(n: int) -> list[Image.Image]:
    """``n`` distinct 120 x 90 pictures: crops of real photos, or smooth random colour fields."""
    source = SHARED_DATA / "flowers-photos"
    if source.is_dir():
        files = sorted(source.glob("*/*.jpg"))[::97][:n]  # spread over the classes
        out = []
        for path in files:
            with Image.open(path) as img:
                img = img.convert("RGB")
                w, h = img.size
                side = min(w, h * 4 // 3)
                box = ((w - side) // 2, (h - side * 3 // 4) // 2)
                out.append(img.crop((*box, box[0] + side, box[1] + side * 3 // 4)).resize((120, 90)))
        if len(out) == n:
            return out
    rng = np.random.default_rng(7)
    return [Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((120, 90), Image.BICUBIC)
            for _ in range(n)]


def _resized_copy(src: Path, dst: Path) -> None:
    """The same picture at 60 %, re-encoded as JPEG quality 70."""
    with Image.open(src) as img:
        img.convert("RGB").resize((round(img.width * 0.6), round(img.height * 0.6)), Image.BILINEAR).save(
            dst, quality=70)


def make_folder(root: Path, plant: bool = True) -> tuple[Path, Path]:
    """daisy/ and roses/ with 6 distinct photos each and a split CSV (2 val per class). With
    ``plant``: an exact copy of d0 and a resized copy of r1 in validation (2 leaks), and an
    exact copy of d2 in training (a duplicate, not a leak). Returns (folder, csv)."""
    pictures = iter(_pictures(len(CLASSES) * PER_CLASS))
    rows = []
    for name in CLASSES:
        (root / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            file = f"{name[0]}{i}.jpg"
            next(pictures).save(root / name / file, quality=92)
            rows.append(("val" if i >= PER_CLASS - 2 else "train", name, file))
    if plant:
        shutil.copyfile(root / "daisy" / "d0.jpg", root / "daisy" / "d0_copy.jpg")
        _resized_copy(root / "roses" / "r1.jpg", root / "roses" / "r1_small.jpg")
        shutil.copyfile(root / "daisy" / "d2.jpg", root / "daisy" / "d2_again.jpg")
        rows += [("val", "daisy", "d0_copy.jpg"), ("val", "roses", "r1_small.jpg"), ("train", "daisy", "d2_again.jpg")]
    split = root.parent / f"{root.name}-split.csv"
    with open(split, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["split", "class", "file"])
        writer.writerows(rows)
    return root, split



def test_finds_the_groups_split_across_train_and_validation(tmp_path):
    folder, split = make_folder(tmp_path / "photos")
    events, check = run_steps(check_leakage(folder, split_csv=str(split)))
    assert events and all(isinstance(e, Stage) for e in events) and events[-1].done == events[-1].total == 15
    assert check.photos == 15 and not check.skipped and check.split_from == "csv"
    found = {tuple(sorted(Path(p).name for p in g.paths)): g for g in check.leaks}
    assert set(found) == {("d0.jpg", "d0_copy.jpg"), ("r1.jpg", "r1_small.jpg")}  # d2's copy stays in train
    exact, near = found[("d0.jpg", "d0_copy.jpg")], found[("r1.jpg", "r1_small.jpg")]
    assert exact.kind == "exact" and exact.similarity == 1.0
    assert near.kind == "near" and near.similarity >= 0.97
    for group in check.leaks:
        assert dict(zip((Path(p).name for p in group.paths), group.splits)) == {
            n: ("val" if "_" in n else "train") for n in (Path(p).name for p in group.paths)}
    assert "2 duplicate groups split across train and validation among 15 photos" in check.summary()


def test_a_clean_folder_has_no_leak(tmp_path):
    folder, split = make_folder(tmp_path / "photos", plant=False)
    _, check = run_steps(check_leakage(folder, split_csv=str(split)))
    assert check.leaks == [] and check.photos == 12
    # the random split train makes (same function, same seed) works too
    _, check = run_steps(check_leakage(folder, val_split=0.34, seed=3))
    assert check.leaks == [] and check.photos == 12 and "seed 3" in check.split_from


def test_cancel_returns_none(tmp_path):
    folder, split = make_folder(tmp_path / "photos")
    events, check = run_steps(check_leakage(folder, split_csv=str(split), should_stop=lambda: True))
    assert check is None and events[-1].done == 0  # only the first Stage came


def test_an_unreadable_photo_is_skipped_with_a_reason(tmp_path):
    folder, split = make_folder(tmp_path / "photos")
    (folder / "roses" / "broken.jpg").write_bytes(b"not a jpeg at all")
    with open(split, "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(["val", "roses", "broken.jpg"])
    _, check = run_steps(check_leakage(folder, split_csv=str(split)))
    assert [Path(p).name for p, _ in check.skipped] == ["broken.jpg"] and check.skipped[0][1]
    assert check.photos == 15 and len(check.leaks) == 2


def test_a_folder_train_refuses_is_refused_the_same_way(tmp_path):
    (tmp_path / "one" / "only").mkdir(parents=True)
    _pictures(1)[0].save(tmp_path / "one" / "only" / "a.jpg")
    with pytest.raises(TrainingError):
        run_steps(check_leakage(tmp_path / "one"))


# ================================================================ the window

def _train_val_folder(root: Path, leak: bool) -> Path:
    """train/ and val/ folders (a fixed split the form cannot change); with ``leak`` an exact
    copy of a training photo in val/."""
    pictures = iter(_pictures(12))
    for split, n in (("train", 4), ("val", 2)):
        for name in CLASSES:
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                next(pictures).save(root / split / name / f"{name[0]}{i}.jpg", quality=92)
    if leak:
        shutil.copyfile(root / "train" / "roses" / "r1.jpg", root / "val" / "roses" / "r1_copy.jpg")
    return root


@pytest.fixture
def page(qtbot, tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from resnet_gui.gui.finetune import jobs
    from resnet_gui.gui.finetune.page import FinetunePage

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    monkeypatch.setattr(jobs, "measure_speed", lambda config, arch, *, should_stop: None)  # no time estimate here
    page = FinetunePage()
    qtbot.addWidget(page)
    page.show()
    yield page
    assert page.shutdown()


def test_the_finetune_page_warns_and_show_them_asks_for_the_groups(qtbot, tmp_path, page):
    clean = _train_val_folder(tmp_path / "clean", leak=False)
    leaky = _train_val_folder(tmp_path / "leaky", leak=True)
    warning = page.leak_warning
    page.set_folder(leaky)
    page.set_folder(clean)  # the newer folder wins: the first check never reaches the view
    qtbot.waitUntil(lambda: warning.result is not None, timeout=WAIT)
    assert not warning.isVisible() and warning.leaks == []
    with qtbot.waitSignal(page.folder_scanned, timeout=WAIT):
        page.set_folder(leaky)
    assert warning.isVisible() and warning.label.text().startswith("Checking for duplicate photos")
    assert not warning.show_button.isVisible()
    warning.pause()  # what Start does: the check stops, nothing is shown
    assert not warning.isVisible() and not warning.checking
    page.update_leak_check()  # what the end of a run does: the check runs again
    qtbot.waitUntil(lambda: warning.result is not None and warning.isVisible(), timeout=WAIT)
    assert warning.label.textFormat() == Qt.TextFormat.PlainText
    assert warning.label.text().startswith("⚠ 1 group of duplicate photos is split across train and validation")
    assert "roses/r1.jpg = roses/r1_copy.jpg" in warning.label.toolTip()
    assert warning.show_button.isVisible() and page.form.start_button.isEnabled()  # a warning, not a refusal
    with qtbot.waitSignal(page.show_leaks_requested, timeout=5_000) as shown:
        qtbot.mouseClick(warning.show_button, Qt.MouseButton.LeftButton)
    folder, groups = shown.args
    assert folder == str(leaky)
    assert [sorted(Path(p).name for p in g.paths) for g in groups] == [["r1.jpg", "r1_copy.jpg"]]
    assert sorted(groups[0].splits) == ["train", "val"]


def test_the_review_page_shows_the_leaks_it_is_given(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from resnet_gui.gui.dataset_review.page import DatasetReviewPage
    from resnet_gui.gui.dataset_review.views import LEAK_TEXT
    from resnet_gui.gui.settings import AppSettings

    folder, split = make_folder(tmp_path / "photos")
    _, check = run_steps(check_leakage(folder, split_csv=str(split)))
    review = DatasetReviewPage(AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(review)
    review.show()
    review.show_leaks(str(folder), check.leaks)
    assert review.data_dir == str(folder) and review.tabs.currentIndex() == review.duplicates_tab == 2
    titles = review.duplicates.group_titles()
    assert len(titles) == 2 and all(LEAK_TEXT in title for title in titles)
    assert review.leak_banner.isVisible() and review.leak_banner.text().startswith(
        "2 duplicate groups split across train and validation")
    assert review.tabs.tabText(2) == "Duplicates (2, 2 leaking)"
    assert review.shutdown()



def test_none_photos_are_checked_like_any_other(tmp_path):
    from resnet_gui.constants import NONE_FOLDER

    folder, split = make_folder(tmp_path / "photos", plant=False)
    (folder / NONE_FOLDER).mkdir()
    shutil.copyfile(folder / "daisy" / "d1.jpg", folder / NONE_FOLDER / "also_d1.jpg")  # a daisy in none of these
    with open(split, "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(["val", NONE_FOLDER, "also_d1.jpg"])
    _, check = run_steps(check_leakage(folder, split_csv=str(split)))
    assert check.photos == 13
    assert [sorted(Path(p).name for p in g.paths) for g in check.leaks] == [["also_d1.jpg", "d1.jpg"]]

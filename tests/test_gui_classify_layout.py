"""Issue 10 item 8 on real widgets: file names get the room in the results table (cut in the
middle), the label column fits its labels; the run's count is drawn by the progress bar itself;
an 8x8 photo enlarged in the preview stays sharp squares."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPixmap  # noqa: E402
from PySide6.QtWidgets import QHeaderView  # noqa: E402

from resnet_gui.core.infer import Prediction  # noqa: E402
from resnet_gui.gui.classify.preview import ScaledImage  # noqa: E402
from resnet_gui.gui.classify.results import COL_CONFIDENCE, COL_IMAGE, COL_LABEL, ResultsPanel  # noqa: E402
from resnet_gui.gui.classify.run_status import RunStatus  # noqa: E402
from resnet_gui.gui.thumbnails import Thumbnails  # noqa: E402

LONG = "IMG_20240817_holiday_in_the_mountains_with_the_whole_family_{:03d}_final_edit.jpg"


@pytest.fixture
def panel(qtbot, tmp_path):
    thumbnails = Thumbnails()
    panel = ResultsPanel(thumbnails)
    qtbot.addWidget(panel)
    panel.resize(700, 400)
    panel.show()
    qtbot.waitExposed(panel)
    yield panel
    assert thumbnails.shutdown()


def rows(labels, start=0):
    return [Prediction(start + i, f"/photos/{LONG.format(start + i)}", [(label, 0.9), ("other", 0.1)])
            for i, label in enumerate(labels)]


def test_names_take_the_room_and_the_label_column_fits_its_labels(panel):
    table, header = panel.table, panel.table.horizontalHeader()
    panel.append(rows(["daisy", "roses", "daisy"]))
    assert table.textElideMode() == Qt.TextElideMode.ElideMiddle  # "IMG_2024…final_edit.jpg"
    assert header.sectionResizeMode(COL_IMAGE) == QHeaderView.ResizeMode.Stretch
    assert header.sectionResizeMode(COL_CONFIDENCE) == QHeaderView.ResizeMode.ResizeToContents
    fitted = header.sectionSize(COL_LABEL)
    assert fitted == panel.label_column_width()
    assert fitted >= table.fontMetrics().horizontalAdvance("daisy") and fitted < 130
    assert header.sectionSize(COL_IMAGE) > 3 * fitted  # the name column has the rest

    # a longer label widens it, up to 40 % of the table
    panel.append(rows(["a rather long class name", "x" * 300], start=3))
    assert fitted < header.sectionSize(COL_LABEL) <= 0.4 * table.viewport().width() + 1

    # once the user sets the width, new labels leave it alone
    header.resizeSection(COL_LABEL, 111)
    panel.append(rows(["yet another label"], start=5))
    assert header.sectionSize(COL_LABEL) == 111


def test_a_cleared_table_fits_the_next_models_labels(panel):
    panel.append(rows(["a very long class name from the previous model"]))
    wide = panel.table.horizontalHeader().sectionSize(COL_LABEL)
    panel.clear()
    panel.append(rows(["cat"]))
    assert panel.table.horizontalHeader().sectionSize(COL_LABEL) < wide


def test_the_progress_bar_draws_the_count_itself(qtbot):
    status = RunStatus()
    qtbot.addWidget(status)
    status.set_running(True)
    status.show_progress(1234, 20000, 31.5)
    assert status.progress.text() == "Classifying… 1,234 of 20,000"
    assert status.progress.value() == 1234 and status.rate_label.text() == "31.5 images/s"


def test_an_8x8_digit_is_enlarged_into_sharp_squares(qtbot):
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    for y in range(8):
        for x in range(8):
            image.setPixelColor(x, y, QColor("black") if (x + y) % 2 else QColor("white"))
    label = ScaledImage()
    qtbot.addWidget(label)
    label.resize(400, 300)
    label.set_pixmap(QPixmap.fromImage(image))
    shown = label.pixmap().toImage()
    assert shown.width() == shown.height() == 300  # 37.5x, aspect kept
    colours = {shown.pixelColor(x, y).name() for x in range(0, 300, 3) for y in range(0, 300, 3)}
    assert colours == {"#000000", "#ffffff"}  # no grey blur between the squares

    photo = QImage(200, 150, QImage.Format.Format_RGB32)  # a photo enlarged 2x is smoothed
    for y in range(150):
        for x in range(200):
            photo.setPixelColor(x, y, QColor("black") if (x // 4 + y // 4) % 2 else QColor("white"))
    label.set_pixmap(QPixmap.fromImage(photo))
    smooth = label.pixmap().toImage()
    greys = {smooth.pixelColor(x, y).name() for x in range(smooth.width()) for y in range(0, smooth.height(), 7)}
    assert len(greys) > 2

"""Issue 11, item 8: class names and file names from files are shown as text, never as HTML,
wherever the window shows them (chart axis, preview title, model bar, table, tooltips)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QTextDocument  # noqa: E402
from PySide6.QtGui import Qt as QtGuiNamespace  # noqa: E402 - mightBeRichText lives here

from resnet_gui.gui.main_window import MainWindow  # noqa: E402
from resnet_gui.gui.settings import AppSettings  # noqa: E402

HOSTILE = ['<b style="font-size:40px;color:red">BIG</b>', "<img src=/etc/hosts>", "a&amp;b"]


def rendered(text: str, always_html: bool = False) -> str:
    """The visible characters Qt draws: a QLabel auto-detects rich text; QtCharts' axis
    labels are always HTML."""
    doc = QTextDocument()
    if always_html or QtGuiNamespace.mightBeRichText(text):
        doc.setHtml(text)
    else:
        doc.setPlainText(text)
    return doc.toPlainText()


@pytest.fixture
def hostile_weights(tmp_path):
    import torch
    import torchvision

    torch.manual_seed(0)
    folder = tmp_path / "<i>weights"
    folder.mkdir()
    path = folder / "<u>model<u>.pth"
    torch.save(torchvision.models.resnet18(num_classes=3).state_dict(), path)
    (folder / "class_indices.json").write_text(json.dumps({str(i): n for i, n in enumerate(HOSTILE)}))
    return path


def test_hostile_names_are_drawn_as_the_characters_they_are(qtbot, tmp_path, hostile_weights, make_images):
    window = MainWindow(AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    qtbot.addWidget(window)
    window.show()
    page = window.classify_page
    with qtbot.waitSignal(page.model_loaded, timeout=60_000):
        page.use_model(hostile_weights)
    assert "<u>model<u>.pth" in rendered(page.model_bar.text.text())
    assert "<i>weights" not in page.model_bar.text.text() or "&lt;i&gt;" in page.model_bar.text.text()

    images = make_images(3, folder=tmp_path / "<s>album")
    with qtbot.waitSignal(page.run_finished, timeout=60_000):
        page.classify([str(p) for p in images])
    page.results.select_row(0)
    qtbot.waitUntil(lambda: page.preview.chart.bars() != [], timeout=10_000)
    axis = page.preview.chart._axis_y.categories()
    assert sorted(rendered(c, always_html=True) for c in axis) == sorted(HOSTILE)  # the chart shows the names, not their markup
    title = page.preview.title.text()
    assert rendered(title).startswith("img_000.png") and any(name in rendered(title) for name in HOSTILE)
    table = page.results.table.model()
    shown = {table.index(r, 1).data() for r in range(table.rowCount())}
    assert shown <= set(HOSTILE)  # the table's display role is plain text
    window.close()

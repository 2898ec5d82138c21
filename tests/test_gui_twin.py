"""*Make fast int8 copy…* and the twin line (gui/twin_panel.py) with real weights and photos:
the action follows the loaded model, the dialog makes the twin in the background, and the
window then runs the model on it."""

from __future__ import annotations

import shutil

import pytest

WAIT = 900_000  # a loaded 2-core machine: export, int8 calibration and the checks (minutes at load 30)


@pytest.fixture
def window(qtbot, settings, tmp_path, monkeypatch):
    from resnet_gui.gui.main_window import MainWindow

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_make_fast_int8_copy_dialog_makes_the_twin(qtbot, shared_data, tmp_path):
    import weights as shipped

    from resnet_gui.core.engines.twin import has_twin
    from resnet_gui.gui.twin_panel import TwinDialog

    flowers = tmp_path / "flowers.pt"  # the shipped model as a user's own weights: no twin beside it
    shutil.copyfile(shipped.__path__[0] + "/default.pt", flowers)
    data = tmp_path / "data"
    for name in ("daisy", "dandelion", "roses", "sunflowers", "tulips"):
        (data / name).mkdir(parents=True)
        for photo in sorted((shared_data / "flowers-photos" / name).glob("*.jpg"))[:20]:
            shutil.copyfile(photo, data / name / photo.name)
    dialog = TwinDialog(str(flowers))
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(data))
    made = []
    dialog.made.connect(made.append)
    try:
        assert dialog.start() and not dialog.start_button.isEnabled() and dialog.panel.running
        qtbot.waitUntil(lambda: not dialog.panel.running, timeout=WAIT)
        assert dialog.panel.text().startswith("int8 twin flowers.int8.onnx: "), dialog.panel.text()
        assert "on 20 validation photos" in dialog.panel.text()
        assert made == [str(flowers)] and has_twin(flowers) and dialog.start_button.isEnabled()
    finally:
        assert dialog.shutdown()  # no job outlives the dialog, even when an assertion failed


def test_the_window_offers_the_action_only_for_weights_without_a_twin(window):
    action = window.twin_action
    assert action.text() == "Make fast int8 &copy…" and action in window.menuBar().actions()[0].menu().actions()
    assert not action.isEnabled()  # no model loaded yet


def test_the_twin_line_says_why_there_is_none_and_cancel_stops_it(qtbot, tiny_weights, tmp_path):
    from PIL import Image

    from resnet_gui.gui.twin_panel import TwinPanel

    data = tmp_path / "data"
    for c, name in enumerate(("red", "green", "blue")):
        (data / name).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (40, 40), ((c * 90 + i) % 256, 60, 120)).save(data / name / f"{i}.png")
    panel = TwinPanel()
    qtbot.addWidget(panel)
    panel.start(str(tiny_weights), str(data))
    assert panel.isVisible() and panel.running and panel.cancel_button.isVisible()
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT)
    assert panel.result.out is None and not panel.cancel_button.isVisible()
    assert panel.text() == "int8 twin not made: 3 validation photos to check it on (at least 20 needed); tiny.pth runs in fp32"
    assert panel.shutdown()

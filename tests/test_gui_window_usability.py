"""The window on small screens and from the keyboard, and honest pictures (real widgets, offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QRect, QSize, Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from resnet_gui.gui.classify.preview import scaling_mode  # noqa: E402
from resnet_gui.gui.classify.topk_chart import TopKChart  # noqa: E402
from resnet_gui.gui.main_window import MainWindow  # noqa: E402


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def test_topk_axis_is_always_0_to_100(qtbot):
    chart = TopKChart()
    qtbot.addWidget(chart)
    for guesses in ([("daisy", 0.39), ("roses", 0.2)], [("daisy", 0.99)], [("a", 0.05), ("b", 0.04)], []):
        chart.set_predictions(guesses)
        assert chart.axis_range() == (0, 100)


def test_tiny_pictures_are_enlarged_without_blur():
    assert scaling_mode(QSize(8, 8), QSize(400, 300)) == Qt.TransformationMode.FastTransformation
    assert scaling_mode(QSize(200, 150), QSize(400, 300)) == Qt.TransformationMode.SmoothTransformation


def test_a_big_saved_geometry_is_clamped_to_the_screen(qtbot, settings):
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    first.setGeometry(QRect(300, 250, 2400, 1500))  # saved on a big monitor
    first.save_settings()
    first.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    room = (again.screen() or QApplication.primaryScreen()).availableGeometry()
    assert room.contains(again.frameGeometry()), (room, again.frameGeometry())
    again.close()


def test_start_training_stays_in_view_on_a_small_window(window, qtbot):
    window.resize(1024, 560)
    window.tabs.setCurrentWidget(window.finetune_page)
    qtbot.wait(50)
    button = window.finetune_page.form.start_button
    assert button.isVisible()
    shown = QRect(button.mapTo(window, button.rect().topLeft()), button.size())
    assert window.rect().contains(shown), (window.rect(), shown)


def test_shortcuts_and_mnemonics(window, qtbot):
    assert window.open_weights_action.shortcut() != QKeySequence("Ctrl+W")
    close_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Close)
    assert any(act.shortcut() in close_keys for menu in window.menuBar().actions() for act in menu.menu().actions())
    titles = [act.text() for act in window.menuBar().actions()]
    assert titles and all("&" in title for title in titles)
    for menu in window.menuBar().actions():
        assert all("&" in act.text() for act in menu.menu().actions() if not act.isSeparator())
    # Ctrl+1 .. Ctrl+4: one per page, each page reachable
    pages = {act.shortcut().toString(): act for menu in window.menuBar().actions() for act in menu.menu().actions()}
    for i in range(window.tabs.count()):
        pages[f"Ctrl+{i + 1}"].trigger()
        assert window.tabs.currentIndex() == i
    assert "Ctrl+Shift+Tab" in pages and not any("Backtab" in key for key in pages)  # as users know it


def test_edit_menu_undoes_the_datasets_last_batch_by_name(window, qtbot, tmp_path, make_images):
    photo = make_images(1)[0]
    label = window.label_page
    label.open_dataset(str(tmp_path / "data"))
    window._update_edit_menu()
    assert window.undo_action.text() == "&Undo\tCtrl+Z" and not window.undo_action.isEnabled()
    (tmp_path / "data" / "red").mkdir(parents=True)
    label.label_paths([str(photo)], "red")
    qtbot.waitUntil(lambda: not label.files_runner.busy, timeout=20_000)
    window.edit_menu.aboutToShow.emit()
    assert window.undo_action.text() == "&Undo copy 1 photo to red\tCtrl+Z" and window.undo_action.isEnabled()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: not label.files_runner.busy, timeout=20_000)
    assert not (tmp_path / "data" / "red" / photo.name).exists()
    window.edit_menu.aboutToShow.emit()
    assert window.redo_action.text() == "&Redo copy 1 photo to red\tCtrl+Shift+Z"


def test_ctrl_tab_switches_pages_and_classify_items_hide(window, qtbot):
    window.activateWindow()
    qtbot.waitActive(window)
    QTest.keyClick(window, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.finetune_page
    assert not any(act.isVisible() for act in window.classify_only)
    assert not window.export_action.isVisible()
    QTest.keyClick(window, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.tabs.currentWidget() is window.classify_page
    assert all(act.isVisible() for act in window.classify_only)


def test_tab_leaves_the_results_table(window, qtbot):
    table = window.classify_page.results.table
    window.classify_page.results.stack.setCurrentWidget(table)
    window.activateWindow()
    qtbot.waitActive(window)
    table.setFocus()
    assert not table.tabKeyNavigation()
    QTest.keyClick(table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not table


def test_loss_curve_per_batch_and_log_axis_for_a_wide_range(qtbot):
    from PySide6.QtCharts import QLogValueAxis

    from resnet_gui.gui.finetune.charts import CurveChart

    chart = CurveChart("Loss")
    qtbot.addWidget(chart)
    chart.clear(epochs=3)
    for batch in range(1, 5):
        chart.add_batch(batch / 4, 2.0 - batch * 0.1)
    assert len(chart.points()["batch"]) == 4 and chart.points()["batch"][0] == (0.25, 1.9)
    chart.add_epoch(1, 1.6, 17.5)  # one early validation loss far above the rest
    chart.add_epoch(2, 0.5, 0.4)
    assert isinstance(chart._y, QLogValueAxis)
    assert chart._y.min() < 0.4 and chart._y.max() > 17.5


def test_a_long_run_of_signals_does_not_abort(window):
    """PySide6 6.12.0 drops a reference to True per emit; on Python 3.11 a 20,000-photo run
    aborted ("bool_dealloc"). pyproject excludes that release; this fails if it comes back."""
    page = window.classify_page
    for i in range(30_000):
        page.status_message.emit("Classifying…", 0)
    assert window.statusBar().currentMessage() == "Classifying…"


def test_training_accuracy_far_below_validation_is_explained(qtbot):
    from resnet_gui.core.train.events import EpochEnd
    from resnet_gui.gui.finetune.run_view import RunView

    view = RunView()
    qtbot.addWidget(view)
    view.show()
    view.begin(["a", "b"], 2)
    view.show_epoch(EpochEnd(1, 2, 0.9, 0.55, 0.5, 0.60, 1e-3, 1.0, True, None))
    assert not view.accuracy_note.isVisible()
    view.show_epoch(EpochEnd(2, 2, 0.8, 0.50, 0.4, 0.80, 1e-3, 1.0, True, None))
    assert view.accuracy_note.isVisible() and "augmented" in view.accuracy_note.text()
    view.begin(["a", "b"], 2)
    assert not view.accuracy_note.isVisible()

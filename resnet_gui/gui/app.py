"""Starting the window: ``resnet-gui`` (no subcommand) and ``resnet-gui --self-test``.

The window is shown before torch is imported; the Classify page's first job imports it
while loading the model. ``--self-test`` drives the real window and jobs and prints one JSON
line per image, from the window's own results (the packaged app's smoke test).

The entry points (``resnet-gui``, the ``resnet-gui-app`` gui-script) are in resnet_gui.cli,
which calls :func:`run_app`; this package never imports the CLI.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

SELF_TEST_TIMEOUT_MS = 300_000
SWITCH_INTERVAL = 0.002  # s; Python's default 5 ms lets busy worker threads hold the GUI thread off longer


def _make_app(argv: list[str]):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ..constants import APP_TITLE
    from ..resources import assets_dir
    from .settings import APPLICATION, ORGANIZATION

    sys.setswitchinterval(SWITCH_INTERVAL)
    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_TITLE)
    icon = assets_dir() / "icon.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_app(args: argparse.Namespace) -> int:
    from .platform_check import xcb_problem

    problem = xcb_problem()
    if problem:  # Qt would abort with a core dump: say what to install instead
        print(problem, file=sys.stderr)
        return 1
    app = _make_app([sys.argv[0]])
    if getattr(args, "self_test", False):
        return exit_process(_self_test(app, args))
    from .single_instance import SingleInstance

    # a window is open already: it takes the files (and a weights file) and comes forward
    instance = SingleInstance()
    handed = [*([args.weights] if args.weights else []), *(args.images or [])]
    if not instance.claim(handed):
        print("ResNet Classifier is already open: the files went to its window", file=sys.stderr)
        return exit_process(0)
    from .main_window import MainWindow
    from .settings import AppSettings

    window = MainWindow(AppSettings())
    if getattr(args, "device", None):
        window.set_device(args.device)
    window.show()
    window.classify_page.start(args.weights, list(args.images or []))
    instance.paths_received.connect(window.open_files)
    instance.watch_file_open_events()
    return exit_process(app.exec())


def exit_process(code: int) -> int:
    """End the process now. The window has saved its settings and joined its threads when it
    closed; what is left is the interpreter tearing torch down, about 2 s of nothing."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _self_test(app, args: argparse.Namespace) -> int:
    """Classify through the real window and jobs; JSON lines on stdout; 0 on success."""
    from PySide6.QtCore import QSettings, QTimer

    from ..resources import default_weights
    from .heartbeat import Heartbeat
    from .main_window import MainWindow
    from .settings import AppSettings

    tmp = tempfile.TemporaryDirectory(prefix="resnet-gui-selftest-")
    # a throwaway settings file: the self-test never changes the user's settings
    settings = AppSettings(QSettings(str(Path(tmp.name) / "settings.ini"), QSettings.Format.IniFormat))
    weights = args.weights or (str(default_weights()) if default_weights() else None)
    if not weights:
        print("self-test: no weights given (--weights FILE) and none in weights/", file=sys.stderr)
        return 1
    images = list(args.images or []) or [str(p) for p in _sample_images(Path(tmp.name) / "images")]

    window = MainWindow(settings)
    page = window.classify_page
    if args.device:
        window.set_device(args.device)
    window.resize(1180, 760)
    window.show()
    outcome = {"code": 1, "images": 0, "seconds": 0.0}
    beat = Heartbeat()

    def fail(message: str) -> None:
        print(f"self-test: {message}", file=sys.stderr)
        outcome["code"] = 1
        window.close()

    def finished(summary) -> None:
        items = sorted(page.result_items(), key=lambda p: p.index)
        k = page.topk_spin.value()
        for item in items:
            print(json.dumps({"path": item.path, "topk": [[label, round(p, 6)] for label, p in item.topk[:k]]}))
        for skipped in page.skipped.predictions():
            print(json.dumps(skipped.to_json()))
        sys.stdout.flush()
        print(f"self-test: {summary.classified} classified, {summary.skipped} skipped in {summary.seconds:.2f} s "
              f"on {summary.device}", file=sys.stderr)
        outcome.update(images=summary.classified, seconds=summary.seconds)
        if summary.failed or summary.cancelled or not items:
            return fail(page.last_error or "no image was classified")
        outcome["code"] = 0
        if args.screenshot:
            page.results.select_row(0)
            _when_images_ready(window, lambda: _screenshot_and_close(window, args.screenshot))
        else:
            window.close()

    page.run_finished.connect(finished)
    page.model_failed.connect(lambda message: fail(f"model: {message}"))
    page.error_occurred.connect(lambda _title, _message, details: details and print(details, file=sys.stderr))
    QTimer.singleShot(SELF_TEST_TIMEOUT_MS, lambda: fail("timed out"))
    # the stall is measured from the model being ready: loading it imports torch on a worker
    page.model_loaded.connect(lambda *_: beat.start() if not beat.running else None)
    page.start(weights, images)
    app.exec()
    tmp.cleanup()
    print(json.dumps({"summary": {"images": outcome["images"], "seconds": round(outcome["seconds"], 3),
                                  "max_gui_stall_ms": round(beat.max_stall_ms, 1)}}))
    return outcome["code"]


def _when_images_ready(window, then, tries: int = 100) -> None:
    """Wait (without blocking) for thumbnails and the preview, at most ~5 s."""
    from PySide6.QtCore import QTimer

    page = window.classify_page
    if (page.thumbnails.idle() and page.preview.image.has_picture()) or tries <= 0:
        QTimer.singleShot(100, then)
    else:
        QTimer.singleShot(50, lambda: _when_images_ready(window, then, tries - 1))


def _screenshot_and_close(window, path: str) -> None:
    pixmap = window.grab()
    if pixmap.save(path):
        print(f"self-test: screenshot saved to {path}", file=sys.stderr)
    else:
        print(f"self-test: could not save a screenshot to {path}", file=sys.stderr)
    window.close()


def _sample_images(folder: Path) -> list[Path]:
    """A few small generated pictures, for a self-test given no images."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, colour in enumerate([(200, 40, 40), (40, 160, 60), (40, 70, 200)]):
        img = Image.new("RGB", (96, 72), colour)
        ImageDraw.Draw(img).ellipse((20, 10, 76, 62), fill=(240, 240, 240))
        path = folder / f"sample_{i}.png"
        img.save(path)
        files.append(path)
    return files


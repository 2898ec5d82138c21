"""Starting the window: ``resnet-gui`` (no subcommand) and ``resnet-gui --self-test``.

The window is shown before torch is imported; the worker imports it while loading the
model. ``--self-test`` drives the real window and worker and prints one JSON line per
image (the packaged app's smoke test).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

SELF_TEST_TIMEOUT_MS = 300_000


def _make_app(argv: list[str]):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ..paths import assets_dir
    from .settings import APPLICATION, ORGANIZATION

    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("ResNet Classifier")
    icon = assets_dir() / "icon.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_app(args: argparse.Namespace) -> int:
    app = _make_app([sys.argv[0]])
    from .main_window import MainWindow
    from .settings import AppSettings

    if getattr(args, "self_test", False):
        return _self_test(app, args)
    window = MainWindow(AppSettings())
    if getattr(args, "device", None):
        window.set_device(args.device)
    window.show()
    window.start(args.weights, list(args.images or []))
    return app.exec()


def _self_test(app, args: argparse.Namespace) -> int:
    """Classify through the real window and worker; JSON lines on stdout; 0 on success."""
    from PySide6.QtCore import QSettings, QTimer

    from ..paths import default_weights
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
    if args.device:
        window.set_device(args.device)
    window.resize(1180, 760)
    window.show()
    outcome = {"code": 1}

    def fail(message: str) -> None:
        print(f"self-test: {message}", file=sys.stderr)
        outcome["code"] = 1
        window.close()

    def finished(summary) -> None:
        items = sorted(window.result_items(), key=lambda i: i.index)
        k = window.topk_spin.value()
        for item in items:
            print(json.dumps({"path": item.path, "topk": [[label, round(p, 6)] for label, p in item.topk[:k]]}))
        for path, reason in window.skipped.entries():
            print(json.dumps({"path": path, "error": reason}))
        sys.stdout.flush()
        print(f"self-test: {summary.classified} classified, {summary.skipped} skipped in {summary.seconds:.2f} s "
              f"on {summary.device}", file=sys.stderr)
        if summary.failed or summary.cancelled or not items:
            return fail(window.last_error or "no image was classified")
        outcome["code"] = 0
        if args.screenshot:
            window.results.select_row(0)
            _when_images_ready(window, lambda: _screenshot_and_close(window, args.screenshot))
        else:
            window.close()

    window.run_finished.connect(finished)
    window.service.model_failed.connect(lambda message: fail(f"model: {message}"))
    window.service.errored.connect(lambda message, details: print(details, file=sys.stderr))
    QTimer.singleShot(SELF_TEST_TIMEOUT_MS, lambda: fail("timed out"))
    window.start(weights, images)
    app.exec()
    tmp.cleanup()
    return outcome["code"]


def _when_images_ready(window, then, tries: int = 100) -> None:
    """Wait (without blocking) for thumbnails and the preview, at most ~5 s."""
    from PySide6.QtCore import QTimer

    if (window.loader.idle() and window.preview.image.has_picture()) or tries <= 0:
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


def main() -> int:
    """Entry point of the windowed app (gui-script): no console needed."""
    import multiprocessing

    multiprocessing.freeze_support()
    from ..cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())

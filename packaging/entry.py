"""Entry point of the frozen app (PyInstaller): ``ResNetClassifier [SUBCOMMAND] ...``.

Same command line as ``resnet-gui``: no subcommand opens the window; ``classify``, ``train``
and ``download`` run the CLI; ``--self-test`` drives the real window (the smoke test).
"""

import multiprocessing

# First, before anything else runs: in a frozen app a child process started by
# multiprocessing re-executes this file, and freeze_support() turns it into the child
# instead of opening a second copy of the app (no respawn loops).
multiprocessing.freeze_support()

import sys  # noqa: E402

LOG_NAME = "resnet-classifier.log"


def _log_file():
    """Open the log in the user's app-data folder (``.../ResNetClassifier/logs/``), or None."""
    import time

    try:
        from resnet_gui.resources import user_data_dir

        folder = user_data_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        log = open(folder / LOG_NAME, "a", encoding="utf-8", errors="replace", buffering=1)
    except OSError:
        return None
    log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {sys.argv!r}\n")
    return log


def _redirect_missing_streams() -> bool:
    """A windowed app started from a desktop has no stdout/stderr (they are None): send
    them to the log file so prints and tracebacks are kept. True if redirected."""
    if sys.stdout is not None and sys.stderr is not None:
        return False
    log = _log_file()
    if log is None:
        import os

        log = open(os.devnull, "w", encoding="utf-8")
    if sys.stdout is None:
        sys.stdout = log
    if sys.stderr is None:
        sys.stderr = log
    return True


def _show_startup_error(text: str) -> None:
    """An error before the window could show it: a message box, best effort."""
    try:
        from PySide6.QtWidgets import QApplication, QMessageBox

        app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841
        QMessageBox.critical(None, "ResNet Classifier", text)
    except Exception:  # noqa: BLE001 - nothing more can be done; the log has the traceback
        pass


def main() -> int:
    no_console = _redirect_missing_streams()
    try:
        from resnet_gui.cli import main as cli_main

        return cli_main()
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - last resort: log it, and show it when there is no console
        import traceback

        traceback.print_exc()
        if no_console:
            _show_startup_error(f"The app could not start:\n\n{type(exc).__name__}: {exc}\n\n"
                                f"Details are in {LOG_NAME} in the app's data folder.")
        return 1


if __name__ == "__main__":
    sys.exit(main())

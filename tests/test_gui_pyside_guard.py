"""PySide6 6.12.0 loses a reference to True on every signal emit (Python 3.11 aborts after a
few thousand). pyproject excludes that release; the guard covers an environment that has it."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_many_emits_do_not_abort_the_process():
    code = ("import sys\n"
            "from PySide6.QtCore import QObject, Signal\n"
            "from resnet_gui.gui.pyside_refcount import emit_leaks_true, keep_singletons_alive\n"
            "leaks = emit_leaks_true()\n"
            "keep_singletons_alive()\n"
            "class A(QObject):\n    s = Signal(object)\n"
            "a = A(); a.s.connect(lambda v: None)\n"
            "for _ in range(20000):\n    a.s.emit(1)\n"
            "print('leaks' if leaks else 'clean')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.strip() in ("leaks", "clean")

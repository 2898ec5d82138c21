"""The cancel flag every long job takes: ``should_stop()`` turns true when the user cancels
(the window's TaskRunner, the CLI's Ctrl+C), and the job ends itself between steps."""

from __future__ import annotations

from typing import Callable

StopFlag = Callable[[], bool]

"""What the window's pages share, in one Qt-free object that announces its changes: the model
in use, the device chosen and the dataset being built. Like napari's ``ViewerModel`` and its
``events``: the pages observe it and set it, and never reach into each other.

    state = SessionState(device="auto")
    state.events.data_dir.connect(review_page.set_folder)  # an observer
    state.data_dir = "/photos/flowers"                     # announced to every observer

A change is announced once, to the observers in the order they connected, in the thread
that made it (the window's: pages set it from their slots). Setting the text it already has,
or the same model object, announces nothing; a model loaded again is announced again.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable


class Event:
    """One field's observers."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[Any], None]] = []

    def connect(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: Any) -> None:
        for callback in list(self._callbacks):
            callback(value)


class SessionState:
    FIELDS = ("model", "device", "data_dir")

    def __init__(self, *, model: Any = None, device: str = "auto", data_dir: str = "") -> None:
        object.__setattr__(self, "events", SimpleNamespace(**{name: Event() for name in self.FIELDS}))
        object.__setattr__(self, "model", model)  # core ModelInfo of the model in use, or None
        object.__setattr__(self, "device", device)  # auto | cpu | cuda | mps: the window's choice
        object.__setattr__(self, "data_dir", data_dir)  # the dataset folder ('' for none)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.FIELDS:
            raise AttributeError(f"SessionState has no field {name!r}; it holds {', '.join(self.FIELDS)}")
        old = getattr(self, name)
        if old is value or isinstance(value, str) and old == value:  # a model is new when it is another object
            return
        object.__setattr__(self, name, value)
        getattr(self.events, name).emit(value)

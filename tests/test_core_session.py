"""The session state the window's pages share: changes announced once, in order, Qt-free."""

from __future__ import annotations

import pytest

from resnet_gui.core.session import SessionState


def test_changes_reach_every_observer_in_order_and_only_when_they_change():
    state = SessionState(data_dir="/a")
    seen = []
    state.events.data_dir.connect(lambda folder: seen.append(("first", folder)))
    state.events.data_dir.connect(lambda folder: seen.append(("second", folder)))
    state.events.device.connect(lambda device: seen.append(("device", device)))
    state.data_dir = "/a"  # the value it has: nothing announced
    state.data_dir = "/b"
    state.device = "cpu"
    assert seen == [("first", "/b"), ("second", "/b"), ("device", "cpu")]
    assert (state.data_dir, state.device, state.model) == ("/b", "cpu", None)


def test_a_disconnected_observer_hears_nothing_and_unknown_fields_are_refused():
    state = SessionState()
    seen = []
    callback = state.events.model.connect(seen.append)
    state.model = "info"
    state.events.model.disconnect(callback)
    state.model = "other"
    assert seen == ["info"]
    with pytest.raises(AttributeError, match="no field 'weights'"):
        state.weights = "x.pt"

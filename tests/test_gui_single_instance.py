"""A second launch hands its files to the open window (gui/single_instance.py): real
QLocalServer/QLocalSocket pairs; the launching side runs in a second process, as it does for real."""

from __future__ import annotations

import json
import os
import socket as pysocket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from PySide6.QtCore import QDir  # noqa: E402
from PySide6.QtNetwork import QLocalSocket  # noqa: E402

from resnet_gui.gui import single_instance  # noqa: E402
from resnet_gui.gui.single_instance import MAX_MESSAGE_BYTES, MAX_PATHS, SingleInstance, hand_over, server_name  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WAIT = 20_000


@pytest.fixture
def name(tmp_path):
    """A server name of its own per test (the name the app derives from a data folder)."""
    return server_name(tmp_path / "data")


@pytest.fixture
def first(qtbot, name):
    instance = SingleInstance(name)
    assert instance.claim([]) is True  # nobody listens yet: this launch is the first
    yield instance
    instance.close()


# A launch's side runs in a second Python process, as it does for real (Qt's blocking socket
# calls need a thread of Qt's own; the server needs this process's event loop meanwhile).
HAND_OVER = ("import json, sys; from resnet_gui.gui.single_instance import hand_over; "
             "print(hand_over(sys.argv[1], json.loads(sys.argv[2])))")
CLAIM = ("import json, sys; from resnet_gui.gui.single_instance import SingleInstance; "
         "print(SingleInstance(sys.argv[1]).claim(json.loads(sys.argv[2])))")
RAW = """
import sys
from PySide6.QtNetwork import QLocalSocket
sock = QLocalSocket()
sock.connectToServer(sys.argv[1])
assert sock.waitForConnected(2000)
sock.write(sys.stdin.buffer.read())
sock.waitForBytesWritten(int(sys.argv[2]))
got = b''
while sock.state() == QLocalSocket.LocalSocketState.ConnectedState and sock.waitForReadyRead(int(sys.argv[2])):
    got += bytes(sock.readAll().data())
got += bytes(sock.readAll().data())
print("got:" + got.hex())
"""


def client(qtbot, tmp_path, code, *args, data: bytes = b"", cwd=None) -> str:
    """Run ``code`` with ``args`` in a second process while this one's event loop serves; its stdout."""
    feed = tmp_path / f"stdin-{len(list(tmp_path.glob('stdin-*')))}"
    feed.write_bytes(data)
    with open(feed, "rb") as stdin, open(feed.with_suffix(".out"), "w+") as out:
        proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdin=stdin, stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd or REPO, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=WAIT)
        out.seek(0)
        text = out.read()
    assert proc.returncode == 0, text
    return text.strip().splitlines()[-1]


def hand_over_from_process(qtbot, tmp_path, name, paths, cwd=None) -> bool:
    return {"True": True, "False": False}[client(qtbot, tmp_path, HAND_OVER, name, json.dumps(paths), cwd=cwd)]


def raw_send(qtbot, tmp_path, name: str, data: bytes, wait_ms: int = 2000) -> bytes:
    """Send raw bytes as a hostile local process could; what came back (ACK or nothing)."""
    return bytes.fromhex(client(qtbot, tmp_path, RAW, name, wait_ms, data=data).removeprefix("got:"))


def message(payload) -> bytes:
    body = json.dumps(payload).encode()
    return struct.pack(">I", len(body)) + body


def test_a_second_launch_hands_its_paths_to_the_first(qtbot, first, name, tmp_path):
    with qtbot.waitSignal(first.paths_received, timeout=WAIT) as got:
        answer = client(qtbot, tmp_path, CLAIM, name, json.dumps(["photo.jpg", str(tmp_path / "folder")]), cwd=tmp_path)
    assert answer == "False"  # the second launch is not the first: it exits
    # made absolute where the second launch ran: the first one's working folder is another
    assert got.args[0] == [str(tmp_path / "photo.jpg"), str(tmp_path / "folder")]


def test_no_paths_just_raises_the_window(qtbot, first, name, tmp_path):
    with qtbot.waitSignal(first.paths_received, timeout=WAIT) as got:
        assert hand_over_from_process(qtbot, tmp_path, name, []) is True
    assert got.args[0] == []


def test_nobody_listening_makes_the_launch_the_first(qtbot, name):
    assert hand_over(name, ["/x.jpg"], timeout_ms=300) is False
    instance = SingleInstance(name)
    try:
        assert instance.claim(["/x.jpg"]) is True and instance.server.isListening()
    finally:
        instance.close()


@pytest.mark.parametrize("data", [
    struct.pack(">I", MAX_MESSAGE_BYTES + 1) + b"{",  # a length over the limit: dropped before reading on
    message({"paths": ["/a.jpg"] * (MAX_PATHS + 1)}),
    message({"paths": ["relative.jpg"]}),
    message({"paths": [3]}),
    message({"paths": ["/a\0b.jpg"]}),
    message({"paths": ["/" + "a" * 5000]}),
    message(["/a.jpg"]),
    message({"files": ["/a.jpg"]}),
    struct.pack(">I", 5) + b"\xff\xfe{}x",
    struct.pack(">I", 7) + b"not json",
], ids=["too-long", "too-many", "relative", "not-str", "nul", "long-path", "list", "no-paths", "not-utf8",
        "not-json"])
def test_bad_messages_change_nothing(qtbot, first, name, data, tmp_path):
    received = []
    first.paths_received.connect(received.append)
    assert raw_send(qtbot, tmp_path, name, data) == b""  # no acknowledgement
    qtbot.wait(100)
    assert received == []  # nothing opened
    # and the server still serves the next launch
    with qtbot.waitSignal(first.paths_received, timeout=WAIT) as got:
        assert hand_over_from_process(qtbot, tmp_path, name, ["/ok.jpg"]) is True
    assert got.args[0] == [os.path.abspath("/ok.jpg")]


def test_a_stalled_client_is_dropped(qtbot, first, name, monkeypatch, tmp_path):
    monkeypatch.setattr(single_instance, "READ_TIMEOUT_MS", 300)
    # announces a 4 MB message, sends 1 MB of it, then waits for an answer: dropped after the timeout
    data = struct.pack(">I", MAX_MESSAGE_BYTES) + b"x" * (1024 * 1024)
    assert raw_send(qtbot, tmp_path, name, data, 5000) == b""
    qtbot.waitUntil(lambda: not first.findChildren(single_instance._Connection), timeout=WAIT)


def test_many_idle_clients_are_bounded(qtbot, first, name):
    sockets = []
    for _ in range(single_instance.MAX_CLIENTS + 8):
        sock = QLocalSocket()
        sock.connectToServer(name)
        assert sock.waitForConnected(2000)
        sockets.append(sock)
    qtbot.wait(300)
    assert len(first.findChildren(single_instance._Connection)) <= single_instance.MAX_CLIENTS
    for sock in sockets:
        sock.abort()


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes leave no file behind")
def test_a_crashed_instance_socket_file_is_replaced(qtbot, name, tmp_path):
    """A killed first instance leaves its socket file: nobody answers on it, so the next launch
    removes it and listens."""
    path = Path(QDir.tempPath()) / name
    stale = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, as after a crash
    assert path.exists()
    instance = SingleInstance(name)
    try:
        assert instance.claim(["/a.jpg"]) is True and instance.server.isListening()
        with qtbot.waitSignal(instance.paths_received, timeout=WAIT):
            assert hand_over_from_process(qtbot, tmp_path, name, ["/b.jpg"]) is True
    finally:
        instance.close()
        path.unlink(missing_ok=True)


def test_a_second_app_process_hands_over_and_exits(qtbot, tmp_path, monkeypatch):
    """`resnet-gui photo.jpg folder` while a window is open: the real command line, in a
    second process, finds the first instance through the data folder's server name."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    instance = SingleInstance()  # the name from this data folder, as the app computes it
    assert instance.claim([]) is True
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"))
    (tmp_path / "folder").mkdir()
    try:
        with qtbot.waitSignal(instance.paths_received, timeout=60_000) as got:
            proc = subprocess.Popen([sys.executable, "-m", "resnet_gui", "photo.jpg", str(tmp_path / "folder")],
                                    cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate(timeout=60)
    finally:
        instance.close()
    assert proc.returncode == 0, err
    assert "already open" in err
    assert got.args[0] == [str(tmp_path / "photo.jpg"), str(tmp_path / "folder")]


def test_the_window_classifies_what_a_later_launch_hands_over(qtbot, settings, tiny_weights, make_images, name,
                                                             tmp_path):
    from resnet_gui.gui.main_window import MainWindow

    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentWidget(window.label_page)
    instance = SingleInstance(name)
    assert instance.claim([]) is True
    instance.paths_received.connect(window.open_files)
    files = make_images(2)
    page = window.classify_page
    try:
        with qtbot.waitSignal(page.run_finished, timeout=60_000) as blocker:
            assert hand_over_from_process(qtbot, tmp_path, name, [str(tiny_weights), *map(str, files)]) is True
        assert blocker.args[0].classified == 2
        assert [i.path for i in page.result_items()] == [str(f) for f in files]
        assert page.model.source == str(tiny_weights.resolve())  # a weights file among them is loaded
        assert window.tabs.currentWidget() is page  # shown where the results are
    finally:
        instance.close()
        window.close()


def test_macos_file_open_events_become_one_batch(qtbot, name):
    """Finder's "Open With" on a running app: one QFileOpenEvent per file, gathered into one list."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QFileOpenEvent

    instance = SingleInstance(name)
    instance.watch_file_open_events()
    app = QCoreApplication.instance()
    with qtbot.waitSignal(instance.paths_received, timeout=WAIT) as got:
        for path in ("/photos/a.jpg", "/photos/b.jpg"):
            QCoreApplication.sendEvent(app, QFileOpenEvent(path))
    assert got.args[0] == ["/photos/a.jpg", "/photos/b.jpg"]
    app.removeEventFilter(instance)

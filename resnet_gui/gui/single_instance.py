"""One window per user: a second launch hands its files to the first one and exits.

"Open with ResNet Classifier" on photos in a file manager starts the app with their paths; when
a window is already open, those photos are classified there instead of in a second window.

The first instance listens on a :class:`QLocalServer` (a Unix socket, a Windows named pipe)
whose name is derived from the user's app-data folder: one per user and per data folder.
A later launch connects to it with a :class:`QLocalSocket`, sends one message and waits for a
one-byte acknowledgement; without it (no window, a hung one) it opens its own window.

The message: a 4-byte big-endian length, then UTF-8 JSON ``{"paths": ["/abs/path", ...]}``.
Whatever connects is untrusted (any process of the same user can): the length is checked
before anything is buffered, and the JSON must be a bounded list of absolute paths; anything
else closes the connection without a word and changes nothing. Reading never blocks the GUI
thread (readyRead), and a client that stalls is dropped after ``READ_TIMEOUT_MS``.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

from PySide6.QtCore import QByteArray, QCoreApplication, QDir, QEvent, QLockFile, QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from ..constants import APP_ID

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # 10 000 long paths fit; more is not a file manager
MAX_PATHS = 10_000  # more photos than this: "Open with" on their folder instead
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux; Windows' long paths are 32 767 but rare
READ_TIMEOUT_MS = 3000  # a client that connects and stalls holds a socket no longer than this
CONNECT_TIMEOUT_MS = 1000
MAX_CLIENTS = 16  # connections read at once; more are closed at once (a launch needs one)
FILE_OPEN_BATCH_MS = 200  # macOS sends one QFileOpenEvent per file of one "Open With": gathered
ACK = b"\x06"
_HEADER = struct.Struct(">I")


def server_name(data_dir: str | os.PathLike | None = None) -> str:
    """The local server's name for this user's app-data folder (short: Unix sockets allow ~100 bytes)."""
    if data_dir is None:
        from ..resources import user_data_dir

        data_dir = user_data_dir()
    digest = hashlib.sha256(os.path.abspath(os.fspath(data_dir)).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{APP_ID}-{digest[:16]}"


def encode_paths(paths: list[str]) -> bytes:
    """The message a second launch sends: its paths made absolute (its working folder is not
    the first instance's), at most MAX_PATHS."""
    body = json.dumps({"paths": [os.path.abspath(p) for p in paths[:MAX_PATHS]]}).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def decode_paths(body: bytes) -> list[str]:
    """The paths of one message body, or ValueError when it is not what a launch sends."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise ValueError("message too long")
    data = json.loads(body.decode("utf-8"))
    paths = data.get("paths") if isinstance(data, dict) else None
    if not isinstance(paths, list) or len(paths) > MAX_PATHS:
        raise ValueError("no list of paths, or too many")
    for path in paths:
        if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS or "\0" in path:
            raise ValueError("a path that is not a short string")
        if not os.path.isabs(path):
            raise ValueError("a relative path")
    return paths


class _Connection(QObject):
    """One client of the server: reads one message, acknowledges it, closes."""

    received = Signal(list)

    def __init__(self, socket: QLocalSocket, parent: QObject) -> None:
        super().__init__(parent)
        self.socket = socket
        self.buffer = bytearray()
        self.expected: int | None = None
        socket.setParent(self)
        socket.setReadBufferSize(64 * 1024)  # Qt stops reading from the OS beyond this: no flood is buffered
        socket.readyRead.connect(self._read)
        socket.disconnected.connect(self._drop)
        self.timer = QTimer(self, singleShot=True, interval=READ_TIMEOUT_MS)
        self.timer.timeout.connect(self._drop)
        self.timer.start()

    def _read(self) -> None:
        # at most what the message still needs: a flood beyond it is never buffered
        want = (_HEADER.size if self.expected is None else _HEADER.size + self.expected) - len(self.buffer)
        self.buffer += bytes(self.socket.read(max(want, 0)).data())
        if self.expected is None and len(self.buffer) >= _HEADER.size:
            (self.expected,) = _HEADER.unpack(self.buffer[:_HEADER.size])
            if self.expected > MAX_MESSAGE_BYTES:
                return self._drop()
            if self.socket.bytesAvailable():
                return self._read()
        if self.expected is not None and len(self.buffer) >= _HEADER.size + self.expected:
            try:
                paths = decode_paths(bytes(self.buffer[_HEADER.size:]))
            except (ValueError, UnicodeDecodeError):
                return self._drop()
            self.socket.write(QByteArray(ACK))
            self.socket.flush()
            self.received.emit(paths)
            self._drop()

    def _drop(self) -> None:
        self.timer.stop()
        try:
            self.socket.readyRead.disconnect(self._read)
            self.socket.disconnected.disconnect(self._drop)
        except (RuntimeError, TypeError):  # already disconnected
            pass
        self.socket.disconnectFromServer()
        self.deleteLater()


class SingleInstance(QObject):
    """The first instance's server; :meth:`claim` decides which instance a launch is."""

    paths_received = Signal(list)  # absolute paths from a later launch (possibly empty: just show the window)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self.server: QLocalServer | None = None
        self._opened: list[str] = []  # macOS file-open events, gathered for one batch
        self._batch = QTimer(self, singleShot=True, interval=FILE_OPEN_BATCH_MS)
        self._batch.timeout.connect(self._flush_opened)

    def watch_file_open_events(self) -> None:
        """macOS never starts a second process for "Open With" on a running app: it sends the
        app one QFileOpenEvent per file. They become one ``paths_received``, like a launch's."""
        QCoreApplication.instance().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.FileOpen and event.file():
            if len(self._opened) < MAX_PATHS:
                self._opened.append(event.file())
            self._batch.start()
            return True
        return super().eventFilter(watched, event)

    def _flush_opened(self) -> None:
        paths, self._opened = self._opened, []
        if paths:
            self.paths_received.emit(paths)

    def claim(self, paths: list[str]) -> bool:
        """True when this launch is the first: it now listens. False when a running instance
        took ``paths``; the launch then exits. A lock file keeps two launches at the same
        moment from both becoming the first (or removing each other's server)."""
        lock = QLockFile(QDir(QDir.tempPath()).filePath(f"{self.name}.lock"))
        lock.setStaleLockTime(10_000)
        locked = lock.tryLock(5000)
        try:
            if hand_over(self.name, paths):
                return False
            self.listen()
            return True
        finally:
            if locked:
                lock.unlock()

    def listen(self) -> bool:
        """Start the server; a socket file left by a crashed instance is removed first (the
        caller has found nobody answering on it)."""
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user only
        server.setMaxPendingConnections(8)
        if not server.listen(self.name):
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                return False  # the window still opens; later launches open their own
        server.newConnection.connect(self._accept)
        self.server = server
        return True

    def _accept(self) -> None:
        while self.server is not None and self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            if len(self.findChildren(_Connection)) >= MAX_CLIENTS:
                socket.abort()
                socket.deleteLater()
                continue
            connection = _Connection(socket, self)
            connection.received.connect(self.paths_received)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def hand_over(name: str, paths: list[str], timeout_ms: int = CONNECT_TIMEOUT_MS) -> bool:
    """Send ``paths`` to the instance listening on ``name``; True once it acknowledged them.
    Blocking, for a launch that has no window yet (never called on a window's GUI thread)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    try:
        socket.write(QByteArray(encode_paths(paths)))
        if not socket.waitForBytesWritten(timeout_ms):
            return False
        # the server closes right after its answer: the byte may come with the disconnection
        while socket.bytesAvailable() < 1 and socket.waitForReadyRead(timeout_ms * 3):
            pass
        return bytes(socket.read(1).data()) == ACK
    finally:
        socket.abort()

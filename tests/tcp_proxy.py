"""A TCP proxy on 127.0.0.1 that a test can freeze: real sockets, one thread per direction.

Frozen, it stops reading and forwarding but keeps every socket open and keeps accepting
into the kernel's backlog, like a database whose process was stopped: the client's kernel
sees its data acknowledged (until the buffers fill), so keepalives and ``tcp_user_timeout``
notice nothing and no answer ever comes.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class FreezableProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; ``freeze()``, ``thaw()``, ``drop()``,
    ``close()``."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._listener.getsockname()[1]
        self._running = threading.Event()  # set: forwarding; clear: frozen
        self._running.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.connections = 0
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def freeze(self) -> None:
        self._running.clear()

    def thaw(self) -> None:
        self._running.set()

    @property
    def frozen(self) -> bool:
        return not self._running.is_set()

    def holding(self) -> bool:
        """Whether a peer sent something the frozen proxy has not forwarded (someone waits)."""
        with self._lock:
            sockets = [s for s in self._sockets if s.fileno() >= 0]
        try:
            readable, _, _ = select.select(sockets, [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(readable)

    def drop(self) -> None:
        """End every proxied connection (both peers see EOF), then forward again: a frozen
        link that finally breaks. New connections are served as before."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            # Shut down, not closed here: a pipe thread may still be using it; it returns
            # at the EOF and the socket is closed when the last reference goes.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.thaw()

    def close(self) -> None:
        """Close every socket (the frozen connections end with a reset or EOF)."""
        self._closed.set()
        self._running.set()  # wake the threads so they see the close
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            self._running.wait()
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._closed.is_set():
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
                self.connections += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(src, dst), name="proxy-pipe", daemon=True
                ).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        while not self._closed.is_set():
            self._running.wait()
            if self._closed.is_set():
                return
            # Short waits, so a freeze takes effect between two reads.
            try:
                readable, _, _ = select.select([src], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not readable or not self._running.is_set():
                continue
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            try:
                dst.sendall(data)
            except OSError:
                return

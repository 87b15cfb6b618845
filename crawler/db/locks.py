"""The per-site crawl lock: a PostgreSQL advisory lock on the archive database.

Whatever starts a crawl (``scrapy crawl``, ``akhbar crawl``, cron, the scheduler, another
host), two crawls of one site must never overlap: they would race on the same articles and
each would vouch for the other's half-done listing. A lock file only works on one host, so
the lock lives in the database every crawl writes to. It is a session-level advisory lock
held on a connection of its own (not the pool's), with TCP keepalives and a user timeout, so
a holder whose host or network dies loses it within about a minute instead of forever, and
``SiteLock.check`` notices when the connection (and so the lock) is gone.

The holder names itself in ``application_name``, and its ``crawl_runs`` row says more, so a
crawl that finds the lock taken can say who holds it.
"""

from __future__ import annotations

import socket
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from crawler.db.session import KEEPALIVES

# The first key of every crawl lock ("akhb"); the second is the site's. Two-key advisory
# locks never collide with the one-key migration lock.
LOCK_CLASS = 0x616B6862
# Keepalives and a user timeout: a holder whose host or network dies loses the lock.
KEEPALIVE = KEEPALIVES
CONNECT_TIMEOUT = 10
CHECK_TIMEOUT_MS = 20_000


def site_key(site: str) -> int:
    """The second lock key of a site: a stable, non-negative 31-bit hash of its slug."""
    return zlib.crc32(site.encode("utf-8")) & 0x7FFFFFFF


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg.connect) reads it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a site's lock, as far as the database can tell."""

    application_name: str | None = None
    client: str | None = None
    since: datetime | None = None
    run_id: int | None = None
    hostname: str | None = None
    pid: int | None = None
    started_at: datetime | None = None

    def describe(self) -> str:
        if self.run_id is not None:
            from crawler.display import local_time

            started = (
                f", started {local_time(self.started_at, seconds=True)}" if self.started_at else ""
            )
            return f"crawl run {self.run_id} on {self.hostname} (pid {self.pid}{started})"
        if self.application_name:
            client = f" from {self.client}" if self.client else ""
            return f"{self.application_name}{client}"
        return "another session (not visible to this database role)"


class SiteLock:
    """The crawl lock of ``site`` on the database at ``url``; not shared between threads
    except that ``check`` may run on a watchdog thread while the owner waits."""

    def __init__(self, url: str, site: str) -> None:
        self.url = url
        self.site = site
        self.key = site_key(site)
        self._conn: psycopg.Connection[Any] | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._conn is not None

    def acquire(self) -> bool:
        """Take the lock if it is free (never waits for it); raises when unreachable."""
        name = f"akhbar crawl {self.site} {socket.gethostname()}"[:63]
        conn = psycopg.connect(
            libpq_url(self.url),
            autocommit=True,
            application_name=name,
            connect_timeout=CONNECT_TIMEOUT,
            **KEEPALIVE,
        )
        try:
            got = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, self.key)
            ).fetchone()
        except BaseException:
            conn.close()
            raise
        if not (got and got[0]):
            conn.close()
            return False
        conn.execute(f"SET statement_timeout = {CHECK_TIMEOUT_MS}")
        self._conn = conn
        return True

    def check(self) -> None:
        """Raise if the lock's connection is gone (the server then released the lock)."""
        with self._mutex:
            conn = self._conn
            if conn is None:
                raise psycopg.OperationalError("the site lock is not held")
            conn.execute("SELECT 1")

    def release(self) -> None:
        """Give the lock back (closing the connection releases it in any case)."""
        with self._mutex:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, self.key))
        except psycopg.Error:
            pass  # the connection is gone, and the lock with it
        finally:
            conn.close()


def lock_holder(conn: Any, site: str) -> Holder:
    """Who holds ``site``'s crawl lock (``conn``: a SQLAlchemy connection)."""
    from sqlalchemy import text

    row = conn.execute(
        text(
            "SELECT a.application_name, host(a.client_addr), a.backend_start "
            "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
            "AND l.classid::bigint = :c AND l.objid::bigint = :o "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"c": LOCK_CLASS, "o": site_key(site)},
    ).first()
    run = conn.execute(
        text(
            "SELECT id, hostname, pid, started_at FROM crawl_runs "
            "WHERE spider = :s AND status = 'running' ORDER BY started_at DESC LIMIT 1"
        ),
        {"s": site},
    ).first()
    holder = Holder(*(row or (None, None, None)))
    if run is not None:
        holder = Holder(
            holder.application_name, holder.client, holder.since, run[0], run[1], run[2], run[3]
        )
    return holder

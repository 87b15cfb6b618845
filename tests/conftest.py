"""Shared fixtures: real PostgreSQL over TCP, one fresh database per xdist worker.

- ``pg_server_url``: the server (``AKHBAR_TEST_DATABASE_URL``, default the local one).
- ``make_database(migrate=True)``: a new uniquely named database, dropped at session end.
- ``database_url``: this worker's migrated database.
- ``engine``: an engine on it with every table emptied before the test.

Tests never see the user's ``DATABASE_URL`` or ``AKHBAR_HOME``: both are replaced for
the whole session so nothing can touch a real archive.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from crawler.db import session as db_session
from crawler.db.models import metadata

DEFAULT_TEST_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AKHBAR_HOME", str(tmp_path_factory.mktemp("akhbar_home")))
        mp.delenv("DATABASE_URL", raising=False)
        yield


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    return db_session.normalize_url(
        os.environ.get("AKHBAR_TEST_DATABASE_URL", "").strip() or DEFAULT_TEST_SERVER
    )


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg wants it (no '+psycopg')."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Iterator[Callable[..., str]]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    created: list[str] = []
    admin_dsn = _libpq(pg_server_url)

    def make(migrate: bool = True) -> str:
        name = f"akhbar_test_{worker}_{secrets.token_hex(4)}"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
        if migrate:
            db_session.upgrade(url)
        return url

    yield make

    db_session.dispose_engines()
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for name in created:
            # Subprocesses or leaked connections must not keep a test database alive.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def database_url(make_database: Callable[..., str]) -> str:
    return make_database()


_TRUNCATE = "TRUNCATE {} RESTART IDENTITY CASCADE".format(
    ", ".join(table.name for table in metadata.sorted_tables)
)


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = db_session.get_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(_TRUNCATE))
    return engine

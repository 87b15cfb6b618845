"""deploy/sql/analyst_role.sql on the real server: an analyst reads everything, writes nothing."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from crawler.db.embedded import psql_executable

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "sql" / "analyst_role.sql"


def _libpq(url: str, user: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if user is not None:
        parsed = parsed.set(username=user, password=None)
    return parsed.render_as_string(hide_password=False)


def _apply(url: str, **variables: str) -> subprocess.CompletedProcess[str]:
    args = [str(psql_executable()), _libpq(url), "-X", "-q", "-f", str(SCRIPT)]
    for name, value in variables.items():
        args += ["-v", f"{name}={value}"]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


@pytest.fixture
def analyst(make_database):
    """A fresh archive with one row, the script applied (twice), and the roles dropped after."""
    url = make_database()
    token = secrets.token_hex(4)  # roles are cluster-wide: never collide with another run
    group, login = f"akhbar_analyst_{token}", f"analyst_login_{token}"
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sites (slug, name, base_url) VALUES ('furatpost', 'فرات بوست', "
            "'https://euphratespost.net/')"
        )
    try:
        for _ in range(2):  # running it again changes nothing and does not fail
            result = _apply(url, analyst=group, login=login, statement_timeout="250ms")
            assert result.returncode == 0, result.stderr
            assert "ERROR" not in result.stderr
        yield url, login
    finally:
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (login,),
            )
            exists = conn.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", (group, login)
            ).fetchone()[0]
            if exists == 2:
                conn.execute(f'DROP OWNED BY "{login}", "{group}"')
                conn.execute(f'DROP ROLE "{login}", "{group}"')


def _fails(conn: psycopg.Connection, statement: str, message: str) -> None:
    with pytest.raises(psycopg.Error, match=message):
        conn.execute(statement)
    conn.rollback()


def test_the_analyst_reads_every_table_and_writes_nothing(analyst):
    url, login = analyst
    with psycopg.connect(_libpq(url, login)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (login,)
        assert conn.execute("SELECT slug FROM sites").fetchall() == [("furatpost",)]
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        assert {"articles", "article_revisions", "crawl_runs", "sites"} <= set(tables)
        for table in tables:  # every table, not only the ones named here
            conn.execute(f'SELECT count(*) FROM "{table}"')
        conn.rollback()

        # Layer 1: the login's sessions are read-only by default.
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        read_only = "read-only transaction"
        _fails(conn, "INSERT INTO sites (slug, name, base_url) VALUES ('x', 'x', 'x')", read_only)
        _fails(conn, "CREATE TABLE scratch (id int)", read_only)

        # Layer 2: with read-only switched off, the privileges still refuse every write.
        conn.execute("SET default_transaction_read_only = off")
        conn.commit()
        denied = "permission denied"
        _fails(conn, "INSERT INTO sites (slug, name, base_url) VALUES ('x', 'x', 'x')", denied)
        _fails(conn, "UPDATE sites SET name = 'changed'", denied)
        _fails(conn, "DELETE FROM sites", denied)
        _fails(conn, "TRUNCATE sites", denied)
        _fails(conn, "CREATE TABLE public.scratch (id int)", denied)
        _fails(conn, "ALTER TABLE sites ADD COLUMN x int", "must be owner")


def test_statement_timeout_stops_a_runaway_query(analyst):
    url, login = analyst
    with psycopg.connect(_libpq(url, login)) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("250ms",)
        # A query that would run 60 s is cancelled by the server at the timeout.
        _fails(conn, "SELECT pg_sleep(60)", "statement timeout")


def test_tables_and_views_created_later_are_readable_too(analyst):
    url, login = analyst
    # As the owner of the tables (the role that migrates): a new migration's table and view.
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE later_table (id int)")
        conn.execute("INSERT INTO later_table VALUES (7)")
        conn.execute("CREATE VIEW later_view AS SELECT id * 6 AS answer FROM later_table")
    with psycopg.connect(_libpq(url, login)) as conn:
        assert conn.execute("SELECT id FROM later_table").fetchone() == (7,)
        assert conn.execute("SELECT answer FROM later_view").fetchone() == (42,)

"""``akhbar db upgrade|current|url`` against a real server."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url

from crawler.cli import build_parser, main
from crawler.db import session as db_session


def test_url_masks_the_password(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgres://reader:s3cr%40t@db.example:5433/archive")
    assert main(["db", "url"]) == 0
    out = capsys.readouterr().out
    assert "s3cr" not in out
    assert "postgresql+psycopg://reader:***@db.example:5433/archive" in out
    assert "DATABASE_URL" in out


def test_upgrade_then_current(make_database, monkeypatch, capsys):
    url = make_database(migrate=False)
    monkeypatch.setenv("DATABASE_URL", url)
    head = db_session.head_revisions()[0]

    assert main(["db", "current"]) == 1
    assert "empty" in capsys.readouterr().out

    assert main(["db", "upgrade"]) == 0
    assert head in capsys.readouterr().out
    assert db_session.current_revisions(url) == (head,)

    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{head} (head)"

    assert main(["db", "upgrade"]) == 0
    assert "already at" in capsys.readouterr().out


def test_revision_from_newer_code_is_one_clear_line(make_database, monkeypatch, capsys):
    url = make_database()
    with db_session.get_engine(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("akhbar: database is at revision from_the_future, which this version")
    assert main(["db", "current"]) == 1
    assert "unknown to this version" in capsys.readouterr().out
    with db_session.get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    assert main(["db", "upgrade", "nosuchrevision"]) == 1
    assert "nosuchrevision" in capsys.readouterr().err


def test_unreachable_server_is_one_line_without_traceback(pg_server_url, monkeypatch, capsys):
    # Port 1 on localhost: nothing listens there, the connection is refused at once.
    url = make_url(pg_server_url).set(port=1).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "current"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("akhbar: ")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_not_postgresql_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///archive.db")
    assert main(["db", "url"]) == 1
    assert "PostgreSQL" in capsys.readouterr().err


def test_subcommands_are_discovered():
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices
    assert "db" in choices


def test_no_subcommand_shows_help(capsys):
    assert main([]) == 2
    assert "usage: akhbar" in capsys.readouterr().err


def test_psql_runs_against_the_database_in_use(database_url, monkeypatch, capfd):
    monkeypatch.setenv("DATABASE_URL", database_url)
    status = main(["db", "psql", "--", "-Atc", "SELECT current_database()"])
    assert status == 0
    assert capfd.readouterr().out.strip() == make_url(database_url).database


def test_psql_gets_every_argument_after_psql(database_url, monkeypatch, capfd):
    monkeypatch.setenv("DATABASE_URL", database_url)
    # psql's own options, in psql's order, none of them ours (-c, -A, -t, -F, --help).
    args = ["-c", "SELECT 41 + 1, current_database()", "-A", "-t", "-F", ";"]
    assert main(["db", "psql", *args]) == 0
    assert capfd.readouterr().out.strip() == f"42;{make_url(database_url).database}"
    assert main(["db", "psql", "--help"]) == 0
    assert "psql is the PostgreSQL interactive terminal" in capfd.readouterr().out
    # psql's own exit status comes back.
    assert main(["db", "psql", "-v", "ON_ERROR_STOP=1", "-c", "SELECT nosuchcolumn"]) != 0
    assert "nosuchcolumn" in capfd.readouterr().err


def test_serve_with_a_server_url_says_so(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://reader:s3cret@db.example:5433/archive")
    assert main(["db", "serve"]) == 0
    out = capsys.readouterr().out
    assert "a server already" in out and "db.example:5433/archive" in out
    assert "s3cret" not in out

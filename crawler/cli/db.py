"""``akhbar db``: the database in use and its migrations."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``akhbar db upgrade|current|url``."""
    parser = subparsers.add_parser(
        "db",
        help="database: apply migrations, show revision and URL",
        description="The database akhbar uses: DATABASE_URL if set, else the embedded "
        "PostgreSQL under AKHBAR_HOME.",
    )
    parser.set_defaults(_parser=parser)
    commands = parser.add_subparsers(dest="db_command", metavar="COMMAND")

    upgrade = commands.add_parser("upgrade", help="apply migrations (default: up to head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(func=cmd_upgrade)

    current = commands.add_parser("current", help="print the revision the database is at")
    current.set_defaults(func=cmd_current)

    url = commands.add_parser("url", help="print the database URL in use (password masked)")
    url.set_defaults(func=cmd_url)

    psql = commands.add_parser(
        "psql",
        help="open psql on the database (keeps the embedded server up while it runs)",
        description="Open psql on the database in use. Arguments after `--` go to psql, "
        "e.g. akhbar db psql -- -c 'SELECT count(*) FROM articles'.",
    )
    psql.add_argument("psql_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    psql.set_defaults(func=cmd_psql)


def cmd_upgrade(args: argparse.Namespace) -> int:
    from crawler.db import session

    url = session.database_url()
    before = session.current_revisions(url)
    session.upgrade(url, args.revision)
    after = session.current_revisions(url)
    if before == after:
        print(f"already at {_describe(after)}")
    else:
        print(f"upgraded {_describe(before)} -> {_describe(after)}")
    return 0


def cmd_current(args: argparse.Namespace) -> int:
    from crawler.db import session

    current = session.current_revisions()
    heads = session.head_revisions()
    if set(current) == set(heads):
        state = "(head)"
    elif not current:
        state = "(empty: run `akhbar db upgrade`)"
    elif session.unknown_revisions(current):
        state = "(unknown to this version of akhbar: migrated by newer code? upgrade akhbar)"
    else:
        state = f"(not head; head is {_describe(heads)}: run `akhbar db upgrade`)"
    print(f"{_describe(current)} {state}")
    # 0 only at head, so scripts can test "is the schema current?".
    return 0 if set(current) == set(heads) else 1


def cmd_url(args: argparse.Namespace) -> int:
    from crawler.db import session

    embedded = session.using_embedded()
    if embedded:
        from crawler.db.embedded import pgdata_dir

    url = session.masked_url(session.database_url())
    if embedded:
        print(f"{url}  (embedded PostgreSQL, data in {pgdata_dir()})")
    else:
        print(f"{url}  (from DATABASE_URL)")
    return 0


def cmd_psql(args: argparse.Namespace) -> int:
    import os
    import signal
    import subprocess

    from sqlalchemy.engine import URL, make_url

    from crawler.db import session
    from crawler.db.embedded import psql_executable

    url = make_url(session.database_url())
    # libpq form without the driver; the password goes through the environment, not argv.
    dsn = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string()
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    extra = list(args.psql_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    proc = subprocess.Popen([str(psql_executable()), dsn, *extra], env=env)
    # Ctrl-C belongs to psql (it cancels the query); we just wait for it to exit.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def _describe(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) if revisions else "<none>"

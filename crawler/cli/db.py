"""``akhbar db``: the database in use, its migrations, psql, and serving it to outside tools."""

from __future__ import annotations

import argparse
from typing import Any

from crawler.cli import CommandError


def register(subparsers: Any) -> None:
    """Add ``akhbar db upgrade|current|url|psql|serve``."""
    parser = subparsers.add_parser(
        "db",
        help="database: migrations, revision, URL, psql, serve to outside tools",
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
        # Everything after `psql` is psql's own (-c, -A, -t, -f, --help...): no option of ours.
        prefix_chars="\x00",
        add_help=False,
        help="psql on the database; every argument after `psql` goes to psql",
        description="Open psql on the database in use (the embedded one too, kept up while "
        "psql runs). Every argument after `psql` goes to psql, e.g. "
        "akhbar db psql -c 'SELECT count(*) FROM articles' -A -t",
    )
    psql.add_argument("psql_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    psql.set_defaults(func=cmd_psql)

    serve = commands.add_parser(
        "serve",
        help="keep the embedded database up on a local TCP port for psql, notebooks, BI tools",
        description="Keep the embedded PostgreSQL up and reachable on 127.0.0.1 until Ctrl-C "
        "or SIGTERM, and print its connection URLs. Other akhbar processes share the same "
        "server; it stops when the last of them has exited. There is no password: only "
        "programs of your own user (and root) are let in, unless --any-user. With "
        "DATABASE_URL set there is nothing to serve: connect to that server directly.",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=None,
        help="TCP port on 127.0.0.1 (default 54320; 0 picks a free one)",
    )
    serve.add_argument(
        "--any-user",
        action="store_true",
        help="let every local user of this machine connect (no password: each is a superuser)",
    )
    serve.set_defaults(func=cmd_serve)


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


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from crawler.db import session
    from crawler.db.embedded import DATABASE_NAME, SERVE_HOST, SERVE_PORT, pgdata_dir, serve_tcp

    if not session.using_embedded():
        url = session.masked_url(session.database_url())
        print(f"the database is a server already (DATABASE_URL): {url}")
        print("connect to it directly; `akhbar db serve` only serves the embedded database")
        return 0
    port = SERVE_PORT if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise CommandError(f"--port takes 0-65535, not {port}", code=2)
    logging.basicConfig(level=logging.WARNING, format="akhbar: %(message)s")
    # Outside tools come for the archive's tables: make sure they are there and current.
    session.ensure_schema()

    def ready(bound: int) -> None:
        sqlalchemy_url = f"postgresql+psycopg://postgres@{SERVE_HOST}:{bound}/{DATABASE_NAME}"
        print(f"embedded PostgreSQL (data in {pgdata_dir()}) on {SERVE_HOST}:{bound}")
        print(f"SQLAlchemy URL: {sqlalchemy_url}")
        print(f"libpq URL:      postgresql://postgres@{SERVE_HOST}:{bound}/{DATABASE_NAME}")
        who = "any local user" if args.any_user else "your user and root only"
        print(f"Ctrl-C or SIGTERM stops serving (no password; {who})", flush=True)

    try:
        serve_tcp(ready, port=port, any_user=args.any_user)
    except OSError as exc:  # the port is taken, or not ours to bind
        raise CommandError(
            f"cannot listen on {SERVE_HOST}:{port}: {exc.strerror or exc}; "
            "choose another with --port (0 = any free port)"
        ) from exc
    print("stopped serving", flush=True)
    return 0


def _describe(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) if revisions else "<none>"

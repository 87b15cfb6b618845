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


def _describe(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) if revisions else "<none>"

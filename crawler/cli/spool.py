"""``akhbar spool status`` and ``akhbar spool replay``: batches waiting for the database.

A crawl spools batches when PostgreSQL is unreachable and replays them at its next start;
these commands show them and replay them without a crawl.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from crawler.cli import CommandError
from crawler.config import spool_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spool", help="batches waiting for the database")
    parser.add_argument(
        "--dir", type=Path, default=None, help="spool directory (default: AKHBAR_HOME/spool)"
    )
    commands = parser.add_subparsers(dest="spool_command", required=True)
    status = commands.add_parser("status", help="list spooled and rejected batches")
    status.set_defaults(func=status_command)
    replay = commands.add_parser("replay", help="store spooled batches now, oldest first")
    replay.add_argument(
        "--failed",
        action="store_true",
        help="also retry batches the database rejected before (spool/failed/)",
    )
    replay.add_argument(
        "--any-database",
        action="store_true",
        help="also replay batches spooled by crawls into another database",
    )
    replay.set_defaults(func=replay_command)


def _directory(args: argparse.Namespace) -> Path:
    return args.dir if getattr(args, "dir", None) else spool_dir()


def status_command(args: argparse.Namespace) -> int:
    from crawler import spool

    directory = _directory(args)
    waiting = spool.pending(directory)
    rejected = spool.failed(directory)
    print(f"spool directory: {directory}")
    for label, paths in (("waiting", waiting), ("rejected (failed/)", rejected)):
        items = 0
        sites: Counter[str] = Counter()
        databases: Counter[str] = Counter()
        for path in paths:
            try:
                batch = spool.load(path)
            except (spool.SpoolFormatError, OSError, ValueError) as exc:
                print(f"  unreadable: {path.name}: {exc}")
                continue
            items += len(batch.observations)
            databases[batch.database or "any"] += 1
            for obs in batch.observations:
                sites[obs.site] += 1
        per_site = ", ".join(f"{s} {n}" for s, n in sorted(sites.items()))
        print(
            f"{label}: {len(paths)} batches, {items} observations"
            + (f" ({per_site})" if per_site else "")
        )
    return 0


def replay_command(args: argparse.Namespace) -> int:
    from crawler import spool
    from crawler.errors import is_outage
    from pipelines.store import BatchWriter

    directory = _directory(args)
    if args.failed:
        # Put rejected batches back in line; they keep their original (time-sorted) names.
        for path in spool.failed(directory):
            path.rename(directory / path.name)
    writer = BatchWriter(None, spool_directory=directory, any_database=args.any_database)
    stats: Counter[str] = Counter()
    try:
        writer.replay(stats)
    except Exception as exc:
        if not is_outage(exc):
            raise
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        left = len(spool.pending(directory))
        raise CommandError(f"database unreachable ({first}); {left} batches still waiting") from exc
    print(
        f"replayed {stats['store/replayed_items']} observations in "
        f"{stats['store/replayed_batches']} batches"
        + (
            f"; {stats['store/errors']} rejected (see spool/failed/)"
            if stats["store/errors"]
            else ""
        )
    )
    left = spool.pending(directory)
    if left:
        print(
            f"{len(left)} batches still waiting (for another database, see --any-database,"
            " or held by a running crawl)"
        )
    return 1 if stats["store/errors"] else 0

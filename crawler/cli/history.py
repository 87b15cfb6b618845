"""``akhbar history`` and ``akhbar export``: the archive for analysts."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO

from crawler.cli import CommandError
from crawler.display import DISPLAY_ZONE, display_url, local_time, utc_iso
from crawler.items import REVISION_FIELDS

# Identity and provenance around the revision's own fields (crawler.items.REVISION_FIELDS).
ID_FIELDS = ("site", "article_id", "external_id", "canonical_url", "removed_at")
PROVENANCE_FIELDS = ("revision_no", "observed_at", "content_hash", "extractor")
PROVENANCE_FIELDS += ("extractor_version", "fetch_id", "fetch_entry", "page_fetch_id")


def export_fields() -> tuple[str, ...]:
    return (*ID_FIELDS, *REVISION_FIELDS, *PROVENANCE_FIELDS)


def register(subparsers: argparse._SubParsersAction) -> None:
    history = subparsers.add_parser(
        "history", help="an article's revisions and events, with what changed"
    )
    history.add_argument("article", help="article id, SITE:EXTERNAL_ID or any URL it was seen at")
    history.add_argument("--no-diff", action="store_true", help="list revisions only")
    history.set_defaults(func=history_command)

    export = subparsers.add_parser("export", help="articles as JSON lines or CSV")
    export.add_argument("--site", help="only this spider's site")
    export.add_argument("--since", help="revisions observed since (ISO date or datetime)")
    export.add_argument(
        "--all-revisions", action="store_true", help="every revision, not only the current"
    )
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument(
        "--bom",
        action="store_true",
        help="CSV only: start with a UTF-8 byte order mark, so spreadsheet programs "
        "(Excel, LibreOffice) read the Arabic text as UTF-8",
    )
    export.set_defaults(func=export_command)


def _connect() -> Any:
    from crawler.db.session import ensure_schema, get_engine

    ensure_schema()
    return get_engine().connect()


def history_command(args: argparse.Namespace) -> int:
    from crawler.db import queries

    with _connect() as conn:
        try:
            article = queries.find_article(conn, args.article)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if article is None:
            raise CommandError(f"no article in the archive for {args.article}")
        revisions = queries.revisions(conn, article.id)
        events = queries.events(conn, article.id)
    state = f"removed {local_time(article.removed_at)}" if article.removed_at else "online"
    print(f"article {article.id}  {article.site}:{article.external_id or '-'}  {state}")
    print(display_url(article.canonical_url))
    print(
        f"first seen {local_time(article.first_seen_at)}, "
        f"last checked {local_time(article.last_checked_at)}, "
        f"{article.revision_count} revisions\n"
    )
    for event in events:
        print(f"  event  {local_time(event['occurred_at'])}  {_event_text(event)}")
    if events:
        print()
    previous = None
    for revision in revisions:
        print(
            f"revision {revision['revision_no']}  observed {local_time(revision['observed_at'])}"
            f"  sha256 {revision['content_hash'].hex()[:12]}  {revision['title']}"
        )
        print(f"    evidence: {evidence(revision)}")
        if previous is not None and not args.no_diff:
            for line in queries.revision_diff(previous, revision):
                print(f"    {line}")
        previous = revision
    return 0


def _event_text(event: dict[str, Any]) -> str:
    """``removed: http 410``, ``url_added: URL``, ``redirected: FROM -> TO``."""
    detail = event.get("detail") or {}
    parts = [event["reason"]] if event["reason"] else []
    if "url" in detail:
        parts.append(display_url(detail["url"]))
    if "from" in detail and "to" in detail:
        parts.append(f"{display_url(detail['from'])} -> {display_url(detail['to'])}")
    return event["kind"] + (f": {'; '.join(parts)}" if parts else "")


def evidence(revision: dict[str, Any]) -> str:
    """Where a revision's content came from: its fetch (and entry), its page fetch."""
    if revision.get("fetch_id") is None:
        return "no fetch recorded"
    out = f"fetch {revision['fetch_id']}"
    if revision.get("fetch_entry"):
        out += f" entry {revision['fetch_entry']}"
    if revision.get("fetch_synthetic"):
        out += " (synthetic: re-serialized by the archive, not as received)"
    if revision.get("page_fetch_id") is not None:
        out += f", article page fetch {revision['page_fetch_id']}"
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def _write(rows: Any, out: TextIO, fmt: str) -> int:
    count = 0
    fields = export_fields()
    writer = csv.DictWriter(out, fields, extrasaction="ignore") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in rows:
        record = {k: _jsonable(row.get(k)) for k in fields}
        if writer:
            for key in ("authors", "tags"):
                record[key] = "; ".join(record[key] or [])
            writer.writerow(record)
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


@contextmanager
def _output(path: str | None, bom: bool) -> Iterator[TextIO]:
    """The export's destination, always UTF-8 (whatever the locale), with a BOM if asked."""
    if path:
        with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
            yield out
        return
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", newline="")
    if bom:
        sys.stdout.write("\ufeff")
    yield sys.stdout


def export_command(args: argparse.Namespace) -> int:
    from crawler.db import queries

    if args.bom and args.format != "csv":
        raise CommandError("--bom is for --format csv (a BOM would break JSON lines)", code=2)
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise CommandError(
                f"--since takes an ISO date or datetime, not {args.since!r}"
            ) from None
        if since.tzinfo is None:  # a date as a person gives it: the sites' local time
            since = since.replace(tzinfo=DISPLAY_ZONE)
    with _connect() as conn:
        rows = queries.export_rows(
            conn, site=args.site, since=since, all_revisions=args.all_revisions
        )
        try:
            with _output(args.output, args.bom) as out:
                count = _write(rows, out, args.format)
                out.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as a process killed by SIGPIPE.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
    if args.output:
        print(f"{count} rows written to {args.output}", file=sys.stderr)
    return 0

"""``akhbar extract FILE --url URL``: the article in a saved page, as its spider extracts it.

The same code re-extracts archived fetches (``crawler.extract.snapshot``): a saved page, a
WordPress REST post, or with ``--entry /N`` the Nth post of a saved REST list response.

Prints one JSON object (keys named as the ``article_revisions`` columns plus ``site``,
``canonical_url`` and ``external_id``; datetimes ISO 8601 in UTC, as all machine output,
see ``crawler.display``). Exits 2 with a one-line reason when the page is not an article, 3
when the file cannot be read. Works offline.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

from crawler.items import REVISION_FIELDS

NOT_AN_ARTICLE = 2
UNREADABLE = 3  # the file cannot be read (missing, no permission, broken gzip, not text)
# Extraction's reasons that say the input is no page at all rather than a page without an
# article.
UNREADABLE_REASONS = frozenset({"undecodable", "too_large"})


def output_keys() -> tuple[str, ...]:
    """The printed keys, in order: the ``article_revisions`` columns, then site and identity."""
    return (*REVISION_FIELDS, "site", "canonical_url", "external_id")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="print the article in a saved page as JSON",
        description="Extract the article in a saved page (.html or .html.gz) as its spider would.",
    )
    parser.add_argument("file", type=Path, help="saved page (.html or .html.gz) or REST post JSON")
    parser.add_argument("--url", required=True, help="the URL the page was fetched from")
    parser.add_argument("--site", default=None, help="spider name (default: from the URL's host)")
    parser.add_argument(
        "--fetched-at",
        default=None,
        help="ISO 8601 time of the fetch (default: now); anchors relative dates",
    )
    parser.add_argument("--encoding", default=None, help="override the page's declared encoding")
    parser.add_argument(
        "--entry",
        default=None,
        help="JSON pointer of the post in a REST list response, e.g. /17 (fetch_entry)",
    )
    parser.set_defaults(func=run)


class UnreadableInput(Exception):
    """The file holds no page to read: too large once uncompressed, or not text."""


def read_page(path: Path, limit: int) -> bytes:
    """The bytes of a saved page, gunzipped when it is gzip; at most ``limit`` bytes are
    read or decompressed (a gzip bomb stops there), more is ``UnreadableInput``."""
    with path.open("rb") as file:
        gzipped = file.read(2) == b"\x1f\x8b"
        file.seek(0)
        if gzipped:
            with gzip.GzipFile(fileobj=file) as unzipped:
                data = unzipped.read(limit + 1)
        else:
            data = file.read(limit + 1)
    if len(data) > limit:
        what = "uncompressed page" if gzipped else "page"
        raise UnreadableInput(f"{what} larger than {limit // (1024 * 1024)} MiB")
    return data


def run(args: argparse.Namespace) -> int:
    from crawler.cli import CommandError
    from crawler.errors import NotAnArticle
    from crawler.extract.dates import parse_iso_datetime
    from crawler.extract.html import MAX_PAGE_BYTES
    from crawler.extract.snapshot import extract_snapshot
    from crawler.spiders import page_for

    def unreadable(reason: object) -> CommandError:
        return CommandError(f"cannot read {args.file}: {reason}", code=UNREADABLE)

    try:
        data = read_page(args.file, MAX_PAGE_BYTES)
    except UnreadableInput as exc:
        raise unreadable(exc) from exc
    except (OSError, EOFError, zlib.error) as exc:  # missing, unreadable, broken gzip
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise unreadable(reason) from exc
    fetched_at = datetime.now(UTC).replace(microsecond=0)
    if args.fetched_at:
        parsed = parse_iso_datetime(args.fetched_at, "UTC")
        if parsed is None:
            raise CommandError(f"--fetched-at is not an ISO 8601 time: {args.fetched_at}")
        fetched_at = parsed
    try:
        site, page = page_for(args.url, args.site)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
    try:
        article = extract_snapshot(
            data, args.url, fetched_at, page, encoding=args.encoding, entry=args.entry
        )
    except NotAnArticle as exc:
        if exc.reason in UNREADABLE_REASONS:
            raise unreadable(exc) from exc
        print(f"akhbar: not an article: {exc}", file=sys.stderr)
        return NOT_AN_ARTICLE
    from crawler.display import utc_iso

    out = article.fields()
    out.update(published_at=utc_iso(article.published_at), modified_at=utc_iso(article.modified_at))
    out["site"] = site
    print(json.dumps({k: out[k] for k in output_keys()}, ensure_ascii=False, indent=2))
    return 0

"""Read-only queries for analysts: find an article, its revision history, exports.

Also the bounded per-site queries behind ``akhbar status``. Nothing here writes;
``crawler.db.revisions`` is the only writer.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from crawler.display import local_time
from crawler.extract.urls import url_key
from crawler.items import HASHED_FIELDS, REVISION_FIELDS

# The revision fields an analyst compares (those that make a revision), in the order a diff
# shows them: the body, the longest, last.
DIFF_FIELDS = (*(name for name in HASHED_FIELDS if name != "body_text"), "body_text")

_REVISION_COLUMNS = ", ".join(
    f"r.{name}"
    for name in (
        "revision_no",
        "observed_at",
        "content_hash",
        *REVISION_FIELDS,
        "extractor",
        "extractor_version",
        "fetch_id",
        "fetch_entry",
        "page_fetch_id",
    )
)


@dataclass(frozen=True, slots=True)
class ArticleRef:
    id: int
    site: str
    external_id: str | None
    canonical_url: str
    first_seen_at: datetime
    last_checked_at: datetime
    removed_at: datetime | None
    revision_count: int


def find_article(conn: Connection, ref: str) -> ArticleRef | None:
    """An article by id (``123``), ``site:external_id`` (``furatpost:31842``) or any URL
    it was seen under, in any spelling (encodings, tracking parameters, trailing slash)."""
    ref = ref.strip()
    select = (
        "SELECT a.id, s.slug, a.external_id, a.canonical_url, a.first_seen_at, "
        "a.last_checked_at, a.removed_at, a.revision_count "
        "FROM articles a JOIN sites s ON s.id = a.site_id "
    )
    if ref.isdigit():
        row = conn.execute(text(select + "WHERE a.id = :id"), {"id": int(ref)}).first()
    elif "://" in ref:
        row = conn.execute(
            text(
                select + "WHERE a.id = (SELECT article_id FROM article_urls WHERE url_key = :key "
                "ORDER BY last_seen_at DESC LIMIT 1)"
            ),
            {"key": url_key(ref)},
        ).first()
    elif ":" in ref:
        site, external_id = ref.split(":", 1)
        row = conn.execute(
            text(select + "WHERE s.slug = :site AND a.external_id = :ext"),
            {"site": site, "ext": external_id},
        ).first()
    else:
        raise ValueError(f"not an article id, site:external_id or URL: {ref!r}")
    return ArticleRef(*row) if row else None


def revisions(conn: Connection, article_id: int) -> list[dict[str, Any]]:
    """Every revision of an article, oldest first, with whether its fetch is synthetic."""
    rows = conn.execute(
        text(
            f"SELECT {_REVISION_COLUMNS}, f.synthetic AS fetch_synthetic "
            "FROM article_revisions r LEFT JOIN fetches f ON f.id = r.fetch_id "
            "WHERE r.article_id = :id ORDER BY r.revision_no"
        ),
        {"id": article_id},
    )
    return [dict(row._mapping) for row in rows]


def events(conn: Connection, article_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT kind, occurred_at, reason, detail FROM article_events "
            "WHERE article_id = :id ORDER BY occurred_at, id"
        ),
        {"id": article_id},
    )
    return [dict(row._mapping) for row in rows]


def _lines(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [", ".join(value)] if value else []
    if isinstance(value, datetime):
        return [local_time(value)]
    return str(value).split("\n") if field == "body_text" else [str(value)]


def revision_diff(old: dict[str, Any], new: dict[str, Any], *, context: int = 1) -> list[str]:
    """A unified diff, field by field, of what changed between two revisions."""
    out: list[str] = []
    for field in DIFF_FIELDS:
        before, after = _lines(field, old.get(field)), _lines(field, new.get(field))
        if before == after:
            continue
        out.extend(
            difflib.unified_diff(
                before,
                after,
                fromfile=f"{field} (revision {old['revision_no']})",
                tofile=f"{field} (revision {new['revision_no']})",
                lineterm="",
                n=context,
            )
        )
    return out


def export_rows(
    conn: Connection,
    *,
    site: str | None = None,
    since: datetime | None = None,
    all_revisions: bool = False,
) -> Iterator[dict[str, Any]]:
    """Articles with their current revision (or every revision), streamed from the server.

    ``since`` keeps revisions observed at or after it.
    """
    join = "r.article_id = a.id" if all_revisions else "r.id = a.current_revision_id"
    sql = (
        "SELECT s.slug AS site, a.id AS article_id, a.external_id, a.canonical_url, "
        f"a.removed_at, {_REVISION_COLUMNS} "
        f"FROM articles a JOIN sites s ON s.id = a.site_id JOIN article_revisions r ON {join} "
        "WHERE (CAST(:site AS text) IS NULL OR s.slug = :site) "
        "AND (CAST(:since AS timestamptz) IS NULL OR r.observed_at >= :since) "
        "ORDER BY a.id, r.revision_no"
    )
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(
        text(sql), {"site": site, "since": since}
    )
    for row in result:
        yield dict(row._mapping)


# -- site health (akhbar status): bounded per site, served by ix_crawl_runs_spider_started_at --


def crawled_spiders(conn: Connection) -> list[str]:
    """Every spider with a crawl_runs row: a skip scan of the (spider, started_at) index, one
    probe per spider however many runs there are."""
    rows = conn.execute(
        text(
            "WITH RECURSIVE spiders(spider) AS ("
            " (SELECT spider FROM crawl_runs ORDER BY spider LIMIT 1)"
            " UNION ALL"
            " SELECT (SELECT r.spider FROM crawl_runs r WHERE r.spider > s.spider"
            "  ORDER BY r.spider LIMIT 1) FROM spiders s WHERE s.spider IS NOT NULL)"
            " SELECT spider FROM spiders WHERE spider IS NOT NULL"
        )
    )
    return [row[0] for row in rows]


def recent_runs(
    conn: Connection, spiders: list[str], limit: int
) -> dict[str, list[dict[str, Any]]]:
    """The ``limit`` newest crawl_runs rows of each spider, newest first."""
    rows = conn.execute(
        text(
            "SELECT s.spider, r.id, r.status, r.started_at, r.finished_at, r.finish_reason,"
            " r.args, r.stats, r.hostname, r.pid"
            " FROM unnest(CAST(:spiders AS text[])) AS s(spider)"
            " CROSS JOIN LATERAL (SELECT * FROM crawl_runs c WHERE c.spider = s.spider"
            "  ORDER BY c.started_at DESC LIMIT :limit) r"
            " ORDER BY s.spider, r.started_at DESC"
        ),
        {"spiders": spiders, "limit": limit},
    )
    out: dict[str, list[dict[str, Any]]] = {spider: [] for spider in spiders}
    for row in rows:
        record = dict(row._mapping)
        out[record.pop("spider")].append(record)
    return out


def last_runs_with_status(
    conn: Connection, spiders: list[str], statuses: list[str]
) -> dict[str, datetime]:
    """When each spider's newest run with one of ``statuses`` ended (absent: never)."""
    rows = conn.execute(
        text(
            "SELECT s.spider, coalesce(r.finished_at, r.started_at)"
            " FROM unnest(CAST(:spiders AS text[])) AS s(spider)"
            " CROSS JOIN LATERAL (SELECT started_at, finished_at FROM crawl_runs c"
            "  WHERE c.spider = s.spider"
            "  AND c.status = ANY(CAST(:statuses AS text[])) ORDER BY c.started_at DESC LIMIT 1) r"
        ),
        {"spiders": spiders, "statuses": statuses},
    )
    return {spider: started for spider, started in rows}


def run_totals_since(
    conn: Connection, spiders: list[str], since: datetime
) -> dict[str, dict[str, int]]:
    """Per spider, ``summary/new`` and ``summary/revised`` summed over runs started since."""
    rows = conn.execute(
        text(
            "SELECT spider, count(*) AS runs,"
            " coalesce(sum((stats->>'summary/new')::bigint), 0) AS new,"
            " coalesce(sum((stats->>'summary/revised')::bigint), 0) AS revised"
            " FROM crawl_runs WHERE spider = ANY(CAST(:spiders AS text[])) AND started_at >= :since"
            " GROUP BY spider"
        ),
        {"spiders": spiders, "since": since},
    )
    return {row.spider: {"runs": row.runs, "new": row.new, "revised": row.revised} for row in rows}


def archive_sizes(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per site (``sites.slug``): its name, articles, removed articles and revisions."""
    rows = conn.execute(
        text(
            "SELECT s.slug, s.name, count(a.id) AS articles, count(a.removed_at) AS removed,"
            " coalesce(sum(a.revision_count), 0) AS revisions"
            " FROM sites s LEFT JOIN articles a ON a.site_id = s.id GROUP BY s.slug, s.name"
        )
    )
    return {row.slug: dict(row._mapping) for row in rows}

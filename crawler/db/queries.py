"""Read-only queries for analysts: find an article, its revision history, exports.

Nothing here writes; ``crawler.db.revisions`` is the only writer.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from crawler.extract.urls import url_key

# The revision fields an analyst compares, in the order a diff shows them.
DIFF_FIELDS = ("title", "subtitle", "authors", "published_at", "section", "tags", "body_text")

_REVISION_COLUMNS = (
    "r.revision_no, r.observed_at, r.content_hash, r.title, r.subtitle, r.body_text, "
    "r.authors, r.published_at, r.modified_at, r.section, r.tags, r.image_url, r.language, "
    "r.extractor, r.extractor_version, r.fetch_id, r.fetch_entry, r.page_fetch_id"
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
        return [value.isoformat()]
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

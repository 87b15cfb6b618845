"""The only writer of articles, their URLs, revisions, events and snapshots.

CONTRACT (implementation in progress): see docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection

from crawler.items import Observation


@dataclass(frozen=True, slots=True)
class SiteInfo:
    slug: str
    name: str
    base_url: str
    language: str = "ar"


@dataclass(slots=True)
class RecordStats:
    new: int = 0  # first observation: article + URLs + revision 1
    revised: int = 0  # content changed: revision n+1
    unchanged: int = 0  # same content: only last_seen_at/last_checked_at moved
    seen: int = 0  # ArticleSeen of a known article
    stale: int = 0  # older than the article's last check: ignored for revisions
    removed: int = 0
    restored: int = 0
    unknown: int = 0  # ArticleSeen/ArticleGone of an article the archive never had
    urls_added: int = 0

    def as_stats(self, prefix: str = "store/") -> dict[str, int]:
        return {prefix + k: v for k, v in asdict(self).items() if v}


@dataclass(frozen=True, slots=True)
class KnownArticle:
    article_id: int
    external_id: str | None
    canonical_url: str
    modified_at: datetime | None  # of the current revision, as the site declared it
    last_checked_at: datetime
    removed_at: datetime | None


def ensure_site(conn: Connection, site: SiteInfo) -> int:
    """Insert or update the ``sites`` row; return its id."""
    raise NotImplementedError


def record(
    conn: Connection, observations: Sequence[Observation], *, crawl_run_id: int | None = None
) -> RecordStats:
    """Record a batch of observations inside the caller's transaction."""
    raise NotImplementedError


def known_articles(conn: Connection, site_slug: str) -> list[KnownArticle]:
    """Every article of a site the archive knows, for incremental crawls and deletion checks."""
    raise NotImplementedError

"""What to fetch: a pure function of what the listings said and what the archive knows.

No Scrapy, no database: ``decide(candidates, known, since=..., refetch=..., complete=...)``
returns a ``Plan``: articles to observe unchanged (``ArticleSeen``, no request), new ones to
fetch, changed ones to fetch conditionally (``If-Modified-Since``/``If-None-Match``), and
known articles missing from a complete listing, to fetch once as deletion checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from crawler.extract.urls import url_key
from crawler.identity import index_known
from crawler.items import KnownArticle

# A listed lastmod within this of the archived modified_at counts as the same version.
MODIFIED_TOLERANCE = timedelta(seconds=1)
# A lastmod this long before our last check was already visible to that check. The margin
# covers clock skew and page caches; without the last check as a reference, a site that
# bumps its modified date without changing the content would be refetched on every crawl.
CHECKED_MARGIN = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Candidate:
    """An article a listing names, with what the listing says about it."""

    url: str
    lastmod: datetime | None = None
    external_id: str | None = None
    published: datetime | None = None
    urls: set[str] = field(default_factory=set)  # every spelling seen (feed utm links, ?p=ID)
    source: str = ""
    # When the listing said so (candidates are made as listing responses arrive). An
    # ArticleSeen is observed then, not when the decision runs: a long listing must not
    # vouch for edits made while it was being read.
    listed_at: datetime = field(default_factory=lambda: utcnow())
    language: str | None = None  # the declared edition's language (crawler.discovery.editions)


class KnownIndex:
    """The archive's articles of a site, resolved by the one identity rule (crawler.identity):
    external id, else any URL they were seen under, else an id in a URL (``?p=ID``)."""

    def __init__(
        self,
        known: Iterable[KnownArticle] = (),
        id_from_url: Callable[[str], str | None] | None = None,
    ) -> None:
        self.articles: list[KnownArticle] = list(known)
        self._identity = index_known(self.articles)
        self._id_from_url = id_from_url  # the site's article id in a URL (?p=ID), if any

    def __len__(self) -> int:
        return len(self.articles)

    def by_external_id(self, external_id: str) -> KnownArticle | None:
        return self._identity.by_external_id(external_id)

    def knows_url(self, url: str) -> bool:
        return self._identity.has_key(url_key(url))

    def match(self, candidate: Candidate) -> KnownArticle | None:
        urls = (candidate.url, *sorted(candidate.urls))
        ids = (self._id_from_url(u) for u in urls) if self._id_from_url else ()
        return self._identity.resolve(candidate.external_id, (url_key(u) for u in urls), ids)


def is_unchanged(listed: datetime | None, known: KnownArticle, *, refetch: bool = False) -> bool:
    """The listing's lastmod says the archived version is current."""
    if listed is None or refetch or known.removed_at is not None:
        return False
    checked = known.last_checked_at - CHECKED_MARGIN
    reference = max(known.modified_at, checked) if known.modified_at else checked
    return listed <= reference + MODIFIED_TOLERANCE


def within_since(candidate: Candidate, since: datetime | None) -> bool:
    when = candidate.lastmod or candidate.published
    return since is None or when is None or when >= since


@dataclass(slots=True)
class Plan:
    """What one crawl does with its listing."""

    unchanged: list[tuple[Candidate, KnownArticle]] = field(default_factory=list)
    # New (known None) and changed articles, in listing order; a changed one is fetched
    # conditionally.
    fetch: list[tuple[Candidate, KnownArticle | None]] = field(default_factory=list)
    deletion_checks: list[KnownArticle] = field(default_factory=list)
    listed: int = 0  # candidates within ``since``
    deletions_skipped: bool = False  # the listing could not vouch for what is missing

    @property
    def new(self) -> list[Candidate]:
        return [c for c, k in self.fetch if k is None]

    @property
    def changed(self) -> list[tuple[Candidate, KnownArticle]]:
        return [(c, k) for c, k in self.fetch if k is not None]


def decide(
    candidates: Iterable[Candidate],
    known: KnownIndex,
    *,
    since: datetime | None = None,
    refetch: bool = False,
    complete: bool = False,
    listed_ids: Iterable[int] = (),
) -> Plan:
    """Compare each candidate with the archive.

    ``complete``: the listing names every article the site has (an authoritative source
    answered in full, nothing was cut short, no ``since``): known articles it does not name
    are deletion checks. ``listed_ids``: articles a source listed without making a candidate
    of them (the REST API's whole entries)."""
    plan = Plan()
    matched = set(listed_ids)
    for candidate in candidates:
        if not within_since(candidate, since):
            continue
        plan.listed += 1
        article = known.match(candidate)
        if article is None:
            plan.fetch.append((candidate, None))
            continue
        matched.add(article.article_id)
        if is_unchanged(candidate.lastmod, article, refetch=refetch):
            plan.unchanged.append((candidate, article))
        else:
            plan.fetch.append((candidate, article))
    if not (complete and since is None):
        plan.deletions_skipped = bool(known.articles)
        return plan
    plan.deletion_checks = [
        a for a in known.articles if a.article_id not in matched and a.removed_at is None
    ]
    return plan

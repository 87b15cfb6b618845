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

from crawler.db.revisions import KnownArticle
from crawler.extract.urls import url_key

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
    """The archive's articles of a site, found by external id or any URL they were seen under."""

    def __init__(
        self,
        known: Iterable[KnownArticle] = (),
        id_from_url: Callable[[str], str | None] | None = None,
    ) -> None:
        self.articles: list[KnownArticle] = list(known)
        self._by_id: dict[str, KnownArticle] = {}
        self._by_key: dict[str, KnownArticle] = {}
        self._id_from_url = id_from_url  # the site's article id in a URL (?p=ID), if any
        for article in self.articles:
            if article.external_id:
                self._by_id[article.external_id] = article
            self._by_key[url_key(article.canonical_url)] = article
        for article in self.articles:  # old slugs, shortlinks, feed links: after canonical URLs
            for key in article.url_keys:
                self._by_key.setdefault(key, article)

    def __len__(self) -> int:
        return len(self.articles)

    def by_external_id(self, external_id: str) -> KnownArticle | None:
        return self._by_id.get(external_id)

    def knows_url(self, url: str) -> bool:
        return url_key(url) in self._by_key

    def match(self, candidate: Candidate) -> KnownArticle | None:
        if candidate.external_id:
            article = self._by_id.get(candidate.external_id)
            if article is not None:
                return article
        for url in (candidate.url, *sorted(candidate.urls)):
            article = self._by_key.get(url_key(url))
            if article is None:
                ext = self._id_from_url(url) if self._id_from_url else None
                article = self._by_id.get(ext) if ext else None
            if article is not None:
                return article
        return None


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

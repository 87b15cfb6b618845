"""What spiders yield: typed observations of articles.

Three kinds, all recorded by ``crawler.db.revisions.record``:

* ``ArticleItem``: an article page (or REST entry) was fetched and extracted.
  Field names are the ``article_revisions`` columns and mean what schema.org
  ``NewsArticle`` means by them.
* ``ArticleSeen``: the site's listing (REST ``modified_gmt``, sitemap lastmod, a 304)
  says a known article is still there and unchanged, so it was not refetched.
* ``ArticleGone``: a known article answered 404/410 or a recognised soft 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawler.extract.text import content_hash


@dataclass(slots=True)
class PageSnapshot:
    """The raw response behind an observation: evidence, and input for re-extraction."""

    url: str  # the real site URL (never the replica's address)
    status: int
    headers: dict[str, str]
    body: bytes  # as received, undecoded
    fetched_at: datetime


@dataclass(slots=True)
class ArticleItem:
    site: str  # spider name = sites.slug
    url: str  # the URL this observation was fetched from
    canonical_url: str
    fetched_at: datetime  # timezone-aware
    title: str
    body_text: str  # paragraphs as published, separated by one blank line
    external_id: str | None = None  # e.g. the WordPress post id
    subtitle: str | None = None
    body_html: str | None = None  # sanitized to a safe subset of tags
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    modified_at: datetime | None = None  # as the site declares it
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    language: str = "ar"
    # Every other URL the article was reached under in this crawl: feed links with
    # tracking parameters, ?p=ID shortlinks, redirect sources, AMP.
    urls: list[str] = field(default_factory=list)
    extractor: str = ""
    extractor_version: str = ""
    snapshot: PageSnapshot | None = None
    # URLs that answered with a redirect leading to ``url`` in this fetch (Scrapy's
    # ``response.meta["redirect_urls"]``), first hop first: an old slug after a retitle.
    redirected_from: list[str] = field(default_factory=list)

    def all_urls(self) -> list[str]:
        """Every URL the article was reached under here, first seen first, without repeats."""
        raw = (self.url, self.canonical_url, *self.urls, *self.redirected_from)
        return list(dict.fromkeys(u for u in raw if u))

    def content_hash(self) -> bytes:
        """The hash that decides whether this is a new revision (the compared fields only)."""
        return content_hash(
            title=self.title,
            subtitle=self.subtitle,
            body_text=self.body_text,
            authors=self.authors,
            published_at=self.published_at,
            section=self.section,
            tags=self.tags,
        )


@dataclass(slots=True)
class ArticleSeen:
    site: str
    observed_at: datetime
    external_id: str | None = None
    url: str | None = None
    modified_at: datetime | None = None


@dataclass(slots=True)
class ArticleGone:
    site: str
    url: str
    observed_at: datetime
    status: int  # 404, 410, or 200 for a recognised soft 404
    reason: str  # e.g. "http 410", "soft 404: redirected to home page"
    external_id: str | None = None
    snapshot: PageSnapshot | None = None


Observation = ArticleItem | ArticleSeen | ArticleGone

"""What spiders yield: typed observations of articles.

Three kinds, all recorded by ``crawler.db.revisions.record``:

* ``ArticleItem``: an article page (or REST entry) was fetched and extracted.
  Field names are the ``article_revisions`` columns and mean what schema.org
  ``NewsArticle`` means by them.
* ``ArticleSeen``: the site's listing (REST ``modified_gmt``, sitemap lastmod, a 304)
  says a known article is still there and unchanged, so it was not refetched.
* ``ArticleGone``: a known article answered 404/410 or a recognised soft 404.

Each observation that was fetched carries its ``Fetch``: the HTTP exchange as a web archive
would record it (what was asked, what came back, the body as Scrapy received it). Several
items may share one ``Fetch`` object: a REST list response behind a hundred posts.

Also here, being shared by spiders, pipelines and the writer: ``SiteInfo`` (a ``sites``
row), ``KnownArticle`` (what the archive knows of an article, for incremental crawls and
deletion checks) and the one definition of the revision fields (``REVISION_FIELDS``,
``HASHED_FIELDS``).

A leaf module: it imports nothing of the project, so any layer may import it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Headers = dict[str, list[str]]  # name (as Scrapy spells it) -> every value, in order


def _record_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class Fetch:
    """One HTTP exchange behind an observation: evidence, and input for re-extraction.

    ``body`` is the entity as Scrapy hands it to the spider: de-chunked and decoded from
    its ``Content-Encoding`` (gzip, br...), while ``headers`` are the response headers as
    received, ``Content-Encoding`` included. docs/schema.md says exactly what is kept."""

    url: str  # the response URL (the last hop): a real site URL, never the replica's
    status: int
    headers: Headers
    body: bytes
    fetched_at: datetime
    method: str = "GET"
    requested_url: str | None = None  # the request that got this response; None = ``url``
    request_headers: Headers = field(default_factory=dict)  # as sent (no credentials)
    # Earlier hops of a redirect chain, first first: [{"url": ..., "status": ...}].
    redirects: list[dict[str, object]] = field(default_factory=list)
    protocol: str | None = None  # e.g. "HTTP/1.1"
    ip_address: str | None = None  # the address connected to (a proxy's, behind one)
    synthetic: bool = False  # True only for rows made up by the archive, never received
    # Names this exchange wherever it travels (batches, the spool): a fetch shared by
    # many items is stored once; also the WARC-Record-ID a web archive export would use.
    record_id: str = field(default_factory=_record_id)


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
    fetch: Fetch | None = None  # the response the fields were extracted from
    # JSON pointer (RFC 6901) to the entry in ``fetch``'s body the fields came from, e.g.
    # "/17" in a REST list response; None when the body is the page itself.
    fetch_entry: str | None = None
    # The article's own HTML page as a reader saw it, fetched for a REST-extracted item.
    page_fetch: Fetch | None = None
    # URLs that answered with a redirect leading to ``url`` in this fetch (Scrapy's
    # ``response.meta["redirect_urls"]``), first hop first: an old slug after a retitle.
    redirected_from: list[str] = field(default_factory=list)
    # Characters PostgreSQL cannot store (NUL, lone surrogates) taken out of the text, by
    # kind ("nul_removed", "surrogates_replaced"): counted by the clean pipeline.
    text_repairs: dict[str, int] = field(default_factory=dict)
    # ``content_hash`` of ``hashed_fields()``, once they are final (set by the dedupe
    # pipeline, after cleaning; the writer uses it instead of hashing the text again).
    content_hash: bytes | None = None

    def all_urls(self) -> list[str]:
        """Every URL the article was reached under here, first seen first, without repeats."""
        raw = (self.url, self.canonical_url, *self.urls, *self.redirected_from)
        return list(dict.fromkeys(u for u in raw if u))

    def hashed_fields(self) -> dict[str, Any]:
        """The fields whose change makes a new revision, for ``crawler.extract.text.content_hash``."""
        return {name: getattr(self, name) for name in HASHED_FIELDS}


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
    fetch: Fetch | None = None  # the response that showed it (the 404 page, the redirect)


Observation = ArticleItem | ArticleSeen | ArticleGone


# The ``article_revisions`` columns an extraction fills, in the order they are shown and
# exported (``akhbar extract``, ``akhbar export``, the writer's revision rows).
REVISION_FIELDS = (
    "title",
    "subtitle",
    "body_text",
    "authors",
    "published_at",
    "modified_at",
    "section",
    "tags",
    "image_url",
    "language",
)
# Of those, the ones whose change makes a new revision: the content hash covers these only
# (``modified_at``, the image and the language alone never make a revision).
HASHED_FIELDS = tuple(
    name for name in REVISION_FIELDS if name not in ("modified_at", "image_url", "language")
)


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """A ``sites`` row: what a spider declares about its outlet."""

    slug: str
    name: str
    base_url: str
    language: str = "ar"


@dataclass(frozen=True, slots=True)
class KnownArticle:
    """What the archive knows of one article (``crawler.db.revisions.known_articles``)."""

    article_id: int
    external_id: str | None
    canonical_url: str
    modified_at: datetime | None  # of the current revision, as the site declared it
    last_checked_at: datetime
    removed_at: datetime | None
    # url_key of every URL the article was seen under (old slugs, shortlinks, feed links):
    # a listing naming any of them names this article.
    url_keys: tuple[str, ...] = ()
    # The ETag of the article's page behind the current revision (its page fetch, else
    # its fetch), for If-None-Match; None when that is no page of the article (a REST
    # response) or the site sends no ETag.
    etag: str | None = None
    # That page's Last-Modified as the site sent it: the validator for If-Modified-Since
    # (the site's clock and its whole seconds, not ours).
    last_modified: str | None = None

"""``WordPressRest``: the WordPress REST API, ``/wp-json/wp/v2/posts``; authoritative, with
lastmod, and a source that fetches the articles it lists itself.

A first crawl (nothing archived yet, or ``-a refetch=1``) reads the whole archive with
``_embed&per_page=100&orderby=modified``: one request per hundred articles, extracted from
the JSON (no page fetches). Later crawls read the complete id listing cheaply
(``_fields=id,modified_gmt,link``); the decision answers unchanged articles with
``ArticleSeen`` and this source fetches new and changed ones a hundred at a time
(``include=...&_embed``). ``-a since=`` adds ``modified_after``. Listing pages are asked
``rest_window`` at a time, the next as one answers, up to ``max_rest_pages`` whatever
``X-WP-TotalPages`` claims; a 400 past the last page or an empty page ends the walk. A post
whose ``link`` is on another domain is counted (``spider/foreign/rest``) and dropped.

Refused (401/403/404/410, a non-JSON answer, robots.txt, a challenge, no answer at all), it
lists nothing and the next source of the chain (sitemaps) takes over.

The record of a REST-extracted revision: its fetch is the REST list response exactly as
received (shared by the up to a hundred revisions it produced), with a JSON pointer
(``/17``) to the post's entry. For every new or changed article the post's own HTML page
(``link``) is fetched as well and kept beside it (``page_fetch``), unless the source
declares ``keep_article_pages=False`` (or the ``KEEP_ARTICLE_PAGES`` setting says so).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.discovery.decision import MODIFIED_TOLERANCE, Candidate, utcnow
from crawler.discovery.sources import Source, Walk, redirect_loop
from crawler.errors import NotAnArticle
from crawler.items import ArticleItem, Fetch, KnownArticle

# Statuses with which security plugins and hosts refuse the REST API.
REST_REFUSED = (401, 403, 404, 410)
# A published post whose REST entry carries no usable body: its page is fetched instead.
REST_BODY_WITHHELD = frozenset({"empty_body", "short_body"})
ARTICLE_PAGE_PRIORITY = 20  # pages drain before the next REST page adds a hundred items


def parse_gmt(value: str | None) -> datetime | None:
    """A WordPress ``*_gmt`` field (``2018-03-01T12:00:00``, no offset, UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def wordpress_post_id(url: str) -> str | None:
    """The post id in a WordPress shortlink (``/?p=123``)."""
    values = parse_qs(urlsplit(url).query).get("p")
    return values[0] if values and values[0].isdigit() else None


def _int_header(response: Response, name: bytes) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class WordPressRest(Source):
    api: str = "/wp-json/wp/v2/"
    per_page: int = 100  # WordPress's maximum
    max_rest_pages: int = 2000  # listing pages read, whatever X-WP-TotalPages claims
    rest_window: int = 4  # listing pages in flight at once
    keep_article_pages: bool = True  # fetch each new or changed article's page beside it

    kind: ClassVar[str] = "rest"
    bounds: ClassVar[tuple[str, ...]] = ("max_rest_pages", "rest_window")

    def walk(self, crawl: Any) -> RestWalk:
        return RestWalk(self, crawl)


class RestWalk(Walk):
    source: WordPressRest
    replaces_feeds = True  # it lists every post with its id: feed entries add nothing

    def __init__(self, source: WordPressRest, crawl: Any) -> None:
        super().__init__(source, crawl)
        self.mode = "off"  # "full": whole entries; "ids": the cheap listing
        self.rest_route = False  # True: the API answered only as /?rest_route=
        self.last_page = 1  # the last page to request (X-WP-TotalPages, bounded)
        self.next_page = 2  # the next page not yet requested
        self.chained = False  # no pagination headers: walk until a short page

    @property
    def spider(self) -> Any:
        return self.crawl.spider

    # --- the listing -----------------------------------------------------------------

    def url(self, endpoint: str = "posts", **params: Any) -> str:
        path = self.source.api + endpoint
        if self.rest_route:
            # Sites without pretty permalinks answer the API only as /?rest_route=/wp/v2/...
            route = "/" + path.removeprefix("/wp-json/").lstrip("/")
            query = urlencode({"rest_route": route, **params}, safe=",:/")
            return f"{self.crawl.absolute('/')}?{query}"
        base = self.crawl.absolute(path)
        return f"{base}?{urlencode(params, safe=',:')}" if params else base

    def start(self) -> Iterator[scrapy.Request]:
        self.mode = "full" if (not len(self.crawl.known) or self.crawl.refetch) else "ids"
        self.crawl.set_stat("discovery", f"rest/{self.mode}")
        yield self.page_request(1)

    def listing_params(self, page: int) -> dict[str, Any]:
        params: dict[str, Any] = (
            {"_embed": "1"} if self.mode == "full" else {"_fields": "id,modified_gmt,link"}
        )
        params |= {"per_page": self.source.per_page, "orderby": "modified", "order": "desc"}
        if self.crawl.since:
            # WordPress compares with the post's local modified time and ignores an offset.
            local = self.crawl.since.astimezone(ZoneInfo(self.crawl.timezone))
            params["modified_after"] = local.strftime("%Y-%m-%dT%H:%M:%S")
        params["page"] = page
        return params

    def page_request(self, page: int) -> scrapy.Request:
        return self.request(
            self.url(**self.listing_params(page)),
            self.parse_page,
            self.page_failed,
            meta={"page": page, "handle_httpstatus_list": [400, *REST_REFUSED]},
        )

    def more(self) -> Iterator[scrapy.Request]:
        """The next listing pages, to keep ``rest_window`` in flight."""
        if self.mode == "off":
            return
        while self.next_page <= self.last_page and self.pending < self.bound("rest_window"):
            yield self.page_request(self.next_page)
            self.next_page += 1

    def stop_at(self, page: int) -> None:
        """The listing ends before ``page`` (past the last page, or an empty one)."""
        self.last_page = min(self.last_page, page - 1)

    def pages_to(self, last: int, where: str) -> None:
        """The listing has ``last`` pages (X-WP-TotalPages, or one more page by chaining)."""
        bound = self.bound("max_rest_pages")
        if last > bound:
            self.bound_reached("max_rest_pages", where)
            last = bound
        self.last_page = max(self.last_page, last)

    def page_failed(self, failure: Failure) -> Iterator[Any]:
        page = failure.request.meta.get("page", 1)
        reason = failure.getErrorMessage()
        refused = self.crawl.listing_refused(failure)
        if page == 1:
            # No HTTP answer at all (DNS, timeout, reset) is not a refusal; both fall back.
            stat = "rest/refused" if refused or failure.check(HttpError) else "rest/unreachable"
            self.refused(f"request failed: {reason}", stat=stat)
            return
        self.crawl.logger.warning("REST page %d failed: %s", page, reason)
        self.crawl.inc("rest/failed_pages")
        self.incomplete("rest_page_failed")
        yield from ()

    def refused(self, reason: str, *, stat: str = "rest/refused") -> None:
        """The next source (sitemaps) takes over; feeds were read already."""
        self.crawl.logger.info("REST API unusable (%s): falling back to sitemaps and feeds", reason)
        self.crawl.inc(stat)
        self.mode = "off"

    @staticmethod
    def posts_of(response: Response) -> list[dict[str, Any]] | None:
        """The posts of a REST answer, or None when it is not a JSON list (refused, error)."""
        if response.status != 200:
            return None
        try:
            data = json.loads(response.body)
        except ValueError:
            return None
        if not isinstance(data, list) or not all(isinstance(p, dict) and "id" in p for p in data):
            return None
        return data

    def parse_page(self, response: Response) -> Iterator[Any]:
        crawl = self.crawl
        page = response.meta["page"]
        posts = self.posts_of(response)
        if posts is None:
            if page == 1 and response.status == 404 and not self.rest_route:
                self.rest_route = True  # no /wp-json/ route: try the plain-permalink form
                crawl.inc("rest/rest_route_tried")
                yield self.page_request(1)
                return
            if page == 1:
                self.refused(f"HTTP {response.status}, {len(response.body)} bytes")
            elif response.status == 400:
                crawl.inc("rest/past_last_page")  # the archive shrank during the crawl
                self.stop_at(page)
            else:
                crawl.logger.warning(
                    "REST page %d unreadable (HTTP %d, %d bytes, not a JSON list of posts)",
                    page,
                    response.status,
                    len(response.body),
                )
                crawl.inc("rest/failed_pages")
                self.incomplete("rest_page_failed")
            return
        crawl.inc("rest/pages")
        if not posts:
            self.stop_at(page + 1)  # an empty page ends the listing, whatever the headers
        if page == 1:
            self.answered = True
            total = _int_header(response, b"X-WP-Total")
            pages = _int_header(response, b"X-WP-TotalPages")
            if self.mode == "full" and total is not None:
                self.spider.progress.total = total
            crawl.logger.info(
                "%s: REST lists %s posts in %s pages (%s)",
                self.spider.name,
                total if total is not None else "?",
                pages if pages is not None else "?",
                self.mode,
            )
            if pages is not None:
                self.pages_to(pages, f"X-WP-TotalPages: {pages}")
            else:
                self.chained = True  # no pagination headers (a proxy stripped them)
        if self.chained and len(posts) >= self.source.per_page:
            self.pages_to(page + 1, f"page {page} of a listing without page headers")
        if self.mode == "full":
            fetch = self.spider.fetch_of(response, utcnow())
            for index, post in enumerate(posts):
                yield from self.article(post, fetch, f"/{index}")
        else:
            for post in posts:
                self.listed(post)

    def listed(self, post: dict[str, Any]) -> None:
        link = post.get("link") or ""
        post_id = str(post["id"])
        self.crawl.remember_urls(f"id:{post_id}", [link] if link else [])
        self.crawl.add(
            Candidate(
                link or self.crawl.absolute(f"/?p={post_id}"),
                lastmod=parse_gmt(post.get("modified_gmt")),
                external_id=post_id,
                source="rest",
            )
        )

    # --- REST entries to articles ----------------------------------------------------

    def article(
        self, post: dict[str, Any], fetch: Fetch, entry: str
    ) -> Iterator[ArticleItem | scrapy.Request]:
        """The article in the post at JSON pointer ``entry`` of the REST response ``fetch``."""
        crawl, spider = self.crawl, self.spider
        post_id = str(post["id"])
        known = crawl.known.by_external_id(post_id)
        if known is not None:
            crawl.listed_ids.add(known.article_id)
        modified = parse_gmt(post.get("modified_gmt"))
        if crawl.since and modified and modified < crawl.since:
            return  # a WordPress older than 5.7 ignores modified_after
        link = post.get("link")
        if isinstance(link, str) and link and not crawl.own_url(link):
            # Another site's article (a syndication plugin, a compromised post): not ours.
            crawl.inc("foreign/rest")
            crawl.logger.info("REST post %s links another site: %s", post_id, link)
            return
        try:
            item = spider.extract_rest(post, fetch, entry)
        except NotAnArticle as exc:
            if exc.reason in REST_BODY_WITHHELD and isinstance(link, str) and link:
                # Some plugins keep the content out of the API (or render it only on the
                # page): the page decides.
                crawl.inc("rest/page_fallback")
                candidate = Candidate(link, lastmod=modified, external_id=post_id, source="rest")
                yield spider.article_request(link, candidate=candidate, known=known)
            else:
                crawl.inc(f"not_article/{exc.reason}")
            return
        except Exception:
            # Any other exception is a bug, not a post property (a UnicodeDecodeError has a
            # ``.reason`` too): its traceback, counted, and the crawl goes on.
            crawl.logger.exception("REST extraction failed for post %s", post_id)
            crawl.inc("errors")
            return
        if not crawl.own_url(item.url):
            crawl.inc("foreign/rest")
            return
        edition = spider.edition_of(item.url)
        if edition is None:  # another language edition the site does not declare
            crawl.inc("edition/undeclared")
            return
        spider.set_edition_language(item, edition.language)
        if not crawl.own_url(item.canonical_url):
            crawl.inc("foreign/canonical")
            item.canonical_url = item.url
        item.external_id = item.external_id or post_id
        guid = (
            (post.get("guid") or {}).get("rendered") if isinstance(post.get("guid"), dict) else None
        )
        item.urls = [
            u
            for u in crawl.other_urls(item.url, item.canonical_url, guid, external_id=post_id)
            if u not in (item.url, item.canonical_url) and crawl.own_url(u)
        ]
        if self.wants_article_page(known, modified):
            yield self.article_page_request(item)
        else:
            yield from self.item_done(item)

    def item_done(self, item: ArticleItem) -> Iterator[ArticleItem]:
        self.crawl.inc("articles/rest")
        self.spider.tick()
        yield item

    # --- the article's own page beside its REST entry --------------------------------

    def keeps_article_pages(self) -> bool:
        """The declaration, unless the ``KEEP_ARTICLE_PAGES`` setting says otherwise."""
        settings = self.spider.crawler.settings
        return settings.getbool("KEEP_ARTICLE_PAGES", self.source.keep_article_pages)

    def wants_article_page(self, known: KnownArticle | None, modified: datetime | None) -> bool:
        """New or changed per the REST entry's date: its page is kept with the revision. A
        known article at the archived version (``-a refetch=1``) gets no page request."""
        if not self.keeps_article_pages():
            return False
        if known is None or known.removed_at is not None:
            return True
        if modified is None or known.modified_at is None:
            return True
        return abs(modified - known.modified_at) > MODIFIED_TOLERANCE

    def article_page_request(self, item: ArticleItem) -> scrapy.Request:
        # Never deduplicated: the item waits on it.
        return scrapy.Request(
            item.url,
            callback=self.parse_article_page,
            errback=self.article_page_failed,
            dont_filter=True,
            priority=ARTICLE_PAGE_PRIORITY,
            meta={"item": item},
        )

    def parse_article_page(self, response: Response) -> Iterator[ArticleItem]:
        item: ArticleItem = response.meta["item"]
        item.page_fetch = self.spider.fetch_of(response, utcnow())
        self.crawl.inc("page_fetch/kept")
        yield from self.item_done(item)

    def article_page_failed(self, failure: Failure) -> Iterator[ArticleItem]:
        """No page to keep (an error status, a timeout, a challenge): the REST item stands."""
        crawl = self.crawl
        item: ArticleItem = failure.request.meta["item"]
        if redirect_loop(failure):
            crawl.inc("errors")
            crawl.inc("page_fetch/redirect_loop")
        elif failure.check(HttpError):
            crawl.inc(f"page_fetch/http_{failure.value.response.status}")
        elif failure.check(IgnoreRequest):
            crawl.inc("page_fetch/ignored")  # robots.txt, offsite, a challenge
        else:
            crawl.inc("page_fetch/failed")
            crawl.logger.warning(
                "article page failed: %s (%s)", failure.request.url, failure.getErrorMessage()
            )
        yield from self.item_done(item)

    # --- fetching new and changed articles -------------------------------------------

    def fetch_requests(
        self, to_fetch: list[tuple[Candidate, KnownArticle | None]]
    ) -> Iterator[scrapy.Request] | None:
        if self.mode != "ids":
            return None
        return self._batches(to_fetch)

    def _batches(
        self, to_fetch: list[tuple[Candidate, KnownArticle | None]]
    ) -> Iterator[scrapy.Request]:
        per_page = self.source.per_page
        for start in range(0, len(to_fetch), per_page):
            yield self.include_request(to_fetch[start : start + per_page])

    def include_request(self, batch: list[tuple[Candidate, KnownArticle | None]]) -> scrapy.Request:
        ids = ",".join(c.external_id or "" for c, _ in batch)
        url = self.url(_embed="1", include=ids, per_page=self.source.per_page, orderby="include")
        return scrapy.Request(
            url,
            callback=self.parse_entries,
            errback=self.entries_failed,
            dont_filter=True,
            meta={"batch": batch},
        )

    def parse_entries(self, response: Response) -> Iterator[Any]:
        batch: list[tuple[Candidate, KnownArticle | None]] = response.meta["batch"]
        posts = self.posts_of(response) or []
        wanted = {c.external_id: (c, k) for c, k in batch}
        fetch = self.spider.fetch_of(response, utcnow())
        for index, post in enumerate(posts):
            if wanted.pop(str(post["id"]), None) is not None:
                yield from self.article(post, fetch, f"/{index}")
        # Not in the answer (unpublished meanwhile, or ``include`` unsupported): the page decides.
        for candidate, known in wanted.values():
            self.crawl.inc("rest/page_fallback")
            yield self.spider.article_request(candidate.url, candidate=candidate, known=known)

    def entries_failed(self, failure: Failure) -> Iterator[Any]:
        self.crawl.inc("rest/failed_pages")
        for candidate, known in failure.request.meta["batch"]:
            self.crawl.inc("rest/page_fallback")
            yield self.spider.article_request(candidate.url, candidate=candidate, known=known)

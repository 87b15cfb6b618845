"""``WordPressSpider``: a WordPress news site as a declaration.

Discovery prefers what survives theme changes, in this order:

1. the REST API, ``/wp-json/wp/v2/posts``. A first crawl (nothing archived yet) reads the
   whole archive with ``_embed&per_page=100&orderby=modified``: one request per hundred
   articles, extracted from the JSON (no page fetches). Later crawls read the complete id
   listing cheaply (``_fields=id,modified_gmt,link``), answer unchanged articles with
   ``ArticleSeen`` and fetch only new and changed ones, a hundred at a time
   (``include=...&_embed``). ``-a since=`` adds ``modified_after``. Listing pages are asked
   ``rest_window`` at a time, the next as one answers, up to ``max_rest_pages`` whatever
   ``X-WP-TotalPages`` claims; a 400 past the last page or an empty page ends the walk. A
   post whose ``link`` is on another domain is counted (``spider/foreign/rest``) and dropped.
2. when the REST API is refused (401/403/404, a non-JSON answer, robots.txt, a challenge):
   sitemaps (robots.txt, ``wp-sitemap.xml``, ``sitemap_index.xml``) with lastmod, and RSS;
3. HTML category listings only when nothing else lists articles.

The record of a REST-extracted revision: its fetch is the REST list response exactly as
received (stored once, shared by the up to a hundred revisions it produced), with a JSON
pointer (``/17``) to the post's entry; re-extraction reads those same bytes. For every new
or changed article the post's own HTML page (``link``) is fetched as well, as a reader saw
it, and kept beside it (``page_fetch``): one request per new or changed article, none for
unchanged ones. ``keep_article_pages = False`` on a site (or the ``KEEP_ARTICLE_PAGES``
setting) turns that off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.errors import NotAnArticle
from crawler.extract.page import ArticlePage, WordPressPage
from crawler.items import ArticleItem, Fetch, KnownArticle
from crawler.platforms.news import (
    MODIFIED_TOLERANCE,
    Candidate,
    NewsSpider,
    fetch_of,
    redirect_loop,
    utcnow,
)

# Statuses with which security plugins and hosts refuse the REST API.
REST_REFUSED = (401, 403, 404, 410)
# A published post whose REST entry carries no usable body: its page is fetched instead.
REST_BODY_WITHHELD = frozenset({"empty_body", "short_body"})


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


class WordPressSpider(NewsSpider):
    """Base of WordPress outlets: declare name, outlet_name, allowed_domains, base_url..."""

    page: ClassVar[type[ArticlePage]] = WordPressPage
    rest_api: ClassVar[str | None] = "/wp-json/wp/v2/"  # None: the site has no usable REST API
    rest_per_page: ClassVar[int] = 100  # WordPress's maximum
    # Bound of the REST listing (as NewsSpider's bounds): pages read, whatever
    # X-WP-TotalPages claims. Pages are requested a window at a time, never all at once.
    max_rest_pages: ClassVar[int] = 2000
    rest_window: ClassVar[int] = 4  # REST listing pages in flight at once
    # Fetch and keep each new or changed article's HTML page beside its REST entry.
    keep_article_pages: ClassVar[bool] = True
    feeds: ClassVar[tuple[str, ...]] = ("/feed/",)
    well_known_sitemaps: ClassVar[tuple[str, ...]] = (
        "/wp-sitemap.xml",
        "/sitemap_index.xml",
        "/sitemap.xml",
    )
    # Child sitemaps of pages, users and terms list no articles.
    sitemap_skip: ClassVar[str | None] = (
        r"(?:[-_/]page|user|author|categor|tag|taxonom|attachment|post_format)[^/]*\.xml"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rest_mode = "off"  # "full": whole entries; "ids": the cheap listing
        self._rest_route = False  # True: the API answered only as /?rest_route=
        self._rest_last_page = 1  # the last page to request (X-WP-TotalPages, bounded)
        self._rest_next_page = 2  # the next page not yet requested
        self._rest_chained = False  # no pagination headers: walk until a short page

    def external_id_from_url(self, url: str) -> str | None:
        return super().external_id_from_url(url) or wordpress_post_id(url)

    def feed_entries_are_candidates(self) -> bool:
        return self._rest_mode == "off"

    # --- REST listing ----------------------------------------------------------------

    def rest_url(self, endpoint: str = "posts", **params: Any) -> str:
        path = (self.rest_api or "/wp-json/wp/v2/") + endpoint
        if self._rest_route:
            # Sites without pretty permalinks answer the API only as /?rest_route=/wp/v2/...
            route = "/" + path.removeprefix("/wp-json/").lstrip("/")
            return f"{self.absolute('/')}?{urlencode({'rest_route': route, **params}, safe=',:/')}"
        base = self.absolute(path)
        return f"{base}?{urlencode(params, safe=',:')}" if params else base

    def main_discovery(self) -> Iterator[scrapy.Request]:
        if not self.rest_api:
            yield from self.sitemap_discovery()
            return
        self._rest_mode = "full" if (not self._known or self.refetch) else "ids"
        self.crawler.stats.set_value("spider/discovery", f"rest/{self._rest_mode}")
        yield self.rest_page_request(1)

    def rest_listing_params(self, page: int) -> dict[str, Any]:
        params: dict[str, Any] = (
            {"_embed": "1"} if self._rest_mode == "full" else {"_fields": "id,modified_gmt,link"}
        )
        params |= {"per_page": self.rest_per_page, "orderby": "modified", "order": "desc"}
        if self.since:
            # WordPress compares with the post's local modified time and ignores an offset.
            local = self.since.astimezone(ZoneInfo(self.page.profile.timezone))
            params["modified_after"] = local.strftime("%Y-%m-%dT%H:%M:%S")
        params["page"] = page
        return params

    def rest_page_request(self, page: int) -> scrapy.Request:
        return self.listing_request(
            self.rest_url(**self.rest_listing_params(page)),
            self.parse_rest_listing,
            errback=self.rest_listing_failed,
            meta={
                "page": page,
                "handle_httpstatus_list": [400, *REST_REFUSED],
            },
        )

    @staticmethod
    def rest_json(response: Response) -> list[dict[str, Any]] | None:
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

    def parse_rest_listing(self, response: Response) -> Iterator[Any]:
        return self._listing_done(self._then_more_pages(self._rest_listing(response)))

    def rest_listing_failed(self, failure: Failure) -> Iterator[Any]:
        return self._listing_done(self._then_more_pages(self._rest_listing_failure(failure)))

    def _then_more_pages(self, results: Iterator[Any]) -> Iterator[Any]:
        """A page's output, then the next listing pages to keep ``rest_window`` in flight."""
        yield from results
        if self._rest_mode == "off":
            return
        while (
            self._rest_next_page <= self._rest_last_page
            and self._rest_in_flight() < self.rest_window
        ):
            yield self.rest_page_request(self._rest_next_page)
            self._rest_next_page += 1

    def _rest_in_flight(self) -> int:
        # Listing requests pending, less the one being answered (counted down after this).
        return self._pending - 1

    def rest_stop_at(self, page: int) -> None:
        """The listing ends before ``page`` (past the last page, or an empty one)."""
        self._rest_last_page = min(self._rest_last_page, page - 1)

    def rest_pages_to(self, last: int, where: str) -> None:
        """The listing has ``last`` pages (X-WP-TotalPages, or one more page by chaining)."""
        bound = self.bound("max_rest_pages")
        if last > bound:
            self.bound_reached("max_rest_pages", where)
            last = bound
        self._rest_last_page = max(self._rest_last_page, last)

    def _rest_listing_failure(self, failure: Failure) -> Iterator[Any]:
        page = failure.request.meta.get("page", 1)
        reason = failure.getErrorMessage()
        refused = self.listing_refused(failure)
        if page == 1:
            # No HTTP answer at all (DNS, timeout, reset) is not a refusal; both fall back.
            stat = "rest/refused" if refused or failure.check(HttpError) else "rest/unreachable"
            yield from self.rest_refused(f"request failed: {reason}", stat=stat)
            return
        self.logger.warning("REST page %d failed: %s", page, reason)
        self.inc("rest/failed_pages")
        self.incomplete("rest_page_failed")

    def rest_refused(self, reason: str, *, stat: str = "rest/refused") -> Iterator[Any]:
        """Fall back to sitemaps and RSS (feeds were read already)."""
        self.logger.info("REST API unusable (%s): falling back to sitemaps and feeds", reason)
        self.inc(stat)
        self._rest_mode = "off"
        self.crawler.stats.set_value("spider/discovery", "sitemaps")
        yield from self.sitemap_discovery()

    def _rest_listing(self, response: Response) -> Iterator[Any]:
        page = response.meta["page"]
        posts = self.rest_json(response)
        if posts is None:
            if page == 1 and response.status == 404 and not self._rest_route:
                self._rest_route = True  # no /wp-json/ route: try the plain-permalink form
                self.inc("rest/rest_route_tried")
                yield self.rest_page_request(1)
                return
            if page == 1:
                yield from self.rest_refused(f"HTTP {response.status}, {len(response.body)} bytes")
            elif response.status == 400:
                self.inc("rest/past_last_page")  # the archive shrank during the crawl
                self.rest_stop_at(page)
            else:
                self.logger.warning(
                    "REST page %d unreadable (HTTP %d, %d bytes, not a JSON list of posts)",
                    page,
                    response.status,
                    len(response.body),
                )
                self.inc("rest/failed_pages")
                self.incomplete("rest_page_failed")
            return
        self.inc("rest/pages")
        if not posts:
            self.rest_stop_at(page + 1)  # an empty page ends the listing, whatever the headers
        if page == 1:
            self._authoritative = True
            total = _int_header(response, b"X-WP-Total")
            pages = _int_header(response, b"X-WP-TotalPages")
            if self._rest_mode == "full" and total is not None:
                self._progress.total = total
            self.logger.info(
                "%s: REST lists %s posts in %s pages (%s)",
                self.name,
                total if total is not None else "?",
                pages if pages is not None else "?",
                self._rest_mode,
            )
            if pages is not None:
                self.rest_pages_to(pages, f"X-WP-TotalPages: {pages}")
            else:
                self._rest_chained = True  # no pagination headers (a proxy stripped them)
        if self._rest_chained and len(posts) >= self.rest_per_page:
            self.rest_pages_to(page + 1, f"page {page} of a listing without page headers")
        if self._rest_mode == "full":
            fetch = fetch_of(response, utcnow())
            for index, post in enumerate(posts):
                yield from self.rest_article(post, fetch, f"/{index}")
        else:
            for post in posts:
                self.rest_listed(post)

    def rest_listed(self, post: dict[str, Any]) -> None:
        link = post.get("link") or ""
        post_id = str(post["id"])
        self._remember_urls(f"id:{post_id}", [link] if link else [])
        self.add_candidate(
            Candidate(
                link or self.absolute(f"/?p={post_id}"),
                lastmod=parse_gmt(post.get("modified_gmt")),
                external_id=post_id,
                source="rest",
            )
        )

    # --- REST entries to articles ----------------------------------------------------

    def rest_article(
        self, post: dict[str, Any], fetch: Fetch, entry: str
    ) -> Iterator[ArticleItem | scrapy.Request]:
        """The article in the post at JSON pointer ``entry`` of the REST response ``fetch``."""
        post_id = str(post["id"])
        known = self._known_index.by_external_id(post_id)
        if known is not None:
            self._matched.add(known.article_id)
        modified = parse_gmt(post.get("modified_gmt"))
        if self.since and modified and modified < self.since:
            return  # a WordPress older than 5.7 ignores modified_after
        link = post.get("link")
        if isinstance(link, str) and link and not self.own_url(link):
            # Another site's article (a syndication plugin, a compromised post): not ours.
            self.inc("foreign/rest")
            self.logger.info("REST post %s links another site: %s", post_id, link)
            return
        try:
            item = self.extract_rest(post, fetch, entry)
        except NotAnArticle as exc:
            link = post.get("link")
            if exc.reason in REST_BODY_WITHHELD and isinstance(link, str) and link:
                # Some plugins keep the content out of the API (or render it only on the
                # page): the page decides.
                self.inc("rest/page_fallback")
                candidate = Candidate(link, lastmod=modified, external_id=post_id, source="rest")
                yield self.article_request(link, candidate=candidate, known=known)
            else:
                self.inc(f"not_article/{exc.reason}")
            return
        except Exception:
            # Any other exception is a bug, not a post property (a UnicodeDecodeError has a
            # ``.reason`` too): its traceback, counted, and the crawl goes on.
            self.logger.exception("REST extraction failed for post %s", post_id)
            self.inc("errors")
            return
        if not self.own_url(item.url):
            self.inc("foreign/rest")
            return
        if not self.own_url(item.canonical_url):
            self.inc("foreign/canonical")
            item.canonical_url = item.url
        item.external_id = item.external_id or post_id
        guid = (
            (post.get("guid") or {}).get("rendered") if isinstance(post.get("guid"), dict) else None
        )
        item.urls = [
            u
            for u in self.other_urls(item.url, item.canonical_url, guid, external_id=post_id)
            if u not in (item.url, item.canonical_url) and self.own_url(u)
        ]
        if self.wants_article_page(known, modified):
            yield self.article_page_request(item)
        else:
            yield from self._rest_item_done(item)

    def extract_rest(self, post: dict[str, Any], fetch: Fetch, entry: str) -> ArticleItem:
        """One REST entry as an ``ArticleItem`` (raises ``NotAnArticle``)."""
        from crawler.extract.wordpress import extract_rest_post

        extracted = extract_rest_post(post, fetch.fetched_at, self.page)
        return extracted.to_item(self.name, fetch=fetch, fetch_entry=entry)

    def _rest_item_done(self, item: ArticleItem) -> Iterator[ArticleItem]:
        self.inc("articles/rest")
        self._tick()
        yield item

    # --- the article's own page beside its REST entry --------------------------------

    def keeps_article_pages(self) -> bool:
        """The site's declaration, unless the ``KEEP_ARTICLE_PAGES`` setting says otherwise."""
        return self.crawler.settings.getbool("KEEP_ARTICLE_PAGES", self.keep_article_pages)

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
        # Above listings (10): pages drain before the next REST page adds a hundred more
        # waiting items, which bounds memory. Never deduplicated: the item waits on it.
        return scrapy.Request(
            item.url,
            callback=self.parse_article_page,
            errback=self.article_page_failed,
            dont_filter=True,
            priority=20,
            meta={"item": item},
        )

    def parse_article_page(self, response: Response) -> Iterator[ArticleItem]:
        item: ArticleItem = response.meta["item"]
        item.page_fetch = fetch_of(response, utcnow())
        self.inc("page_fetch/kept")
        yield from self._rest_item_done(item)

    def article_page_failed(self, failure: Failure) -> Iterator[ArticleItem]:
        """No page to keep (an error status, a timeout, a challenge): the REST item stands."""
        item: ArticleItem = failure.request.meta["item"]
        if redirect_loop(failure):
            self.inc("errors")
            self.inc("page_fetch/redirect_loop")
        elif failure.check(HttpError):
            self.inc(f"page_fetch/http_{failure.value.response.status}")
        elif failure.check(IgnoreRequest):
            self.inc("page_fetch/ignored")  # robots.txt, offsite, a challenge
        else:
            self.inc("page_fetch/failed")
            self.logger.warning(
                "article page failed: %s (%s)", failure.request.url, failure.getErrorMessage()
            )
        yield from self._rest_item_done(item)

    # --- fetching new and changed articles -------------------------------------------

    def fetch_requests(
        self, to_fetch: list[tuple[Candidate, KnownArticle | None]]
    ) -> Iterator[scrapy.Request]:
        if self._rest_mode != "ids":
            yield from super().fetch_requests(to_fetch)
            return
        batch: list[tuple[Candidate, KnownArticle | None]] = []
        for pair in to_fetch:
            batch.append(pair)
            if len(batch) == self.rest_per_page:
                yield self.rest_include_request(batch)
                batch = []
        if batch:
            yield self.rest_include_request(batch)

    def rest_include_request(
        self, batch: list[tuple[Candidate, KnownArticle | None]]
    ) -> scrapy.Request:
        ids = ",".join(c.external_id or "" for c, _ in batch)
        url = self.rest_url(_embed="1", include=ids, per_page=self.rest_per_page, orderby="include")
        return scrapy.Request(
            url,
            callback=self.parse_rest_entries,
            errback=self.rest_entries_failed,
            dont_filter=True,
            meta={"batch": batch},
        )

    def parse_rest_entries(self, response: Response) -> Iterator[Any]:
        batch: list[tuple[Candidate, KnownArticle | None]] = response.meta["batch"]
        posts = self.rest_json(response) or []
        wanted = {c.external_id: (c, k) for c, k in batch}
        fetch = fetch_of(response, utcnow())
        for index, post in enumerate(posts):
            if wanted.pop(str(post["id"]), None) is not None:
                yield from self.rest_article(post, fetch, f"/{index}")
        # Not in the answer (unpublished meanwhile, or ``include`` unsupported): the page decides.
        for candidate, known in wanted.values():
            self.inc("rest/page_fallback")
            yield self.article_request(candidate.url, candidate=candidate, known=known)

    def rest_entries_failed(self, failure: Failure) -> Iterator[Any]:
        self.inc("rest/failed_pages")
        for candidate, known in failure.request.meta["batch"]:
            self.inc("rest/page_fallback")
            yield self.article_request(candidate.url, candidate=candidate, known=known)


def _int_header(response: Response, name: bytes) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None

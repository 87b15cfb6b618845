"""``NewsSpider``: the discovery and recrawl logic every news site shares.

A site is a declaration on this base (or on a platform subclass such as
``crawler.platforms.wordpress.WordPressSpider``): its name, outlet name, domains, base URL,
page class (how its articles are read, ``crawler.extract.page``), and where its articles are listed (feeds, sitemaps, HTML listings).

One crawl:

1. *Listing.* Feeds first (their links carry tracking parameters and ``?p=ID`` shortlinks
   worth keeping), then the main discovery source: sitemaps here (``robots.txt`` Sitemap
   lines, else the well-known names), REST in the WordPress subclass; HTML listings only
   when nothing else lists articles. Every listing request is counted; when the last one
   has answered, the decision phase runs.
2. *Decision.* Each listed article is compared with what the archive knows
   (``crawler.db.revisions.known_articles``): unchanged per the listing's lastmod →
   ``ArticleSeen`` without a request; new or changed → fetched (a known one with
   ``If-Modified-Since`` and its page's ``If-None-Match``, so a 304 is an ``ArticleSeen`` too).
3. *Deletions.* When the listing was complete (an authoritative source answered in full and
   no ``since`` bound was given), each known article missing from it is fetched once: 404/410
   or a recognised soft 404 → ``ArticleGone``; a redirect to a new slug continues the same
   article; 403/5xx/timeouts/challenges remove nothing.

Spider arguments: ``-a since=YYYY-MM-DD`` (or an ISO datetime) bounds the crawl to what
changed since then; ``-a since=recent`` to what changed since the newest archived version
(less a day): cheap frequent crawls between full ones. A bounded crawl checks no deletions.
``-a refetch=1`` fetches every listed article again (after an extractor upgrade).

Counters go to the crawl stats under ``spider/`` (documented in docs/crawl-stats.md).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Headers, Response
from twisted.python.failure import Failure

from crawler.arguments import SpiderArgument, check_arguments, parse_flag
from crawler.errors import NotAnArticle
from crawler.extract.page import ArticlePage
from crawler.extract.urls import same_site, url_key
from crawler.identity import IdentityIndex, index_known
from crawler.items import ArticleGone, ArticleItem, ArticleSeen, Fetch, KnownArticle, SiteInfo
from crawler.middlewares import RECEIVED_HEADERS_META
from crawler.platforms import feeds as feedlib
from crawler.platforms import listings as listinglib
from crawler.platforms import sitemaps as sitemaplib
from crawler.politeness import Politeness

logger = logging.getLogger(__name__)

# A listed lastmod within this of the archived modified_at counts as the same version.
MODIFIED_TOLERANCE = timedelta(seconds=1)
# A lastmod this long before our last check was already visible to that check. The margin
# covers clock skew and page caches; without the last check as a reference, a site that
# bumps its modified date without changing the content would be refetched on every crawl.
CHECKED_MARGIN = timedelta(minutes=10)
PROGRESS_INTERVAL = 10.0  # seconds between progress lines
# since=recent looks back this far before the newest archived modification (clock skew,
# posts published with a slightly older date).
RECENT_MARGIN = timedelta(days=1)
# NotAnArticle reasons that, on a known article's URL, mean the article is gone.
SOFT_404_REASONS = frozenset({"error_page", "not_found"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_since(value: str | None, timezone: str = "UTC") -> datetime | None:
    """``-a since=YYYY-MM-DD`` (midnight in the site's time zone) or a full ISO datetime."""
    if value is None or not str(value).strip():
        return None
    parsed = datetime.fromisoformat(str(value).strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed.astimezone(UTC)


def since_argument(value: str) -> str:
    """Checks ``-a since=``; the value is converted in the site's time zone later."""
    text = value.strip()
    if text.lower() == "recent":
        return "recent"
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date") from None
    return text


def recent_watermark(known: list[KnownArticle]) -> datetime | None:
    """``since=recent``: the newest archived modification, less ``RECENT_MARGIN``."""
    stamps = [k.modified_at or k.last_checked_at for k in known if k.removed_at is None]
    return max(stamps) - RECENT_MARGIN if stamps else None


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


# Request headers never archived: credentials (a proxy's or a site's).
UNARCHIVED_REQUEST_HEADERS = frozenset({b"Authorization", b"Proxy-Authorization", b"Cookie"})


def _headers(headers: Headers, skip: frozenset[bytes] = frozenset()) -> dict[str, list[str]]:
    """Scrapy ``Headers`` as JSON: name -> every value, in order."""
    return {
        name.decode("latin-1"): [v.decode("latin-1") for v in values]
        for name, values in headers.items()
        if name not in skip
    }


def fetch_of(response: Response, fetched_at: datetime) -> Fetch:
    """The exchange behind a response, as evidence: what was asked and what came back.

    Response headers are the ones received (``ReceivedHeadersMiddleware`` keeps them from
    before decompression, so ``Content-Encoding`` is there); the body is Scrapy's, decoded."""
    request = response.request
    meta = response.meta
    reasons = list(meta.get("redirect_reasons") or [])
    redirects = [
        {"url": url, "status": reasons[i] if i < len(reasons) else None}
        for i, url in enumerate(meta.get("redirect_urls") or [])
    ]
    ip = getattr(response, "ip_address", None)
    return Fetch(
        url=response.url,
        status=response.status,
        headers=_headers(meta.get(RECEIVED_HEADERS_META, response.headers)),
        body=response.body,
        fetched_at=fetched_at,
        method=request.method,
        requested_url=request.url,
        request_headers=_headers(request.headers, UNARCHIVED_REQUEST_HEADERS),
        redirects=redirects,
        protocol=getattr(response, "protocol", None),
        ip_address=str(ip) if ip is not None else None,
    )


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


@dataclass(slots=True)
class Progress:
    """Done/total and rate of a long crawl, logged every ``PROGRESS_INTERVAL`` seconds."""

    started: float = field(default_factory=time.monotonic)
    total: int | None = None
    done: int = 0
    last_log: float = field(default_factory=time.monotonic)

    def line(self, name: str) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        if self.total:
            pct = 100.0 * self.done / self.total
            return f"{name}: {self.done}/{self.total} articles ({pct:.0f}%), {rate:.1f}/s"
        return f"{name}: {self.done} articles, {rate:.1f}/s"


class NewsSpider(scrapy.Spider):
    """Base of every news site spider; subclasses declare, they do not override ``parse``."""

    # --- the declaration -------------------------------------------------------------
    outlet_name: ClassVar[str] = ""  # the outlet's own (Arabic) name
    base_url: ClassVar[str] = ""  # home page, e.g. "https://euphratespost.net/"
    site_info: ClassVar[SiteInfo]  # derived from the above unless declared
    page: ClassVar[type[ArticlePage]] = ArticlePage  # how its articles are read
    feeds: ClassVar[tuple[str, ...]] = ()  # paths or URLs of RSS/Atom feeds
    sitemaps: ClassVar[tuple[str, ...]] = ()  # empty: robots.txt Sitemap lines, else well-known
    sitemap_follow: ClassVar[str | None] = None  # regex child sitemaps must match to be read
    sitemap_skip: ClassVar[str | None] = None  # regex of child sitemaps not listing articles
    listings: ClassVar[tuple[str, ...]] = ()  # HTML listing pages (last resort)
    listing_link_css: ClassVar[str | None] = None  # article links on a listing page
    article_url_pattern: ClassVar[str | None] = None  # regex every article URL matches
    schedule: ClassVar[str | None] = None  # cron expression for the scheduler
    # Delay, concurrency and outbound proxy for this site (crawler/politeness.py).
    politeness: ClassVar[Politeness] = Politeness()
    # What ``-a name=value`` accepts; anything else is refused (crawler.arguments).
    arguments: ClassVar[tuple[SpiderArgument, ...]] = (
        SpiderArgument(
            "since",
            "YYYY-MM-DD, an ISO 8601 datetime, or 'recent'",
            "only what changed since then (site's local time); recent: since the newest"
            " archived version",
            since_argument,
        ),
        SpiderArgument(
            "refetch",
            "1 or 0",
            "fetch every listed article again (after an extractor upgrade)",
            parse_flag,
        ),
    )
    well_known_sitemaps: ClassVar[tuple[str, ...]] = ("/sitemap_index.xml", "/sitemap.xml")
    # Bounds of each discovery source (docs/crawl-stats.md, "Discovery bounds"):
    # reaching one is a warning, a ``spider/bound/<name>`` count and an incomplete listing
    # (a partial run, no deletion checks). The setting ``AKHBAR_<NAME>`` overrides one.
    max_listing_pages: ClassVar[int] = 2000  # HTML listing pages followed
    max_sitemaps: ClassVar[int] = 1000  # sitemap files requested in one crawl
    max_sitemap_depth: ClassVar[int] = 3  # files from the first one down (index, index, set)
    max_sitemap_children: ClassVar[int] = 50_000  # children read from one sitemap index
    max_sitemap_urls: ClassVar[int] = 50_000  # URLs read from one url set (the protocol's)
    max_feed_entries: ClassVar[int] = 1000  # entries read from one feed
    max_decompressed_bytes: ClassVar[int] = sitemaplib.DEFAULT_MAX_DECOMPRESSED  # gzip sitemaps

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "site_info" not in cls.__dict__ and getattr(cls, "name", None) and cls.base_url:
            cls.site_info = SiteInfo(
                slug=cls.name, name=cls.outlet_name or cls.name, base_url=cls.base_url
            )

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        # The declaration at "spider" priority; custom_settings, then -s, above it.
        cls.politeness.apply(settings)
        super().update_settings(settings)

    def __init__(
        self, *args: Any, since: str | None = None, refetch: str | None = None, **kwargs: Any
    ):
        given = {"since": since, "refetch": refetch, **kwargs}
        values = check_arguments(
            self.name, self.arguments, {k: v for k, v in given.items() if v is not None}
        )
        super().__init__(*args, **kwargs)
        # -a since=recent: only what changed since the newest archived version (less a
        # margin); a cheap frequent crawl between full ones (no deletion checks).
        self._since_recent = values.get("since") == "recent"
        self.since = (
            None
            if self._since_recent
            else parse_since(values.get("since"), self.page.profile.timezone)
        )
        # -a refetch=1: fetch every listed article even when its lastmod is unchanged
        # (after an extractor upgrade); deletion checks still run.
        self.refetch = bool(values.get("refetch"))
        self._progress = Progress()
        self._known: list[KnownArticle] = []
        self._known_index: IdentityIndex[KnownArticle] = IdentityIndex()
        self._matched: set[int] = set()  # article ids the listing named (not missing)
        self._candidates: dict[str, Candidate] = {}
        self._feed_candidates: list[Candidate] = []
        self._alt_urls: dict[str, set[str]] = {}  # url_key or "id:N" -> raw URLs seen
        self._alt_paths: set[str] = set()  # _cheap_key of every URL in _alt_urls
        self._pending = 0  # listing requests not yet answered
        self._listing_ok = True  # no listing request failed
        self._authoritative = False  # a complete source (sitemaps, REST) answered
        self._sitemaps_seen: set[str] = set()
        self._bounds_warned: set[str] = set()
        self._robots_refused: list[str] = []  # listing URLs robots.txt forbade
        self._listing_pages = 0
        self._feeds_pending = 0
        self._listings_tried = False
        self._article_url_re = (
            re.compile(self.article_url_pattern) if self.article_url_pattern else None
        )
        self._sitemap_follow_re = re.compile(self.sitemap_follow) if self.sitemap_follow else None
        self._sitemap_skip_re = re.compile(self.sitemap_skip) if self.sitemap_skip else None
        home = urlsplit(self.base_url).path or "/"
        self._home_paths = {"", "/", home, home.rstrip("/")}

    # --- small helpers ---------------------------------------------------------------

    def inc(self, key: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(f"spider/{key}", count)

    def incomplete(self, reason: str) -> None:
        """A discovery source was cut short: no deletion checks, and the run is partial."""
        self._listing_ok = False
        self.inc(f"incomplete/{reason}")

    def bound(self, name: str) -> int:
        """A discovery bound: the class declaration, unless the ``AKHBAR_<NAME>`` setting
        (``download_maxsize`` is Scrapy's own ``DOWNLOAD_MAXSIZE``)."""
        if name == "download_maxsize":
            return self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        return self.crawler.settings.getint(f"AKHBAR_{name.upper()}", getattr(self, name))

    def bound_reached(self, name: str, where: str) -> None:
        """A source stops at its bound: warned once per bound, counted each time."""
        if name not in self._bounds_warned:
            self._bounds_warned.add(name)
            self.logger.warning(
                "%s: bound %s=%d reached at %s; listing incomplete, no deletion checks",
                self.name,
                name,
                self.bound(name),
                where,
            )
        self.inc(f"bound/{name}")
        self.incomplete(name)

    def own_url(self, url: str) -> bool:
        """On one of the site's own domains: the only URLs an article is stored under."""
        return same_site(url, self.allowed_domains)

    def absolute(self, path_or_url: str) -> str:
        return urljoin(self.base_url, path_or_url)

    def _tick(self, count: int = 1) -> None:
        self._progress.done += count
        now = time.monotonic()
        if now - self._progress.last_log >= PROGRESS_INTERVAL:
            self._progress.last_log = now
            self.logger.info(self._progress.line(self.name))

    def external_id_from_url(self, url: str) -> str | None:
        """The site's article id when a URL carries it (declared pattern; ``?p=ID``)."""
        pattern = self.page.profile.external_id_pattern
        if pattern:
            match = re.search(pattern, url)
            if match:
                return match.group(1)
        return None

    def is_article_url(self, url: str) -> bool:
        if not same_site(url, self.allowed_domains):
            return False
        path = urlsplit(url).path
        if path.rstrip("/") in ("",) or path in self._home_paths:
            return False
        return self._article_url_re is None or bool(self._article_url_re.search(url))

    def _remember_urls(self, key: str, urls: Iterable[str]) -> None:
        urls = list(urls)
        self._alt_urls.setdefault(key, set()).update(urls)
        self._alt_paths.update(_cheap_key(u) for u in urls)

    def other_urls(self, *urls: str | None, external_id: str | None = None) -> list[str]:
        """Every spelling of an article seen in this crawl, for ``ArticleItem.urls``."""
        found: set[str] = set()
        for url in urls:
            if url:
                found.add(url)
                # url_key is costly (w3lib): only for URLs whose path was seen elsewhere.
                if _cheap_key(url) in self._alt_paths:
                    found |= self._alt_urls.get(url_key(url), set())
        if external_id:
            found |= self._alt_urls.get(f"id:{external_id}", set())
        return sorted(found)

    # --- the archive's knowledge -----------------------------------------------------

    def load_known(self) -> list[KnownArticle]:
        """What the archive knows of this site. Without it a crawl would fetch the whole
        archive again, so a database lost since the start gate (crawler.runs) stops it."""
        from crawler.db import revisions
        from crawler.db.session import ensure_schema, get_engine
        from crawler.errors import is_outage, one_line

        try:
            ensure_schema()
            with get_engine().connect() as conn:
                return revisions.known_articles(conn, self.name)
        except Exception as exc:
            if not is_outage(exc):  # a bug: its traceback, and the crawl fails
                self.logger.exception("%s: known articles unavailable", self.name)
                self.inc("errors")
                raise CloseSpider("known_articles_failed") from None
            self.logger.error(
                "%s: known articles unavailable (%s); crawl stopped before fetching anything",
                self.name,
                one_line(exc),
            )
            self.inc("known_unavailable")
            raise CloseSpider("database_unreachable") from None

    def _index_known(self, known: list[KnownArticle]) -> None:
        self._known = known
        self._known_index = index_known(known)

    def match_known(self, candidate: Candidate) -> KnownArticle | None:
        urls = (candidate.url, *sorted(candidate.urls))
        article = self._known_index.resolve(
            candidate.external_id,
            (url_key(url) for url in urls),
            (self.external_id_from_url(url) for url in urls),
        )
        if article is not None:
            self._matched.add(article.article_id)
        return article

    def is_unchanged(self, listed: datetime | None, known: KnownArticle) -> bool:
        """The listing's lastmod says the archived version is current."""
        if listed is None or self.refetch or known.removed_at is not None:
            return False
        checked = known.last_checked_at - CHECKED_MARGIN
        reference = max(known.modified_at, checked) if known.modified_at else checked
        return listed <= reference + MODIFIED_TOLERANCE

    # --- start and listing bookkeeping -----------------------------------------------

    async def start(self) -> Any:
        self._index_known(self.load_known())
        self.crawler.stats.set_value("spider/known", len(self._known))
        if self._since_recent:
            self.since = recent_watermark(self._known)
        self.logger.info(
            "%s: %d known articles; %s crawl%s",
            self.name,
            len(self._known),
            "incremental" if self._known else "first (whole archive)",
            f" since {self.since.isoformat()}" if self.since else "",
        )
        for request in self.discovery_requests():
            yield request

    def discovery_requests(self) -> Iterator[scrapy.Request]:
        """Feeds first, then the main source (``main_discovery``)."""
        feeds = [self.absolute(f) for f in self.feeds]
        if feeds:
            self._feeds_pending = len(feeds)
            for url in feeds:
                yield self.listing_request(url, self.parse_feed, errback=self.feed_failed)
        else:
            yield from self.main_discovery()

    def main_discovery(self) -> Iterator[scrapy.Request]:
        """The authoritative listing; here sitemaps (a platform may prefer an API)."""
        yield from self.sitemap_discovery()

    def listing_request(
        self, url: str, callback: Any, *, errback: Any = None, **kwargs: Any
    ) -> scrapy.Request:
        self._pending += 1
        meta = kwargs.pop("meta", {})
        return scrapy.Request(
            url,
            callback=callback,
            errback=errback or self.listing_failed,
            dont_filter=True,  # listing requests are counted; the dupe filter must not eat one
            priority=10,
            meta={"listing": True, **meta},
            **kwargs,
        )

    def _listing_done(self, results: Iterable[Any]) -> Iterator[Any]:
        """Run a listing callback's output, then the decision phase after the last one."""
        try:
            yield from results
        except Exception:
            self.logger.exception("listing callback failed")
            self.inc("errors")
            self.incomplete("listing_callback_failed")
        self._pending -= 1
        if self._pending == 0:
            yield from self.decide()

    def listing_failed(self, failure: Failure) -> Iterator[Any]:
        return self._listing_done(self._listing_failure(failure))

    def _listing_failure(self, failure: Failure) -> Iterator[Any]:
        self.incomplete("listing_failed")
        self.inc("listing/failed")
        if not self.listing_refused(failure):
            self.logger.warning("listing request failed: %s", failure.getErrorMessage())
        yield from ()

    def listing_refused(self, failure: Failure) -> bool:
        """A listing request dropped by robots.txt or past ``DOWNLOAD_MAXSIZE``: counted
        (and logged) as such rather than as a failed fetch."""
        return self.refused_by_robots(failure) or self.listing_too_large(failure)

    def listing_too_large(self, failure: Failure) -> bool:
        """A listing response past ``DOWNLOAD_MAXSIZE`` (as sent, or inflated from a declared
        ``Content-Encoding``: a decompression bomb), dropped by Scrapy: a bound reached."""
        message = failure.getErrorMessage()
        if "DOWNLOAD_MAXSIZE" not in message and "download max size" not in message:
            return False
        self.inc("listing/too_large")
        self.bound_reached("download_maxsize", failure.request.url)
        return True

    def refused_by_robots(self, failure: Failure) -> bool:
        """The site's robots.txt forbids the request (Scrapy's RobotsTxtMiddleware); counted."""
        from scrapy.exceptions import IgnoreRequest

        if failure.check(IgnoreRequest) and "robots.txt" in failure.getErrorMessage():
            self.inc("robots_forbidden")
            self._robots_refused.append(failure.request.url)
            return True
        return False

    # --- feeds -----------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[Any]:
        return self._listing_done(self._feed(response))

    def feed_failed(self, failure: Failure) -> Iterator[Any]:
        # A missing feed is not an incomplete listing: feeds are never authoritative.
        self.listing_refused(failure)
        self.inc("feed/failed")
        return self._listing_done(self._feed_finished())

    def _feed(self, response: Response) -> Iterator[Any]:
        try:
            feed = feedlib.read_feed(response.body, self.bound("max_feed_entries"))
        except feedlib.NotAFeed as exc:
            self.inc("feed/not_a_feed")
            self.logger.info("not a feed at %s: %s", response.url, exc)
            feed = feedlib.Feed([])
        if feed.damage:
            self.logger.warning(
                "feed %s damaged (%s): entries may be missing", response.url, feed.damage
            )
            self.inc("feed/damaged")
            self.incomplete("feed_damaged")
        if feed.cut:
            self.inc("feed/entries_cut", feed.cut)
            self.bound_reached("max_feed_entries", response.url)
        for entry in feed.entries:
            if not self.own_url(entry.link):
                self.inc("foreign/feed")
                continue
            self.inc("feed/entries")
            self._remember_urls(url_key(entry.link), entry.urls)
            ext = None
            for url in entry.urls:
                ext = ext or self.external_id_from_url(url)
            if ext:
                self._remember_urls(f"id:{ext}", entry.urls)
            self._feed_candidates.append(
                Candidate(
                    entry.link,
                    lastmod=entry.updated,
                    external_id=ext,
                    published=entry.published,
                    urls=set(entry.urls),
                    source="feed",
                )
            )
        yield from self._feed_finished()

    def _feed_finished(self) -> Iterator[Any]:
        self._feeds_pending -= 1
        if self._feeds_pending == 0:
            yield from self.main_discovery()

    # --- candidates ------------------------------------------------------------------

    def add_candidate(self, candidate: Candidate, *, authoritative: bool = True) -> None:
        """Merge a listed article into this crawl's listing (by id, else by URL identity)."""
        if not self.own_url(candidate.url):
            self.inc(f"foreign/{candidate.source or 'listing'}")
            return
        if not self.is_article_url(candidate.url):
            return
        key = f"id:{candidate.external_id}" if candidate.external_id else url_key(candidate.url)
        existing = self._candidates.get(key) or self._candidates.get(url_key(candidate.url))
        if existing is None:
            candidate.urls.add(candidate.url)
            candidate.source = (
                candidate.source if not authoritative else candidate.source or "listing"
            )
            self._candidates[key] = candidate
            return
        existing.urls |= candidate.urls | {candidate.url}
        if authoritative:
            existing.url = candidate.url  # a sitemap's URL beats a feed's tracking link
        if candidate.lastmod and (existing.lastmod is None or candidate.lastmod > existing.lastmod):
            existing.lastmod = candidate.lastmod
        existing.external_id = existing.external_id or candidate.external_id
        existing.published = existing.published or candidate.published
        existing.listed_at = min(existing.listed_at, candidate.listed_at)

    # --- sitemaps --------------------------------------------------------------------

    def sitemap_discovery(self) -> Iterator[scrapy.Request]:
        if self.sitemaps:
            for url in self.sitemaps:
                yield self.sitemap_request(self.absolute(url))
        else:
            yield self.listing_request(self.absolute("/robots.txt"), self.parse_robots)

    def sitemap_request(
        self,
        url: str,
        fallbacks: tuple[str, ...] = (),
        *,
        child: bool = False,
        depth: int = 1,
        guessed: bool = False,
    ) -> scrapy.Request:
        """``guessed``: a well-known name, not one the site or the spider declares."""
        self._sitemaps_seen.add(url)
        return self.listing_request(
            url,
            self.parse_sitemap,
            errback=self.sitemap_failed,
            meta={
                "fallbacks": fallbacks,
                "child": child,
                "sitemap_depth": depth,
                "guessed": guessed,
            },
        )

    def parse_robots(self, response: Response) -> Iterator[Any]:
        return self._listing_done(self._robots(response))

    def _robots(self, response: Response) -> Iterator[Any]:
        declared = sitemaplib.sitemap_urls_from_robots(response.body, self.base_url)
        urls = [u for u in declared if self.own_url(u)]
        if len(urls) < len(declared):
            self.inc("foreign/robots_sitemap", len(declared) - len(urls))
        if urls:
            for url in urls:
                yield self.sitemap_request(url)
        else:
            yield from self._well_known_sitemaps()

    def _well_known_sitemaps(self) -> Iterator[Any]:
        names = [self.absolute(p) for p in self.well_known_sitemaps]
        if names:
            yield self.sitemap_request(names[0], tuple(names[1:]), guessed=True)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        return self._listing_done(self._sitemap(response))

    def sitemap_failed(self, failure: Failure) -> Iterator[Any]:
        return self._listing_done(self._sitemap_failure(failure))

    def _sitemap_failure(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        self.listing_refused(failure)
        fallbacks = request.meta.get("fallbacks", ())
        if fallbacks:
            yield self.sitemap_request(fallbacks[0], fallbacks[1:], guessed=True)
            return
        self.inc("sitemap/failed")
        self.logger.warning("sitemap failed: %s (%s)", request.url, failure.getErrorMessage())
        if request.meta.get("child"):
            # A sitemap index answered and one of its parts did not: the listing has a hole.
            self.incomplete("sitemap_failed")
        else:
            self._listing_ok = False  # no sitemaps at all: other sources take over

    def _sitemap(self, response: Response) -> Iterator[Any]:
        # Both kinds share one parse; the entry bound depends on the kind found.
        limit = max(self.bound("max_sitemap_children"), self.bound("max_sitemap_urls"))
        try:
            sitemap = sitemaplib.parse_sitemap(
                response.body, max_entries=limit, max_bytes=self.bound("max_decompressed_bytes")
            )
        except sitemaplib.BodyTooLarge as exc:
            self.inc("sitemap/too_large")
            self.bound_reached("max_decompressed_bytes", f"{response.url} ({exc})")
            return
        except (sitemaplib.NotASitemap, OSError) as exc:
            self.logger.info("not a sitemap at %s: %s", response.url, exc)
            self.inc("sitemap/not_a_sitemap")
            meta = response.meta
            if not meta.get("child") and not meta.get("guessed"):
                # A sitemap the site declares answered, unreadable: its listing is lost.
                self.logger.warning("declared sitemap %s unreadable: %s", response.url, exc)
                self.incomplete("sitemap_unreadable")
            yield from self._sitemap_failure(_as_failure(exc, response))
            return
        self.inc("sitemap/read")
        if sitemap.damage:
            self.logger.warning(
                "sitemap %s damaged (%s): entries after it are missing",
                response.url,
                sitemap.damage,
            )
            self.inc("sitemap/damaged")
            self.incomplete("sitemap_damaged")
        name = "max_sitemap_children" if sitemap.kind == "sitemapindex" else "max_sitemap_urls"
        entries = sitemap.entries[: self.bound(name)]
        cut = sitemap.cut + len(sitemap.entries) - len(entries)
        if cut:
            self.inc("sitemap/entries_cut", cut)
            self.bound_reached(name, response.url)
        if sitemap.kind == "sitemapindex":
            yield from self._sitemap_children(entries, response)
            return
        self._authoritative = True
        for entry in entries:
            self.inc("sitemap/entries")
            self.add_candidate(Candidate(entry.loc, lastmod=entry.lastmod, source="sitemap"))

    def _sitemap_children(
        self, entries: Iterable[sitemaplib.SitemapEntry], response: Response
    ) -> Iterator[scrapy.Request]:
        depth = response.meta.get("sitemap_depth", 1) + 1  # not "depth": DepthMiddleware's
        for entry in entries:
            url = entry.loc
            if url in self._sitemaps_seen:
                continue
            if not self.own_url(url):
                self.inc("foreign/sitemap_index")
                continue
            if not sitemaplib.wanted_child(url, self._sitemap_follow_re, self._sitemap_skip_re):
                continue
            if self.since and entry.lastmod and entry.lastmod < self.since:
                continue  # nothing in it changed since the bound
            if depth > self.bound("max_sitemap_depth"):
                self.bound_reached("max_sitemap_depth", url)
                return
            if len(self._sitemaps_seen) >= self.bound("max_sitemaps"):
                self.bound_reached("max_sitemaps", url)
                return
            yield self.sitemap_request(url, child=True, depth=depth)

    # --- HTML listings (last resort) -------------------------------------------------

    def listing_discovery(self) -> Iterator[scrapy.Request]:
        for url in self.listings:
            yield self.listing_request(self.absolute(url), self.parse_listing)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        return self._listing_done(self._listing_page(response))

    def _listing_page(self, response: Response) -> Iterator[Any]:
        self._listing_pages += 1
        self.inc("listing/pages")
        links = listinglib.article_links(
            response.text,
            response.url,
            self.allowed_domains,
            link_css=self.listing_link_css,
            article_url=self._article_url_re,
            timezone=self.page.profile.timezone,
        )
        unknown = older = 0
        for link, published in links:
            if not self._known_index.has_key(url_key(link)):
                unknown += 1
            if self.since and published and published < self.since:
                older += 1
            self.add_candidate(
                Candidate(link, published=published, source="listing"), authoritative=False
            )
        # Newest first: once a whole page is known, or older than `since`, so is the rest.
        if older and older == len(links):
            return
        if unknown or not self._known:
            following = listinglib.next_page(response.text, response.url)
            if following and self._listing_pages >= self.bound("max_listing_pages"):
                self.bound_reached("max_listing_pages", following)
            elif following:
                yield self.listing_request(following, self.parse_listing)

    # --- decision phase --------------------------------------------------------------

    def listing_complete(self) -> bool:
        return self._authoritative and self._listing_ok and self.since is None

    def decide(self) -> Iterator[Any]:
        """Every listing has answered: observe, fetch, and check what went missing."""
        if not self._authoritative and not self._listings_tried and self.listings:
            # Neither an API nor a sitemap listed articles: HTML listings, then decide.
            self._listings_tried = True
            requests = list(self.listing_discovery())
            if requests:
                yield from requests
                return
        if self.feed_entries_are_candidates():
            for candidate in self._feed_candidates:
                self.add_candidate(candidate, authoritative=False)
        if not self._candidates and self._robots_refused and not self._authoritative:
            # Not an outage: the site asks not to be crawled. Nothing is fetched or removed.
            self.logger.error(
                "%s: robots.txt of %s disallows %s; nothing crawled",
                self.name,
                self.base_url,
                ", ".join(sorted(set(self._robots_refused))[:3]),
            )
            raise CloseSpider("robots_forbidden")
        if not self._candidates and self.crawler.stats.get_value("spider/listing/failed"):
            # Nothing answered (DNS, refused connections, timeouts): a failed crawl, not an
            # empty site. crawl_runs records it as failed.
            self.logger.error(
                "%s: no discovery source answered; the site is unreachable", self.name
            )
            raise CloseSpider("site_unreachable")
        to_fetch: list[tuple[Candidate, KnownArticle | None]] = []
        for candidate in self._candidates.values():
            if self.since and not self._within_since(candidate):
                continue
            self.inc("listed")
            known = self.match_known(candidate)
            if known is not None and self.is_unchanged(candidate.lastmod, known):
                self.inc("unchanged")
                self._tick()
                yield ArticleSeen(
                    site=self.name,
                    observed_at=candidate.listed_at,
                    external_id=known.external_id or candidate.external_id,
                    url=candidate.url,
                    modified_at=candidate.lastmod,
                )
                continue
            self.inc("fetch/changed" if known is not None else "fetch/new")
            to_fetch.append((candidate, known))
        if self._progress.total is None:
            self._progress.total = self._progress.done + len(to_fetch)
        yield from self.fetch_requests(to_fetch)
        yield from self.deletion_checks()

    def feed_entries_are_candidates(self) -> bool:
        """Feed entries are fetched when no API lists articles (they always lend URLs)."""
        return True

    def _within_since(self, candidate: Candidate) -> bool:
        when = candidate.lastmod or candidate.published
        return when is None or when >= self.since

    def fetch_requests(
        self, to_fetch: list[tuple[Candidate, KnownArticle | None]]
    ) -> Iterator[scrapy.Request]:
        for candidate, known in to_fetch:
            yield self.article_request(candidate.url, candidate=candidate, known=known)

    def article_request(
        self,
        url: str,
        *,
        candidate: Candidate | None = None,
        known: KnownArticle | None = None,
        confirm: bool = False,
    ) -> scrapy.Request:
        headers = {}
        if known is not None and not confirm and known.removed_at is None and not self.refetch:
            headers["If-Modified-Since"] = http_date(known.last_checked_at)
            if known.etag:
                headers["If-None-Match"] = known.etag
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            headers=headers,
            # Candidates are unique already; the dupe filter would silently eat the way back
            # of a redirect loop (A -> B -> A), leaving neither an article nor an error.
            dont_filter=True,
            meta={
                "candidate": candidate,
                "known": known,
                "confirm": confirm,
                "handle_httpstatus_list": [304, 404, 410],
            },
        )

    def deletion_checks(self) -> Iterator[scrapy.Request]:
        if not self.listing_complete():
            if self._known:
                self.inc("deletion/skipped")
                self.logger.info("listing incomplete or bounded: no deletion checks this crawl")
            return
        for known in self._known:
            if known.article_id in self._matched or known.removed_at is not None:
                continue
            self.inc("deletion/checked")
            yield self.article_request(known.canonical_url, known=known, confirm=True)

    # --- article pages ---------------------------------------------------------------

    def redirected_home(self, response: Response) -> bool:
        """A known article URL that now redirects to the home page: a soft 404."""
        if not response.meta.get("redirect_urls"):
            return False
        parts = urlsplit(response.url)
        return parts.path in self._home_paths and "p" not in parse_qs(parts.query)

    def gone(
        self,
        response: Response,
        known: KnownArticle,
        status: int,
        reason: str,
        fetched_at: datetime,
    ) -> ArticleGone:
        self.inc("gone/soft404" if reason.startswith("soft 404") else f"gone/{status}")
        self._tick()
        return ArticleGone(
            site=self.name,
            url=known.canonical_url,
            observed_at=fetched_at,
            status=status,
            reason=reason,
            external_id=known.external_id,
            fetch=fetch_of(response, fetched_at),
        )

    def parse_article(self, response: Response) -> Iterator[Any]:
        fetched_at = utcnow()
        known: KnownArticle | None = response.meta.get("known")
        candidate: Candidate | None = response.meta.get("candidate")
        if response.status == 304 and known is not None:
            self.inc("not_modified")
            self._tick()
            yield ArticleSeen(
                site=self.name,
                observed_at=fetched_at,
                external_id=known.external_id,
                url=known.canonical_url,
                modified_at=candidate.lastmod if candidate else None,
            )
            return
        if response.status in (404, 410):
            if known is not None:
                yield self.gone(
                    response, known, response.status, f"http {response.status}", fetched_at
                )
            else:
                self.inc(f"not_article/http_{response.status}")
            return
        if response.status != 200:
            self.inc(f"not_article/http_{response.status}")
            return
        if self.redirected_home(response):
            if known is not None:
                yield self.gone(
                    response, known, 200, "soft 404: redirected to home page", fetched_at
                )
            else:
                self.inc("not_article/home_redirect")
            return
        if not self.own_url(response.url):  # redirected off the site
            self.inc("foreign/redirect")
            self.logger.info("article left the site: %s -> %s", response.request.url, response.url)
            return
        try:
            item = self.extract_page(response, fetched_at)
        except NotAnArticle as exc:
            reason = exc.reason
            if reason == "challenge":
                self.inc("blocked")
            elif known is not None and self.is_soft_404(response, reason):
                yield self.gone(response, known, 200, f"soft 404: {reason}", fetched_at)
                return
            self.inc(f"not_article/{reason}")
            self.logger.info("not an article (%s): %s", reason, response.url)
            return
        except Exception:
            # Any other exception is a bug, not a page property (a UnicodeDecodeError has a
            # ``.reason`` too): its traceback, counted, and the crawl goes on.
            self.logger.exception("extraction failed for %s", response.url)
            self.inc("errors")
            return
        if not self.own_url(item.canonical_url):
            # A syndicated copy names its original as canonical; the page is still what
            # this site published at this URL, so it is archived under the fetched URL.
            self.inc("foreign/canonical")
            item.canonical_url = item.url if self.own_url(item.url) else response.url
        if item.external_id is None:
            item.external_id = (known.external_id if known else None) or (
                candidate.external_id if candidate else None
            )
        redirects = [u for u in response.meta.get("redirect_urls", []) if u != item.url]
        item.redirected_from = [u for u in redirects if same_site(u, self.allowed_domains)]
        seen = [response.request.url, *redirects]
        if candidate is not None:
            seen += sorted(candidate.urls)
        if known is not None and redirects:
            self.inc("redirected")
        item.urls = [
            u
            for u in self.other_urls(*seen, external_id=item.external_id)
            if u not in (item.url, item.canonical_url) and same_site(u, self.allowed_domains)
        ]
        self.inc("articles/page")
        self._tick()
        yield item

    def extract_page(self, response: Response, fetched_at: datetime) -> ArticleItem:
        """The article on a fetched page (raises ``NotAnArticle``)."""
        from crawler.extract.page import extract_article

        # Decoded by extraction from the bytes and headers, as re-extraction of the stored
        # fetch does (Scrapy's own guess at an undeclared encoding is often wrong).
        content_type = response.headers.get("Content-Type")
        extracted = extract_article(
            response.body,
            response.url,
            fetched_at,
            self.page,
            content_type=content_type.decode("latin-1") if content_type else None,
        )
        return extracted.to_item(self.name, fetch=fetch_of(response, fetched_at))

    def is_soft_404(self, response: Response, reason: str) -> bool:
        """A known article's URL answering 200 with a "not found" page or the home page."""
        # Only an explicit "not found" page: a listing or an empty page could as well be a
        # theme change or a fault, and those must never remove an article.
        return reason in SOFT_404_REASONS

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        from scrapy.exceptions import IgnoreRequest

        if redirect_loop(failure):
            self.inc("errors")
            self.inc("redirect_loop")
            self.logger.warning("redirect loop: %s (%s)", request.url, failure.getErrorMessage())
        elif failure.check(IgnoreRequest):
            self.inc("ignored")  # robots.txt, offsite, or a challenge (counted as blocked)
        else:
            self.inc("errors")
            self.logger.warning("fetch failed: %s (%s)", request.url, failure.getErrorMessage())
        if request.meta.get("confirm"):
            self.inc("deletion/inconclusive")
        yield from ()

    def closed(self, reason: str) -> None:
        self.logger.info("%s (%s)", self._progress.line(self.name), reason)


def _cheap_key(url: str) -> str:
    """A fast, looser identity (decoded lower-case path) to skip most ``url_key`` calls."""
    return unquote(urlsplit(url).path).lower().rstrip("/")


def redirect_loop(failure: Failure) -> bool:
    """Scrapy's redirect middleware gave up (``REDIRECT_MAX_TIMES`` hops): an error."""
    from scrapy.exceptions import IgnoreRequest

    return bool(failure.check(IgnoreRequest)) and "max redirections" in failure.getErrorMessage()


def _as_failure(exc: Exception, response: Response) -> Failure:
    failure = Failure(exc)
    failure.request = response.request  # type: ignore[attr-defined]
    return failure

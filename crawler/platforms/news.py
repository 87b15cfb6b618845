"""``NewsSpider``: the Scrapy glue every news site shares.

A site is a declaration on this base (or on a platform subclass such as
``crawler.platforms.wordpress.WordPressSpider``): its name, outlet name, domains, base URL,
page class (how its articles are read, ``crawler.extract.page``), language editions, and
its discovery ``sources`` (crawler.discovery).

One crawl:

1. *Listing.* The sources walk (``crawler.discovery.run.Discovery``): feeds first (their
   links carry tracking parameters and ``?p=ID`` shortlinks worth keeping), then the chain
   (REST, sitemaps, HTML listings), the next source only when one listed nothing. Each
   walk reports whether it answered, was cut short, and listed everything.
2. *Decision.* ``crawler.discovery.decision.decide`` compares each listed article with what
   the archive knows (``crawler.db.revisions.known_articles``): unchanged per the listing's
   lastmod → ``ArticleSeen`` without a request; new or changed → fetched (a known one with
   ``If-Modified-Since`` and its page's ``If-None-Match``, so a 304 is an ``ArticleSeen``).
3. *Deletions.* When the listing was complete (a source that can vouch for every article
   answered in full, nothing was cut short, no ``since``), each known article missing from
   it is fetched once: 404/410 or a recognised soft 404 → ``ArticleGone``; a redirect to a
   new slug continues the same article; 403/5xx/timeouts/challenges remove nothing.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urljoin, urlsplit
from zoneinfo import ZoneInfo

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Headers, Response
from twisted.python.failure import Failure

from crawler.arguments import SpiderArgument, check_arguments, parse_flag
from crawler.discovery.decision import CHECKED_MARGIN, Candidate, KnownIndex, Plan, utcnow
from crawler.discovery.editions import Edition, edition_of
from crawler.discovery.run import Discovery
from crawler.discovery.sitemap import Sitemaps
from crawler.discovery.sources import Source, Walk, redirect_loop
from crawler.errors import NotAnArticle
from crawler.extract.page import ArticlePage
from crawler.extract.urls import same_site
from crawler.items import ArticleGone, ArticleItem, ArticleSeen, Fetch, KnownArticle, SiteInfo
from crawler.middlewares import RECEIVED_HEADERS_META
from crawler.politeness import Politeness

if TYPE_CHECKING:
    from crawler.extract.page import ExtractedArticle
    from crawler.extract.workers import ExtractPool

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 10.0  # seconds between progress lines
# since=recent looks back this far before the newest archived modification (clock skew,
# posts published with a slightly older date).
RECENT_MARGIN = timedelta(days=1)
# NotAnArticle reasons that, on a known article's URL, mean the article is gone.
SOFT_404_REASONS = frozenset({"error_page", "not_found"})


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
    # Where articles are listed, in order (crawler.discovery): feeds lend URLs first, then
    # the first of the others that lists anything (REST, sitemaps, HTML listings).
    sources: ClassVar[tuple[Source, ...]] = (Sitemaps(),)
    # The language editions crawled; empty: the whole site in site_info.language, except
    # paths under another language's prefix (/en/, /ru/).
    editions: ClassVar[tuple[Edition, ...]] = ()
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
        self.since_recent = values.get("since") == "recent"
        self.since = (
            None
            if self.since_recent
            else parse_since(values.get("since"), self.page.profile.timezone)
        )
        # -a refetch=1: fetch every listed article even when its lastmod is unchanged
        # (after an extractor upgrade); deletion checks still run.
        self.refetch = bool(values.get("refetch"))
        self.progress = Progress()
        self.discovery: Discovery | None = None  # made when the archive has been read
        self.extract_pool: ExtractPool | None = None  # made when the crawl starts
        home = urlsplit(self.base_url).path or "/"
        self.home_paths = {"", "/", home, home.rstrip("/")}

    # --- small helpers ---------------------------------------------------------------

    def inc(self, key: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(f"spider/{key}", count)

    def own_url(self, url: str) -> bool:
        """On one of the site's own domains: the only URLs an article is stored under."""
        return same_site(url, self.allowed_domains)

    def absolute(self, path_or_url: str) -> str:
        return urljoin(self.base_url, path_or_url)

    def edition_of(self, url: str) -> Edition | None:
        """The declared edition a URL of the site belongs to (None: an undeclared one)."""
        language = self.site_info.language if hasattr(self, "site_info") else "ar"
        return edition_of(url, self.editions or (Edition(language, "/"),))

    def tick(self, count: int = 1) -> None:
        self.progress.done += count
        now = time.monotonic()
        if now - self.progress.last_log >= PROGRESS_INTERVAL:
            self.progress.last_log = now
            self.logger.info(self.progress.line(self.name))

    def external_id_from_url(self, url: str) -> str | None:
        """The site's article id when a URL carries it (the profile's declared pattern)."""
        pattern = self.page.profile.external_id_pattern
        if pattern:
            match = re.search(pattern, url)
            if match:
                return match.group(1)
        return None

    fetch_of = staticmethod(fetch_of)

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

    def known_index(self, known: list[KnownArticle]) -> KnownIndex:
        return KnownIndex(known, self.external_id_from_url)

    # --- discovery and the decision --------------------------------------------------

    def open_extract_pool(self) -> None:
        """Worker processes for page extraction (``AKHBAR_EXTRACT_WORKERS``; 0: inline).

        Inline instead when a worker could not run this spider's extraction: a class made
        at run time does not pickle by reference, and an ``extract_page`` override runs in
        the crawl process."""
        from scrapy.utils.reactor import is_asyncio_reactor_installed

        from crawler.extract.workers import ExtractPool, travels_by_reference

        workers = self.crawler.settings.getint("AKHBAR_EXTRACT_WORKERS", 0)
        if workers <= 0 or not is_asyncio_reactor_installed():
            return
        if type(self).extract_page is not NewsSpider.extract_page or not travels_by_reference(
            type(self)
        ):
            self.inc("extract/inline")
            return
        self.extract_pool = ExtractPool(workers)

    async def start(self) -> Any:
        self.open_extract_pool()
        known = self.known_index(self.load_known())
        self.crawler.stats.set_value("spider/known", len(known))
        if self.since_recent:
            self.since = recent_watermark(known.articles)
        self.logger.info(
            "%s: %d known articles; %s crawl%s",
            self.name,
            len(known),
            "incremental" if len(known) else "first (whole archive)",
            f" since {self.since.isoformat()}" if self.since else "",
        )
        self.discovery = Discovery(self, self.sources, known)
        for request in self.discovery.start():
            yield request

    def carry_out(self, plan: Plan, discovery: Discovery) -> Iterator[Any]:
        """The decision: observe the unchanged, fetch the new and changed, check deletions."""
        if plan.listed:
            self.inc("listed", plan.listed)
        for candidate, known in plan.unchanged:
            self.inc("unchanged")
            self.tick()
            yield ArticleSeen(
                site=self.name,
                observed_at=candidate.listed_at,
                external_id=known.external_id or candidate.external_id,
                url=candidate.url,
                modified_at=candidate.lastmod,
            )
        for _, known in plan.fetch:
            self.inc("fetch/changed" if known is not None else "fetch/new")
        if self.progress.total is None:
            self.progress.total = self.progress.done + len(plan.fetch)
        yield from self.fetch_requests(plan.fetch, discovery)
        if plan.deletions_skipped:
            self.inc("deletion/skipped")
            self.logger.info("listing incomplete or bounded: no deletion checks this crawl")
        for known in plan.deletion_checks:
            self.inc("deletion/checked")
            yield self.article_request(known.canonical_url, known=known, confirm=True)

    def fetch_requests(
        self, to_fetch: list[tuple[Candidate, KnownArticle | None]], discovery: Discovery
    ) -> Iterator[scrapy.Request]:
        """Each source fetches what it listed its own way (REST in batches); else pages."""
        by_walk: dict[int, tuple[Walk, list[tuple[Candidate, KnownArticle | None]]]] = {}
        pages: list[tuple[Candidate, KnownArticle | None]] = []
        for pair in to_fetch:
            walk = discovery.walk_of(pair[0])
            if walk is None:
                pages.append(pair)
            else:
                by_walk.setdefault(id(walk), (walk, []))[1].append(pair)
        for walk, pairs in by_walk.values():
            own = walk.fetch_requests(pairs)
            if own is None:
                pages += pairs
            else:
                yield from own
        for candidate, known in pages:
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
            # The stored page's own Last-Modified (RFC 9110 13.1.3): our check's time would
            # miss for good an edit made in the same second, or behind a slow site clock.
            headers["If-Modified-Since"] = known.last_modified or http_date(
                known.last_checked_at - CHECKED_MARGIN
            )
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

    # --- article pages ---------------------------------------------------------------

    def redirected_home(self, response: Response) -> bool:
        """A known article URL that now redirects to the home page: a soft 404."""
        if not response.meta.get("redirect_urls"):
            return False
        parts = urlsplit(response.url)
        return parts.path in self.home_paths and "p" not in parse_qs(parts.query)

    def gone(
        self,
        response: Response,
        known: KnownArticle,
        status: int,
        reason: str,
        fetched_at: datetime,
    ) -> ArticleGone:
        self.inc("gone/soft404" if reason.startswith("soft 404") else f"gone/{status}")
        self.tick()
        return ArticleGone(
            site=self.name,
            url=known.canonical_url,
            observed_at=fetched_at,
            status=status,
            reason=reason,
            external_id=known.external_id,
            fetch=fetch_of(response, fetched_at),
        )

    def parse_article(self, response: Response) -> Any:
        """The observations an article page makes: a list, or with the extraction pool
        (``crawler.extract.workers``) a coroutine Scrapy awaits for that list."""
        fetched_at = utcnow()
        known: KnownArticle | None = response.meta.get("known")
        candidate: Candidate | None = response.meta.get("candidate")
        if response.status == 304 and known is not None:
            self.inc("not_modified")
            self.tick()
            return [
                ArticleSeen(
                    site=self.name,
                    observed_at=fetched_at,
                    external_id=known.external_id,
                    url=known.canonical_url,
                    modified_at=candidate.lastmod if candidate else None,
                )
            ]
        if response.status in (404, 410):
            if known is not None:
                return [
                    self.gone(
                        response, known, response.status, f"http {response.status}", fetched_at
                    )
                ]
            self.inc(f"not_article/http_{response.status}")
            return []
        if response.status != 200:
            self.inc(f"not_article/http_{response.status}")
            return []
        if self.redirected_home(response):
            if known is not None:
                return [
                    self.gone(response, known, 200, "soft 404: redirected to home page", fetched_at)
                ]
            self.inc("not_article/home_redirect")
            return []
        if not self.own_url(response.url):  # redirected off the site
            self.inc("foreign/redirect")
            self.logger.info("article left the site: %s -> %s", response.request.url, response.url)
            return []
        if self.extract_pool is not None and self.extract_pool.usable:
            return self._article_from_pool(response, fetched_at)
        try:
            item: ArticleItem | BaseException = self.extract_page(response, fetched_at)
        except Exception as exc:
            item = exc
        return self.article_outcome(response, fetched_at, item)

    async def _article_from_pool(self, response: Response, fetched_at: datetime) -> list[Any]:
        """``parse_article``'s extraction in a worker process; inline if the pool broke."""
        from crawler.extract.workers import BrokenPool

        assert self.extract_pool is not None
        outcome: ArticleItem | BaseException
        try:
            extracted = await self.extract_pool.run(
                type(self).extract_html, *self._page_arguments(response, fetched_at)
            )
            outcome = self.item_of(extracted, response, fetched_at)
        except BrokenPool:
            self.inc("extract/pool_broken")
            self.logger.warning("extraction pool broken; extracting inline: %s", response.url)
            try:
                outcome = self.extract_page(response, fetched_at)
            except Exception as exc:
                outcome = exc
        except Exception as exc:
            outcome = exc
        return self.article_outcome(response, fetched_at, outcome)

    def article_outcome(
        self, response: Response, fetched_at: datetime, outcome: ArticleItem | BaseException
    ) -> list[Any]:
        """What an extraction (an item, ``NotAnArticle`` or a bug) makes of an article page."""
        known: KnownArticle | None = response.meta.get("known")
        candidate: Candidate | None = response.meta.get("candidate")
        if isinstance(outcome, NotAnArticle):
            reason = outcome.reason
            if reason == "challenge":
                self.inc("blocked")
            elif known is not None and self.is_soft_404(response, reason):
                return [self.gone(response, known, 200, f"soft 404: {reason}", fetched_at)]
            self.inc(f"not_article/{reason}")
            self.logger.info("not an article (%s): %s", reason, response.url)
            return []
        if isinstance(outcome, BaseException):
            # Any other exception is a bug, not a page property (a UnicodeDecodeError has a
            # ``.reason`` too): its traceback, counted, and the crawl goes on.
            self.logger.error(
                "extraction failed for %s",
                response.url,
                exc_info=(type(outcome), outcome, outcome.__traceback__),
            )
            self.inc("errors")
            return []
        item = outcome
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
        if candidate is not None and candidate.language:
            self.set_edition_language(item, candidate.language)
        item.urls = [
            u
            for u in self.discovery.other_urls(*seen, external_id=item.external_id)
            if u not in (item.url, item.canonical_url) and same_site(u, self.allowed_domains)
        ]
        self.inc("articles/page")
        self.tick()
        return [item]

    def set_edition_language(self, item: ArticleItem, language: str) -> None:
        """An article of a declared edition is in that edition's language, unless its
        extraction found a language of its own (not the profile's default)."""
        if item.language == self.page.profile.language:
            item.language = language

    @classmethod
    def extract_html(
        cls, body: bytes, url: str, fetched_at: datetime, content_type: str | None
    ) -> ExtractedArticle:
        """The article on a page's bytes (raises ``NotAnArticle``): what a worker process
        runs (``crawler.extract.workers``), so it takes only what pickles."""
        from crawler.extract.page import extract_article

        return extract_article(body, url, fetched_at, cls.page, content_type=content_type)

    @staticmethod
    def _page_arguments(
        response: Response, fetched_at: datetime
    ) -> tuple[bytes, str, datetime, str | None]:
        """``extract_html``'s arguments for a response."""
        # Decoded by extraction from the bytes and headers, as re-extraction of the stored
        # fetch does (Scrapy's own guess at an undeclared encoding is often wrong).
        content_type = response.headers.get("Content-Type")
        return (
            response.body,
            response.url,
            fetched_at,
            content_type.decode("latin-1") if content_type else None,
        )

    def item_of(
        self, extracted: ExtractedArticle, response: Response, fetched_at: datetime
    ) -> ArticleItem:
        return extracted.to_item(self.name, fetch=fetch_of(response, fetched_at))

    def extract_page(self, response: Response, fetched_at: datetime) -> ArticleItem:
        """The article on a fetched page (raises ``NotAnArticle``)."""
        extracted = self.extract_html(*self._page_arguments(response, fetched_at))
        return self.item_of(extracted, response, fetched_at)

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
        if self.extract_pool is not None:
            self.extract_pool.shutdown()
        self.logger.info("%s (%s)", self.progress.line(self.name), reason)

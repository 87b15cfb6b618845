"""Politeness per site: the declaration, robots.txt fetched once and obeyed, Crawl-delay.

A site declares how hard it may be crawled with one attribute (``NewsSpider.politeness``)::

    politeness = Politeness(delay=2.0, concurrency=1, proxy_env="AKHBAR_PROXY_SANA")

* ``delay``, ``concurrency``: ``DOWNLOAD_DELAY`` (also AutoThrottle's floor) and
  ``CONCURRENT_REQUESTS_PER_DOMAIN``, set at Scrapy's ``spider`` priority, so ``-s`` on the
  command line still wins (the tests and benchmarks turn delays off that way).
* ``proxy_env``: the environment variable holding an outbound proxy URL
  (``http://user:pass@host:port``) for an outlet that blocks some countries. Set, every
  request of the spider goes through it; declared but unset, the crawl goes direct (one INFO
  line). An environment variable, not a setting: ``-s`` values are logged by Scrapy.

``PolitenessMiddleware`` replaces Scrapy's ``RobotsTxtMiddleware``: one robots.txt fetch per
host and crawl, shared with the spider's own ``/robots.txt`` request (read for its Sitemap
lines), so the site sees one request; its rules obeyed (Protego, as Scrapy does); its
``Crawl-delay`` made the floor of the host's download slot (never below the declared delay,
at most ``AKHBAR_MAX_CRAWL_DELAY``). ``PoliteAutoThrottle`` replaces AutoThrottle, which
would otherwise lower a slot's delay below that floor. Stats: docs/crawl-stats.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

# Google's limit: rules past the first 500 KiB of a robots.txt are ignored.
ROBOTSTXT_MAX_BYTES = 500 * 1024
MAX_CRAWL_DELAY = 60.0  # seconds; a longer Crawl-delay is capped (and counted)


@dataclass(frozen=True, slots=True)
class Politeness:
    """How hard a site may be crawled (see the module docstring)."""

    delay: float = 1.0  # seconds between requests to the site; AutoThrottle's floor
    concurrency: int = 2  # requests in flight to the site at once
    proxy_env: str | None = None  # environment variable holding an outbound proxy URL

    def __post_init__(self) -> None:
        if self.delay < 0:
            raise ValueError(f"Politeness.delay must be >= 0, not {self.delay!r}")
        if self.concurrency < 1:
            raise ValueError(f"Politeness.concurrency must be >= 1, not {self.concurrency!r}")
        if self.proxy_env is not None and not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*", self.proxy_env
        ):
            raise ValueError(f"Politeness.proxy_env must name a variable, not {self.proxy_env!r}")

    def apply(self, settings: BaseSettings) -> None:
        """The declaration as Scrapy settings at ``spider`` priority (``-s`` still wins)."""
        settings.set("DOWNLOAD_DELAY", self.delay, priority="spider")
        settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", self.concurrency, priority="spider")

    def proxy_url(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The outbound proxy URL, or None (none declared, or its variable unset)."""
        if not self.proxy_env:
            return None
        url = environ.get(self.proxy_env, "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
            # Not the value itself: it may hold credentials.
            raise ValueError(f"${self.proxy_env} is not a proxy URL like http://host:port")
        return url


def proxy_address(url: str) -> str:
    """``host:port`` of a proxy URL, for logs (never its credentials)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


class ForbiddenByRobots(IgnoreRequest):
    """The site's robots.txt forbids the request (the message names robots.txt)."""


def refused_by_robots(failure: Failure) -> bool:
    """Whether a request failed because the site's robots.txt forbids it."""
    return bool(failure.check(ForbiddenByRobots))


def robots_body(body: bytes, limit: int = ROBOTSTXT_MAX_BYTES) -> tuple[bytes, bool]:
    """The part of a robots.txt that is read (whole lines within ``limit``), and whether
    anything was cut."""
    if len(body) <= limit:
        return body, False
    head = body[:limit]
    return head[: head.rfind(b"\n") + 1], True


@dataclass(slots=True)
class _Robots:
    """One host's robots.txt: the rules (None: allow all) and the fetch's outcome, which
    answers the spider's own ``/robots.txt`` request."""

    parser: ProtegoRobotParser | None
    outcome: Response | Exception


class PolitenessMiddleware:
    """robots.txt once per host (shared with the spider), obeyed; Crawl-delay; the proxy."""

    DOWNLOAD_PRIORITY = 1000  # robots.txt before anything else (as Scrapy's middleware)

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.obey = settings.getbool("ROBOTSTXT_OBEY")
        self.user_agent: str = settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT")
        self.max_bytes = settings.getint("AKHBAR_ROBOTSTXT_MAX_BYTES", ROBOTSTXT_MAX_BYTES)
        self.max_crawl_delay = settings.getfloat("AKHBAR_MAX_CRAWL_DELAY", MAX_CRAWL_DELAY)
        self.min_delay = settings.getfloat("DOWNLOAD_DELAY")
        self._robots: dict[str, _Robots | asyncio.Future[_Robots]] = {}
        self.proxy: str | None = None
        self.proxy_error: str | None = None
        self._refused = False
        spider = crawler.spider
        politeness: Politeness | None = getattr(spider, "politeness", None)
        if politeness is not None and politeness.proxy_env:
            name = getattr(spider, "name", "?")
            try:
                self.proxy = politeness.proxy_url()
            except ValueError as exc:
                # Never crawl direct instead: the site may block us, or the operator may
                # not want to be seen. Nothing is fetched; the run fails with this line.
                self.proxy_error = f"{name}: {exc}; nothing crawled"
            if self.proxy:
                logger.info(
                    "%s: every request through the proxy in $%s (%s)",
                    name,
                    politeness.proxy_env,
                    proxy_address(self.proxy),
                )
            elif not self.proxy_error:
                logger.info("%s: $%s is not set; crawling directly", name, politeness.proxy_env)

    def _refuse(self, request: Request) -> NoReturn:
        """A declared proxy that is unusable: the first request closes the crawl (its run
        recorded as failed), every request is dropped."""
        if not self._refused:
            self._refused = True
            logger.error(self.proxy_error)
            assert self.crawler.engine is not None
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="proxy_invalid"))
        raise IgnoreRequest(self.proxy_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> Response | None:
        if self.proxy_error:
            self._refuse(request)
        if self.proxy and "proxy" not in request.meta:
            request.meta["proxy"] = self.proxy
            self.stats.inc_value("politeness/proxied")
        if not self.obey or request.meta.get("dont_obey_robotstxt"):
            return None
        if request.url.startswith(("data:", "file:")):
            return None
        robots = await self.robots_of(request)
        if _is_robots_url(request):
            return self._answer_from_fetch(request, robots)
        if robots.parser is not None and not robots.parser.allowed(request.url, self.user_agent):
            self.stats.inc_value("robotstxt/forbidden")
            raise ForbiddenByRobots(f"Forbidden by robots.txt: {request.url}")
        return None

    def _answer_from_fetch(self, request: Request, robots: _Robots) -> Response:
        """The spider's own robots.txt request, answered by the one fetch (already retried:
        not again)."""
        request.meta["dont_retry"] = True
        self.stats.inc_value("politeness/robots_shared")
        if isinstance(robots.outcome, Exception):
            raise robots.outcome
        return robots.outcome.replace(request=request, flags=[*robots.outcome.flags, "shared"])

    async def robots_of(self, request: Request) -> _Robots:
        """The request's host's robots.txt, fetched on first use; later callers wait for it."""
        url = urlparse_cached(request)
        netloc = url.netloc
        known = self._robots.get(netloc)
        if isinstance(known, _Robots):
            return known
        if known is not None:
            return await asyncio.shield(known)
        waiting: asyncio.Future[_Robots] = asyncio.get_running_loop().create_future()
        self._robots[netloc] = waiting
        try:
            robots = await self._fetch(f"{url.scheme}://{netloc}/robots.txt", request)
        except BaseException:  # cancelled (the crawl closing): the next caller fetches
            del self._robots[netloc]
            waiting.cancel()
            raise
        self._robots[netloc] = robots
        waiting.set_result(robots)
        return robots

    async def _fetch(self, robots_url: str, request: Request) -> _Robots:
        fetch = Request(
            robots_url,
            priority=self.DOWNLOAD_PRIORITY,
            meta={"dont_obey_robotstxt": True},
            callback=NO_CALLBACK,
        )
        self.stats.inc_value("robotstxt/request_count")
        assert self.crawler.engine is not None
        try:
            response = await self.crawler.engine.download_async(fetch)
        except Exception as exc:  # network error, challenge, too large: allow all (Scrapy's)
            self.stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            self._unavailable(robots_url, f"{type(exc).__name__}: {exc}")
            return _Robots(None, exc)
        self.stats.inc_value("robotstxt/response_count")
        self.stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        if response.status >= 500:
            self._unavailable(robots_url, f"HTTP {response.status}")
            return _Robots(None, response)
        if response.status >= 300:  # 4xx (and a redirect left unfollowed): no rules
            return _Robots(None, response)
        body, cut = robots_body(response.body, self.max_bytes)
        if cut:
            self.stats.inc_value("politeness/robots_truncated")
            logger.warning(
                "%s is %d bytes: only its first %d are read",
                robots_url,
                len(response.body),
                len(body),
            )
            response = response.replace(body=body)
        parser = ProtegoRobotParser(body, self.crawler.spider)
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=parser, request=request
        )
        self._apply_crawl_delay(parser, request, robots_url)
        return _Robots(parser, response)

    def _unavailable(self, robots_url: str, why: str) -> None:
        self.stats.inc_value("politeness/robots_unavailable")
        logger.warning("%s unavailable (%s): crawling as if it allowed everything", robots_url, why)

    def _apply_crawl_delay(self, parser: ProtegoRobotParser, request: Request, where: str) -> None:
        """Crawl-delay becomes the floor of the host's download slot: no jitter below it,
        never below the declared delay, AutoThrottle keeps it (``PoliteAutoThrottle``)."""
        delay = parser.crawl_delay(self.user_agent)
        if not delay or delay <= 0:
            return
        if delay > self.max_crawl_delay:
            self.stats.inc_value("politeness/crawl_delay_capped")
            logger.warning(
                "%s asks for Crawl-delay %g s: capped at %g s (AKHBAR_MAX_CRAWL_DELAY)",
                where,
                delay,
                self.max_crawl_delay,
            )
            delay = self.max_crawl_delay
        self.stats.max_value("politeness/crawl_delay", delay)
        assert self.crawler.engine is not None
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        declared = dict(downloader.per_slot_settings.get(key, {}))
        floor = max(delay, self.min_delay, float(declared.get("delay", 0)))
        # New slots (and one re-created after Scrapy's idle-slot cleanup) start from here.
        downloader.per_slot_settings[key] = {**declared, "delay": floor, "jitter": 0.0}
        slot = downloader.slots.get(key)
        if slot is not None:
            slot.delay = max(slot.delay, floor)
            slot.jitter = 0.0
        logger.info("%s: Crawl-delay %g s (slot delay %g s)", where, delay, floor)


def _is_robots_url(request: Request) -> bool:
    url = urlparse_cached(request)
    return url.path == "/robots.txt" and not url.query


def slot_floor(crawler: Crawler, key: str | None) -> float:
    """The least delay a download slot may have: its ``DOWNLOAD_SLOTS`` delay (where
    ``PolitenessMiddleware`` puts a Crawl-delay), else 0."""
    if key is None or crawler.engine is None:
        return 0.0
    return float(crawler.engine.downloader.per_slot_settings.get(key, {}).get("delay", 0.0))


class PoliteAutoThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, except that it never lowers a slot's delay below the slot's
    own floor (a robots.txt Crawl-delay): AutoThrottle's only floor is ``DOWNLOAD_DELAY``."""

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if slot is not None:
            slot.delay = max(slot.delay, slot_floor(self.crawler, key))

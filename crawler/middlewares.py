"""Downloader middlewares: polite retries, bot-challenge detection, headers as received.

* ``BackoffRetryMiddleware`` replaces Scrapy's ``RetryMiddleware`` (which retries at once):
  it waits before each retry, for as long as ``Retry-After`` asks on a 429/503, otherwise
  with exponential backoff and jitter.
* ``ChallengeMiddleware`` recognises bot challenges (Cloudflare "Just a moment...", and
  the like), counts them as ``spider/blocked`` and drops them, so a challenge is never
  retried in a loop, never parsed, never stored and never taken for a deleted article.
* ``ReceivedHeadersMiddleware`` keeps the response headers as they arrived, before
  ``HttpCompressionMiddleware`` decodes the body and deletes ``Content-Encoding``, so the
  archived fetch says how the body travelled (``crawler.platforms.news.fetch_of``).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import sleep
from scrapy.utils.response import response_status_message

from crawler.extract.verdict import is_challenge_response

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """Retry with a wait: ``Retry-After`` when given, else ``base * 2**n`` with jitter.

    Settings: ``RETRY_BACKOFF_BASE`` (seconds, 0 disables the backoff),
    ``RETRY_BACKOFF_MAX``, ``RETRY_AFTER_MAX`` (a longer Retry-After is not waited for:
    the request gives up and is counted in ``retry/retry_after_too_long``).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        settings = crawler.settings
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def _backoff(self, request: Request) -> float:
        if self.backoff_base <= 0:
            return 0.0
        attempt = request.meta.get("retry_times", 0)
        wait = min(self.backoff_max, self.backoff_base * 2**attempt)
        return wait * random.uniform(0.5, 1.0)

    def _pause_slot(self, request: Request, seconds: float) -> None:
        # The whole site asked us to slow down, not just this URL: hold its download slot
        # (effective when a download delay is set, as it is outside tests).
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        key = request.meta.get("download_slot")
        slot = downloader.slots.get(key) if downloader and key else None
        if slot is not None and slot.delay:
            slot.lastseen = max(slot.lastseen, monotonic() + seconds - slot.delay)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        stats = self.crawler.stats
        wait = None
        if response.status in (429, 503):
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None:
                stats.inc_value("retry/retry_after")
                if wait > self.retry_after_max:
                    stats.inc_value("retry/retry_after_too_long")
                    return response
                self._pause_slot(request, wait)
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        wait = self._backoff(request) if wait is None else wait
        if wait > 0:
            await sleep(wait)
        return retry

    async def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get(
            "dont_retry", False
        ):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            wait = self._backoff(request)
            if wait > 0:
                await sleep(wait)
        return retry


def is_challenge(response: Response) -> bool:
    """Whether the response is a bot challenge or WAF block page rather than content
    (``crawler.extract.verdict`` decides, for extraction and validation alike)."""
    header = response.headers.get
    return is_challenge_response(
        response.status,
        response.body,
        content_type=header(b"Content-Type", b"").decode("latin-1"),
        cf_mitigated=header(b"cf-mitigated", b"").decode("latin-1"),
    )


class ChallengeMiddleware:
    """Count challenge pages as ``spider/blocked`` and drop them (``IgnoreRequest``)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChallengeMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if is_challenge(response):
            self.crawler.stats.inc_value("spider/blocked")
            raise IgnoreRequest(f"bot challenge (HTTP {response.status}) at {response.url}")
        return response


RECEIVED_HEADERS_META = "received_headers"


class ReceivedHeadersMiddleware:
    """Copy the response headers into ``request.meta`` before decompression changes them.

    Ordered just above ``HttpCompressionMiddleware`` (590): responses pass downloader
    middlewares from the highest order down, so this sees them first."""

    def process_response(self, request: Request, response: Response) -> Response:
        request.meta[RECEIVED_HEADERS_META] = response.headers.copy()  # new value lists too
        return response

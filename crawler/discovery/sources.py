"""A discovery source: a declaration (what to ask, its bounds) and its walk (one crawl's state).

A site lists its sources in ``NewsSpider.discovery``. ``Source`` is the frozen declaration;
``Source.walk(crawl)`` makes a ``Walk``, which owns its requests and their parsing for one
crawl and reports how it ended:

- ``answered``: it listed articles (REST page 1, a url set, a listing page);
- ``exhaustive``: it listed every article it can name (walked to its end);
- ``cut``: something was cut short (a bound, a failed page, damaged XML): the run is
  partial and no deletion checks run;
- ``spoiled``: it failed in a way that leaves the crawl unable to vouch for missing
  articles, without being cut short (no sitemap answered at all).

Its requests are counted per walk, not per spider: the walk is done when the last one has
answered, and ``Discovery`` (crawler.discovery.run) then starts the next source or decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from twisted.python.failure import Failure

LISTING_PRIORITY = 10  # listing requests before article pages (which add no more work)


@dataclass(frozen=True, slots=True)
class Source:
    """Base of the declared sources (``WordPressRest``, ``Sitemaps``, ``Feed``, ``Listing``)."""

    kind: ClassVar[str] = ""  # stat prefix and ``spider/discovery`` value
    # Runs first, beside the others, and only lends URLs and dates (feeds); else the
    # sources form a chain, the next one tried when one lists nothing (REST refused ->
    # sitemaps -> HTML listings).
    lends: ClassVar[bool] = False
    # A full answer names every article the site has: the crawl may check deletions.
    authoritative: ClassVar[bool] = True
    # Its entries carry a modified date, so unchanged articles need no request.
    gives_lastmod: ClassVar[bool] = True
    # Its own names of the bounds it carries (``AKHBAR_<NAME>`` settings override them).
    bounds: ClassVar[tuple[str, ...]] = ()

    def walk(self, crawl: Any) -> Walk:
        raise NotImplementedError


class Walk:
    """One crawl's reading of one source."""

    def __init__(self, source: Source, crawl: Any) -> None:
        self.source = source
        self.crawl = crawl  # the crawl's Discovery (crawler.discovery.run), which imports this
        self.pending = 0  # this walk's requests not yet answered
        self.started = False
        self.answered = False
        self.exhaustive = True  # a listing that stops early (a known page) clears it
        self.cut = False
        self.spoiled = False

    # --- what a source implements ----------------------------------------------------

    def start(self) -> Iterator[scrapy.Request]:
        raise NotImplementedError

    def more(self) -> Iterator[scrapy.Request]:
        """Requests to add after each answer (a REST window kept full)."""
        return iter(())

    def fetch_requests(self, to_fetch: list[Any]) -> Iterator[scrapy.Request] | None:
        """How this source fetches the new and changed articles it listed (None: as pages)."""
        return None

    @property
    def state(self) -> str:
        """How the walk ended, for the log and ``spider/sources``."""
        if not self.started:
            return "not_asked"
        if self.pending:
            return "running"
        if self.cut:
            return "incomplete"
        if self.spoiled or not self.answered:
            return "unavailable"  # refused, failed, or nothing to read
        return "complete" if self.exhaustive else "stopped_early"

    @property
    def vouches(self) -> bool:
        """Listed every article the site has, in full: deletion checks may run."""
        return self.source.authoritative and self.answered and self.exhaustive and not self.cut

    # --- helpers ---------------------------------------------------------------------

    def bound(self, name: str) -> int:
        return self.crawl.bound(self.source, name)

    def bound_reached(self, name: str, where: str) -> None:
        self.cut = True
        self.crawl.bound_reached(self.source, name, where)

    def incomplete(self, reason: str) -> None:
        """Cut short: no deletion checks, and the run is partial."""
        self.cut = True
        self.crawl.incomplete(reason)

    def request(
        self,
        url: str,
        parse: Callable[[Response], Iterable[Any]],
        failed: Callable[[Failure], Iterable[Any]] | None = None,
        *,
        meta: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> scrapy.Request:
        """A listing request of this walk: counted until its answer has been parsed."""
        self.pending += 1
        return scrapy.Request(
            url,
            callback=self._answer,
            errback=self._failure,
            dont_filter=True,  # counted: the dupe filter must not eat one
            priority=LISTING_PRIORITY,
            meta={
                "listing": True,
                "walk_parse": parse,
                "walk_failed": failed or self.failed,
                **(meta or {}),
            },
            **kwargs,
        )

    def failed(self, failure: Failure) -> Iterator[Any]:
        """A listing request with no usable answer: the listing has a hole."""
        self.incomplete("listing_failed")
        self.crawl.inc("listing/failed")
        if not self.crawl.listing_refused(failure):
            self.crawl.logger.warning("listing request failed: %s", failure.getErrorMessage())
        yield from ()

    # --- bookkeeping -----------------------------------------------------------------

    def _answer(self, response: Response) -> Iterator[Any]:
        return self._done(response.meta["walk_parse"](response))

    def _failure(self, failure: Failure) -> Iterator[Any]:
        return self._done(failure.request.meta["walk_failed"](failure))

    def _done(self, results: Iterable[Any]) -> Iterator[Any]:
        try:
            yield from results
        except Exception:
            self.crawl.logger.exception("listing callback failed")
            self.crawl.inc("errors")
            self.incomplete("listing_callback_failed")
        self.pending -= 1
        yield from self.more()
        if self.pending == 0:
            yield from self.crawl.walk_done(self)


def redirect_loop(failure: Failure) -> bool:
    """Scrapy's redirect middleware gave up (``REDIRECT_MAX_TIMES`` hops): an error."""
    return bool(failure.check(IgnoreRequest)) and "max redirections" in failure.getErrorMessage()

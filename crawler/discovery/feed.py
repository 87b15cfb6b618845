"""``Feed``: an RSS 2.0 or Atom feed. It lends URLs (``utm_*`` links, ``?p=ID`` shortlinks in
``<guid>``) and dates; never authoritative (it lists the latest few), so never a reason to
check deletions. Its encoding: the declared ``encoding``, else the HTTP charset, else the
XML declaration, else UTF-8 (crawler.discovery.parse.feeds.read_feed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.discovery.decision import Candidate
from crawler.discovery.parse import feeds as feedlib
from crawler.discovery.sources import Source, Walk


@dataclass(frozen=True, slots=True)
class Feed(Source):
    url: str = "/feed/"  # a path on the site or a URL
    encoding: str | None = None  # overrides what the response declares (e.g. "windows-1256")
    max_feed_entries: int = 1000  # entries read from one feed

    kind: ClassVar[str] = "feed"
    lends: ClassVar[bool] = True
    authoritative: ClassVar[bool] = False
    bounds: ClassVar[tuple[str, ...]] = ("max_feed_entries",)

    def walk(self, crawl: Any) -> FeedWalk:
        return FeedWalk(self, crawl)


class FeedWalk(Walk):
    source: Feed

    def start(self) -> Iterator[Any]:
        yield self.request(self.crawl.absolute(self.source.url), self.parse, self.feed_failed)

    def feed_failed(self, failure: Failure) -> Iterator[Any]:
        # A missing feed is not an incomplete listing: feeds are never authoritative.
        self.crawl.listing_refused(failure)
        self.crawl.inc("feed/failed")
        yield from ()

    def parse(self, response: Response) -> Iterator[Any]:
        crawl = self.crawl
        content_type = response.headers.get("Content-Type")
        try:
            feed = feedlib.read_feed(
                response.body,
                self.bound("max_feed_entries"),
                encoding=self.source.encoding,
                content_type=content_type.decode("latin-1") if content_type else None,
            )
        except feedlib.NotAFeed as exc:
            crawl.inc("feed/not_a_feed")
            crawl.logger.info("not a feed at %s: %s", response.url, exc)
            return
        if feed.damage:
            crawl.logger.warning(
                "feed %s damaged (%s): entries may be missing", response.url, feed.damage
            )
            crawl.inc("feed/damaged")
            self.incomplete("feed_damaged")
        if feed.cut:
            crawl.inc("feed/entries_cut", feed.cut)
            self.bound_reached("max_feed_entries", response.url)
        self.answered = True
        for entry in feed.entries:
            if not crawl.own_url(entry.link):
                crawl.inc("foreign/feed")
                continue
            crawl.inc("feed/entries")
            ext = None
            for url in entry.urls:
                ext = ext or crawl.external_id_from_url(url)
            crawl.lend(
                Candidate(
                    entry.link,
                    lastmod=entry.updated,
                    external_id=ext,
                    published=entry.published,
                    urls=set(entry.urls),
                    source="feed",
                )
            )
        yield from ()

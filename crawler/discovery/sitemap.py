"""``Sitemaps``: sitemaps.org files (core ``wp-sitemap.xml``, Yoast ``sitemap_index.xml``,
any index of url sets), found through robots.txt ``Sitemap:`` lines, else the well-known
names, unless declared. Authoritative (a full set of url sets names every article) and
with lastmod. ``NewsSitemap``: a Google News sitemap (the last two days' articles, with
their publication dates): it lends candidates like a feed and vouches for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.discovery.decision import Candidate
from crawler.discovery.parse import sitemaps as sitemaplib
from crawler.discovery.sources import Source, Walk

WELL_KNOWN = ("/sitemap_index.xml", "/sitemap.xml")
WORDPRESS_WELL_KNOWN = ("/wp-sitemap.xml", "/sitemap_index.xml", "/sitemap.xml")
# Child sitemaps of WordPress pages, users and terms list no articles.
WORDPRESS_SKIP = r"(?:[-_/]page|user|author|categor|tag|taxonom|attachment|post_format)[^/]*\.xml"


def _as_failure(exc: Exception, response: Response) -> Failure:
    failure = Failure(exc)
    failure.request = response.request  # type: ignore[attr-defined]
    return failure


@dataclass(frozen=True, slots=True)
class Sitemaps(Source):
    urls: tuple[str, ...] = ()  # empty: robots.txt Sitemap lines, else ``well_known``
    well_known: tuple[str, ...] = WELL_KNOWN  # tried in order when robots.txt names none
    follow: str | None = None  # regex child sitemaps must match to be read
    skip: str | None = None  # regex of child sitemaps not listing articles
    max_sitemaps: int = 1000  # sitemap files requested in one crawl
    max_sitemap_depth: int = 3  # files from the first one down (index, index, set)
    max_sitemap_children: int = 50_000  # children read from one sitemap index
    max_sitemap_urls: int = 50_000  # URLs read from one url set (the protocol's)
    max_decompressed_bytes: int = sitemaplib.DEFAULT_MAX_DECOMPRESSED  # gzip sitemaps

    kind: ClassVar[str] = "sitemaps"
    bounds: ClassVar[tuple[str, ...]] = (
        "max_sitemaps",
        "max_sitemap_depth",
        "max_sitemap_children",
        "max_sitemap_urls",
        "max_decompressed_bytes",
    )

    def walk(self, crawl: Any) -> SitemapWalk:
        return SitemapWalk(self, crawl)


@dataclass(frozen=True, slots=True)
class NewsSitemap(Sitemaps):
    """A Google News sitemap (``<news:publication_date>``): recent articles only."""

    urls: tuple[str, ...] = ("/news-sitemap.xml",)
    well_known: tuple[str, ...] = ()

    kind: ClassVar[str] = "news_sitemap"
    lends: ClassVar[bool] = True
    authoritative: ClassVar[bool] = False
    gives_lastmod: ClassVar[bool] = False  # publication dates only


class SitemapWalk(Walk):
    source: Sitemaps

    def __init__(self, source: Sitemaps, crawl: Any) -> None:
        super().__init__(source, crawl)
        self.seen: set[str] = set()
        self.follow_re = re.compile(source.follow) if source.follow else None
        self.skip_re = re.compile(source.skip) if source.skip else None

    def start(self) -> Iterator[scrapy.Request]:
        if self.source.urls:
            for url in self.source.urls:
                yield self.sitemap_request(self.crawl.absolute(url))
        else:
            # Polite's middleware answers this from its one robots.txt fetch.
            yield self.request(
                self.crawl.absolute("/robots.txt"), self.parse_robots, self.robots_failed
            )

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
        self.seen.add(url)
        return self.request(
            url,
            self.parse_sitemap,
            self.sitemap_failed,
            meta={
                "fallbacks": fallbacks,
                "child": child,
                "sitemap_depth": depth,  # not "depth": DepthMiddleware's
                "guessed": guessed,
            },
        )

    def parse_robots(self, response: Response) -> Iterator[Any]:
        crawl = self.crawl
        declared = sitemaplib.sitemap_urls_from_robots(response.body, crawl.spider.base_url)
        urls = [u for u in declared if crawl.own_url(u)]
        if len(urls) < len(declared):
            crawl.inc("foreign/robots_sitemap", len(declared) - len(urls))
        if urls:
            for url in urls:
                yield self.sitemap_request(url)
            return
        yield from self.well_known()

    def robots_failed(self, failure: Failure) -> Iterator[Any]:
        """No robots.txt to read (404, 5xx, no answer): no Sitemap lines, so the well-known
        names, as for a robots.txt that names none. The listing has no hole for it."""
        self.crawl.inc("sitemap/robots_unavailable")
        self.crawl.logger.info(
            "robots.txt unreadable (%s); trying the well-known sitemaps",
            failure.getErrorMessage(),
        )
        yield from self.well_known()

    def well_known(self) -> Iterator[scrapy.Request]:
        names = [self.crawl.absolute(p) for p in self.source.well_known]
        if names:
            yield self.sitemap_request(names[0], tuple(names[1:]), guessed=True)

    def sitemap_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        self.crawl.listing_refused(failure)
        fallbacks = request.meta.get("fallbacks", ())
        if fallbacks:
            yield self.sitemap_request(fallbacks[0], fallbacks[1:], guessed=True)
            return
        self.crawl.inc("sitemap/failed")
        self.crawl.logger.warning("sitemap failed: %s (%s)", request.url, failure.getErrorMessage())
        if request.meta.get("child"):
            # A sitemap index answered and one of its parts did not: the listing has a hole.
            self.incomplete("sitemap_failed")
        else:
            self.spoiled = True  # no sitemaps at all: other sources take over

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        crawl = self.crawl
        # Both kinds share one parse; the entry bound depends on the kind found.
        limit = max(self.bound("max_sitemap_children"), self.bound("max_sitemap_urls"))
        try:
            sitemap = sitemaplib.parse_sitemap(
                response.body, max_entries=limit, max_bytes=self.bound("max_decompressed_bytes")
            )
        except sitemaplib.BodyTooLarge as exc:
            crawl.inc("sitemap/too_large")
            self.bound_reached("max_decompressed_bytes", f"{response.url} ({exc})")
            return
        except (sitemaplib.NotASitemap, OSError) as exc:
            crawl.logger.info("not a sitemap at %s: %s", response.url, exc)
            crawl.inc("sitemap/not_a_sitemap")
            meta = response.meta
            if not meta.get("child") and not meta.get("guessed"):
                # A sitemap the site declares answered, unreadable: its listing is lost.
                crawl.logger.warning("declared sitemap %s unreadable: %s", response.url, exc)
                self.incomplete("sitemap_unreadable")
            yield from self.sitemap_failed(_as_failure(exc, response))
            return
        crawl.inc("sitemap/read")
        if sitemap.damage:
            crawl.logger.warning(
                "sitemap %s damaged (%s): entries after it are missing",
                response.url,
                sitemap.damage,
            )
            crawl.inc("sitemap/damaged")
            self.incomplete("sitemap_damaged")
        name = "max_sitemap_children" if sitemap.kind == "sitemapindex" else "max_sitemap_urls"
        entries = sitemap.entries[: self.bound(name)]
        cut = sitemap.cut + len(sitemap.entries) - len(entries)
        if cut:
            crawl.inc("sitemap/entries_cut", cut)
            self.bound_reached(name, response.url)
        if sitemap.kind == "sitemapindex":
            yield from self.children(entries, response)
            return
        self.answered = True
        for entry in entries:
            crawl.inc("sitemap/entries")
            candidate = Candidate(
                entry.loc, lastmod=entry.lastmod, published=entry.published, source="sitemap"
            )
            if self.source.lends:
                if crawl.own_url(entry.loc):
                    crawl.lend(candidate)
                else:
                    crawl.inc("foreign/sitemap")
            else:
                crawl.add(candidate)

    def children(
        self, entries: Iterable[sitemaplib.SitemapEntry], response: Response
    ) -> Iterator[scrapy.Request]:
        crawl = self.crawl
        depth = response.meta.get("sitemap_depth", 1) + 1
        for entry in entries:
            url = entry.loc
            if url in self.seen:
                continue
            if not crawl.own_url(url):
                crawl.inc("foreign/sitemap_index")
                continue
            if not sitemaplib.wanted_child(url, self.follow_re, self.skip_re):
                continue
            if crawl.since and entry.lastmod and entry.lastmod < crawl.since:
                continue  # nothing in it changed since the bound
            if depth > self.bound("max_sitemap_depth"):
                self.bound_reached("max_sitemap_depth", url)
                return
            if len(self.seen) >= self.bound("max_sitemaps"):
                self.bound_reached("max_sitemaps", url)
                return
            yield self.sitemap_request(url, child=True, depth=depth)

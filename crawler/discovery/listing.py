"""``Listing``: HTML listing pages (home, category, archive), the source of last resort.

A listing pages through a URL template (``/?page={n}``, ``/page/{n}/``: a numbers-only
pager has no "next" link) or, without one, the page's next link (``rel=next``, common
pagination classes). Article links are the ``link_css`` matches (else every link, filtered
by the spider's ``article_url_pattern``), resolved against ``<base href>``; a ``date_css``
in a link's card gives its date, used for ``since``.

Newest first: in an incremental crawl the walk stops at the first page whose articles are
all known (``stop_at_known``), or older than ``since``; such a walk is not exhaustive. One
walked to its last page (no next page, or a template page with no links or a 404), with no
bound reached and no page failed, vouches for every article: a listings-only site then
gets deletion checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from scrapy.http import Response

from crawler.discovery.decision import Candidate
from crawler.discovery.parse import listings as listinglib
from crawler.discovery.sources import Source, Walk

# Template pages past the last one may answer these: the end of the listing, not a failure.
PAST_THE_END = (404, 410)


@dataclass(frozen=True, slots=True)
class Listing(Source):
    url: str = "/"  # the first page
    pages: str | None = None  # later pages, ``{n}`` the page number (2, 3, ...); None: next link
    link_css: str | None = None  # article links on a page
    date_css: str | None = None  # an article's date in its card
    stop_at_known: bool = True  # incremental crawls stop at a page of known articles
    max_listing_pages: int = 2000  # pages followed

    kind: ClassVar[str] = "listing"
    gives_lastmod: ClassVar[bool] = False
    bounds: ClassVar[tuple[str, ...]] = ("max_listing_pages",)

    def walk(self, crawl: Any) -> ListingWalk:
        return ListingWalk(self, crawl)


class ListingWalk(Walk):
    source: Listing

    def __init__(self, source: Listing, crawl: Any) -> None:
        super().__init__(source, crawl)
        self.pages_read = 0

    def start(self) -> Iterator[Any]:
        yield self.page_request(self.crawl.absolute(self.source.url), 1)

    def page_request(self, url: str, number: int) -> Any:
        meta: dict[str, Any] = {"listing_page": number}
        if number > 1 and self.source.pages:
            meta["handle_httpstatus_list"] = list(PAST_THE_END)
        return self.request(url, self.parse, meta=meta)

    def parse(self, response: Response) -> Iterator[Any]:
        crawl = self.crawl
        number = response.meta.get("listing_page", 1)
        if response.status in PAST_THE_END:
            return  # a template page past the last one: the walk reached the end
        self.pages_read += 1
        crawl.inc("listing/pages")
        links = listinglib.article_links(
            response.text,
            response.url,
            crawl.spider.allowed_domains,
            link_css=self.source.link_css,
            article_url=crawl.article_url_re,
            timezone=crawl.timezone,
            date_css=self.source.date_css,
        )
        self.answered = True
        if not links and self.source.pages and number > 1:
            return  # an empty template page: the end
        unknown = older = 0
        for link, published in links:
            if not crawl.known.knows_url(link):
                unknown += 1
            if crawl.since and published and published < crawl.since:
                older += 1
            crawl.add(Candidate(link, published=published, source="listing"), authoritative=False)
        # Newest first: once a whole page is older than `since`, or known, so is the rest.
        if older and older == len(links):
            self.exhaustive = False
            return
        if self.source.stop_at_known and len(crawl.known) and not unknown:
            self.exhaustive = False
            return
        following = self.next_url(response, number, bool(links))
        if following is None:
            return
        if self.pages_read >= self.bound("max_listing_pages"):
            self.bound_reached("max_listing_pages", following)
            return
        yield self.page_request(following, number + 1)

    def next_url(self, response: Response, number: int, had_links: bool) -> str | None:
        if self.source.pages:
            return (
                self.crawl.absolute(self.source.pages.format(n=number + 1)) if had_links else None
            )
        return listinglib.next_page(response.text, response.url)

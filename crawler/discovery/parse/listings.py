"""HTML listings (category and archive pages): the discovery of last resort.

Listings change with every theme, so a site declares what an article link looks like
(a CSS selector, or a URL pattern); pagination is found the ways themes commonly mark it.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urljoin

from parsel import Selector

from crawler.extract.dates import parse_arabic_datetime, parse_iso_datetime
from crawler.extract.urls import same_site

# How far up from a link its card (the element holding its date) may be.
MAX_CARD_DEPTH = 6

# How themes mark "next page": the HTML link relation, then common pagination classes.
NEXT_PAGE_XPATHS = (
    "//link[@rel='next']/@href",
    "//a[@rel='next']/@href",
    "//a[contains(concat(' ', normalize-space(@class), ' '), ' next ')]/@href",
    "//a[contains(@class, 'next')]/@href",
)


def article_links(
    html: str,
    page_url: str,
    domains: tuple[str, ...] | list[str],
    *,
    link_css: str | None = None,
    article_url: re.Pattern[str] | None = None,
    timezone: str = "UTC",
    date_css: str | None = None,
) -> list[tuple[str, datetime | None]]:
    """``(article URL, date)`` on a listing page: URLs absolute (against ``<base href>`` when
    the page has one), in page order, each once; the date from ``date_css`` in the link's
    card (the nearest ancestor holding a match), else a ``<time datetime>`` in the link's
    ``<article>`` card (None without one)."""
    selector = Selector(text=html)
    base = base_url(selector, page_url)
    anchors = selector.css(link_css) if link_css else selector.xpath("//a[@href]")
    seen: set[str] = set()
    links = []
    for anchor in anchors:
        href = anchor.xpath("@href").get() or ""
        url = urljoin(base, href.strip())
        if not url.startswith(("http://", "https://")) or not same_site(url, domains):
            continue
        url = url.split("#", 1)[0]
        if article_url is not None and not article_url.search(url):
            continue
        if url not in seen:
            seen.add(url)
            if date_css:
                published = _card_date(anchor, date_css, timezone)
            else:
                stamp = anchor.xpath("ancestor::article[1]//time/@datetime").get()
                published = parse_iso_datetime(stamp, timezone) if stamp else None
            links.append((url, published))
    return links


def base_url(selector: Selector, page_url: str) -> str:
    """What relative links on the page resolve against: its ``<base href>``, else its URL."""
    href = selector.xpath("//base/@href").get()
    return urljoin(page_url, href.strip()) if href and href.strip() else page_url


def _card_date(anchor: Selector, date_css: str, timezone: str) -> datetime | None:
    node = anchor
    for _ in range(MAX_CARD_DEPTH):
        found = node.css(date_css)
        if found:
            element = found[0]
            value = (
                element.xpath("@datetime").get()
                or element.xpath("@content").get()
                or " ".join(element.xpath(".//text()").getall())
            )
            return parse_iso_datetime(value, timezone) or parse_arabic_datetime(value, timezone)
        parents = node.xpath("..")
        if not parents:
            return None
        node = parents[0]
    return None


def next_page(html: str, page_url: str) -> str | None:
    """The URL of the next listing page, if the page links one."""
    selector = Selector(text=html)
    base = base_url(selector, page_url)
    for xpath in NEXT_PAGE_XPATHS:
        href = selector.xpath(xpath).get()
        if href and href.strip():
            url = urljoin(base, href.strip())
            if url != page_url:
                return url
    return None

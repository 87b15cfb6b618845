"""HTML listings (category and archive pages): the discovery of last resort.

Listings change with every theme, so a site declares what an article link looks like
(a CSS selector, or a URL pattern); pagination is found the ways themes commonly mark it.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urljoin

from parsel import Selector

from crawler.extract.dates import parse_iso_datetime
from crawler.extract.urls import same_site

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
) -> list[tuple[str, datetime | None]]:
    """``(article URL, date)`` on a listing page: URLs absolute, in page order, each once; the
    date from a ``<time datetime>`` in the link's ``<article>`` card (None without one)."""
    selector = Selector(text=html)
    anchors = selector.css(link_css) if link_css else selector.xpath("//a[@href]")
    seen: set[str] = set()
    links = []
    for anchor in anchors:
        href = anchor.xpath("@href").get() or ""
        url = urljoin(page_url, href.strip())
        if not url.startswith(("http://", "https://")) or not same_site(url, domains):
            continue
        url = url.split("#", 1)[0]
        if article_url is not None and not article_url.search(url):
            continue
        if url not in seen:
            seen.add(url)
            stamp = anchor.xpath("ancestor::article[1]//time/@datetime").get()
            links.append((url, parse_iso_datetime(stamp, timezone) if stamp else None))
    return links


def next_page(html: str, page_url: str) -> str | None:
    """The URL of the next listing page, if the page links one."""
    selector = Selector(text=html)
    for xpath in NEXT_PAGE_XPATHS:
        href = selector.xpath(xpath).get()
        if href and href.strip():
            url = urljoin(page_url, href.strip())
            if url != page_url:
                return url
    return None

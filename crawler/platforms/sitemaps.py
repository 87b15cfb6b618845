"""Sitemaps (sitemaps.org protocol): robots.txt ``Sitemap:`` lines, indexes and url sets.

Pure functions over bytes, no Scrapy: the spider base decides what to request.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

from lxml import etree

_PARSER = etree.XMLParser(
    recover=True,
    resolve_entities=False,  # no XXE, no billion laughs
    no_network=True,
    huge_tree=True,  # archive sitemaps of 50,000 URLs are legal
    remove_comments=True,
    remove_pis=True,
)


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None


@dataclass(frozen=True, slots=True)
class Sitemap:
    kind: str  # "sitemapindex" or "urlset"
    entries: tuple[SitemapEntry, ...]


class NotASitemap(ValueError):
    """The body is not a sitemap (an HTML error page, a challenge, garbage)."""


def sitemap_urls_from_robots(robots_txt: bytes | str, base_url: str) -> list[str]:
    """The ``Sitemap:`` lines of a robots.txt, resolved against ``base_url``."""
    text = robots_txt.decode("utf-8", "replace") if isinstance(robots_txt, bytes) else robots_txt
    urls = []
    for line in text.splitlines():
        name, _, value = line.strip().partition(":")
        if name.strip().lower() == "sitemap" and value.strip():
            urls.append(urljoin(base_url, value.strip()))
    return urls


def parse_lastmod(value: str | None) -> datetime | None:
    """A W3C datetime (``2018-03-01``, ``2018-03-01T10:00:00+03:00``, ``...Z``), as aware UTC.

    A value without an offset is taken as UTC (what WordPress and Yoast emit is explicit).
    """
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def local_name(tag: object) -> str:
    """An element's name without its namespace (comments and PIs have none)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def xml_root(body: bytes, error: type[ValueError]) -> etree._Element:
    """The root of an XML document parsed safely (no entities, no network); ``error`` when
    the body is empty or not XML."""
    if not body.strip():
        raise error("empty body")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise error(str(exc)) from exc
    if root is None:
        raise error("no root element")
    return root


def parse_sitemap(body: bytes) -> Sitemap:
    """Parse a sitemap index or url set (gzip-compressed or not)."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    root = xml_root(body, NotASitemap)
    if local_name(root.tag) not in ("sitemapindex", "urlset"):
        raise NotASitemap(f"root element {local_name(root.tag)!r}")
    entries = []
    for element in root:
        if local_name(element.tag) not in ("sitemap", "url"):
            continue
        fields = {local_name(child.tag): (child.text or "").strip() for child in element}
        if fields.get("loc"):
            entries.append(SitemapEntry(fields["loc"], parse_lastmod(fields.get("lastmod"))))
    return Sitemap(local_name(root.tag), tuple(entries))


def wanted_child(
    url: str, follow: re.Pattern[str] | None = None, skip: re.Pattern[str] | None = None
) -> bool:
    """Whether a child sitemap of an index lists articles (posts), not pages/users/terms."""
    if skip is not None and skip.search(url):
        return False
    return follow is None or bool(follow.search(url))

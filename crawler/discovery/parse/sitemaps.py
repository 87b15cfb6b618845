"""Sitemaps (sitemaps.org protocol): robots.txt ``Sitemap:`` lines, indexes and url sets.

Pure functions over bytes, no Scrapy: the spider base decides what to request.
"""

from __future__ import annotations

import re
import zlib
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


# A compressed sitemap inflated past this is a decompression bomb (Scrapy's DOWNLOAD_MAXSIZE
# bounds a declared Content-Encoding the same way).
DEFAULT_MAX_DECOMPRESSED = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None
    published: datetime | None = None  # a Google News sitemap's <news:publication_date>


@dataclass(frozen=True, slots=True)
class Sitemap:
    kind: str  # "sitemapindex" or "urlset"
    entries: tuple[SitemapEntry, ...]
    damage: str | None = None  # why entries may be missing (XmlDocument.damage)
    cut: int = 0  # entries left out past ``max_entries``


class NotASitemap(ValueError):
    """The body is not a sitemap (an HTML error page, a challenge, garbage)."""


class BodyTooLarge(ValueError):
    """A compressed body decompresses past its bound (a decompression bomb)."""


# libxml2 errors it recovers from without losing content: a bare ``&`` in a URL (``&b=2``,
# ``& ``), an HTML entity such as ``&nbsp;``. Any other error may have cut the document short.
HARMLESS_XML_ERRORS = frozenset(
    {"ERR_ENTITYREF_SEMICOL_MISSING", "ERR_UNDECLARED_ENTITY", "WAR_UNDECLARED_ENTITY"}
)
HARMLESS_XML_MESSAGES = ("xmlParseEntityRef: no name",)  # ERR_NAME_REQUIRED after a bare "&"


def _harmless(error: etree._LogEntry) -> bool:
    return error.level_name not in ("ERROR", "FATAL") or (
        error.type_name in HARMLESS_XML_ERRORS or error.message.startswith(HARMLESS_XML_MESSAGES)
    )


@dataclass(frozen=True, slots=True)
class XmlDocument:
    root: etree._Element
    # libxml2's first error that may have lost content (an entity amplification limit, a
    # cut-off body): what follows it is missing, so the document is no complete listing.
    damage: str | None = None


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


def xml_document(body: bytes, error: type[ValueError]) -> XmlDocument:
    """An XML document parsed safely (no entities, no network), with any damage libxml2
    recovered from; ``error`` when the body is empty or not XML."""
    if not body.strip():
        raise error("empty body")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise error(str(exc)) from exc
    if root is None:
        raise error("no root element")
    damage = next(
        (
            f"{e.type_name} line {e.line}: {e.message.strip()}"
            for e in _PARSER.error_log
            if not _harmless(e)
        ),
        None,
    )
    return XmlDocument(root, damage)


def gunzip(body: bytes, max_bytes: int) -> bytes:
    """A gzip body decompressed, ``BodyTooLarge`` past ``max_bytes`` (never more in memory)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise NotASitemap(f"bad gzip: {exc}") from exc
    if len(data) > max_bytes:
        raise BodyTooLarge(f"decompresses past {max_bytes} bytes ({len(body)} compressed)")
    return data


def parse_sitemap(
    body: bytes,
    *,
    max_entries: int | None = None,
    max_bytes: int = DEFAULT_MAX_DECOMPRESSED,
) -> Sitemap:
    """Parse a sitemap index or url set (gzip-compressed or not: a ``.xml.gz`` is served
    without ``Content-Encoding``); at most ``max_entries`` entries, the rest counted in
    ``cut``; ``BodyTooLarge`` when a compressed body inflates past ``max_bytes``."""
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, max_bytes)
    document = xml_document(body, NotASitemap)
    root = document.root
    if local_name(root.tag) not in ("sitemapindex", "urlset"):
        raise NotASitemap(f"root element {local_name(root.tag)!r}")
    entries = []
    cut = 0
    for element in root:
        if local_name(element.tag) not in ("sitemap", "url"):
            continue
        fields = {local_name(child.tag): (child.text or "").strip() for child in element}
        if not fields.get("loc"):
            continue
        if max_entries is not None and len(entries) >= max_entries:
            cut += 1
            continue
        published = next(
            (
                parse_lastmod(e.text)
                for e in element.iter()
                if local_name(e.tag) == "publication_date"
            ),
            None,
        )
        entries.append(SitemapEntry(fields["loc"], parse_lastmod(fields.get("lastmod")), published))
    return Sitemap(local_name(root.tag), tuple(entries), document.damage, cut)


def wanted_child(
    url: str, follow: re.Pattern[str] | None = None, skip: re.Pattern[str] | None = None
) -> bool:
    """Whether a child sitemap of an index lists articles (posts), not pages/users/terms."""
    if skip is not None and skip.search(url):
        return False
    return follow is None or bool(follow.search(url))

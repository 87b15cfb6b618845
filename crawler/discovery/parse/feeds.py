"""RSS 2.0 and Atom feeds: which article URLs a feed lists, and under which spellings.

Feed links often carry tracking parameters (``?utm_source=rss``) and WordPress puts the
``/?p=ID`` shortlink in ``<guid>``: both are URLs the article is known under.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from crawler.discovery.parse.sitemaps import local_name, parse_lastmod, xml_document


@dataclass(slots=True)
class FeedEntry:
    link: str
    guid: str | None = None  # only when it is a URL (WordPress: https://site/?p=ID)
    published: datetime | None = None
    updated: datetime | None = None
    title: str | None = None
    urls: list[str] = field(default_factory=list)  # link and guid, as written


class NotAFeed(ValueError):
    """The body is neither RSS nor Atom."""


@dataclass(slots=True)
class Feed:
    entries: list[FeedEntry]
    damage: str | None = None  # why entries may be missing (sitemaps.XmlDocument.damage)
    cut: int = 0  # entries left out past ``max_entries``


def _rfc822(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return parse_lastmod(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _is_url(value: str | None) -> bool:
    return bool(value) and value.startswith(("http://", "https://"))


def parse_feed(body: bytes) -> list[FeedEntry]:
    """The entries of an RSS 2.0 or Atom document, in document order."""
    return read_feed(body).entries


# The XML declaration, whose ``encoding=`` must go once the body is re-encoded as UTF-8.
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")


def http_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, when it names a known codec."""
    if not content_type:
        return None
    message = Message()
    message["Content-Type"] = content_type
    charset = message.get_param("charset")
    if not isinstance(charset, str):
        return None
    try:
        return codecs.lookup(charset.strip()).name
    except LookupError:
        return None


def as_utf8(body: bytes, encoding: str) -> bytes:
    """The feed re-encoded as UTF-8 from ``encoding``, its XML declaration dropped (it would
    name the old encoding). Undecodable bytes become U+FFFD rather than losing the feed."""
    text = body.decode(encoding, "replace").lstrip("\ufeff").encode("utf-8")
    return _XML_DECLARATION.sub(b"", text, count=1)


def read_feed(
    body: bytes,
    max_entries: int | None = None,
    *,
    encoding: str | None = None,
    content_type: str | None = None,
) -> Feed:
    """``parse_feed`` with its damage and at most ``max_entries`` entries (the rest counted).

    The encoding: ``encoding`` (a site's declaration), else the ``charset`` of the HTTP
    ``content_type`` (which overrides the document's own, RFC 7303), else the XML
    declaration, else UTF-8."""
    chosen = encoding or http_charset(content_type)
    if chosen:
        body = as_utf8(body, chosen)
    document = xml_document(body, NotAFeed)
    root = document.root
    if local_name(root.tag) not in ("rss", "feed", "RDF"):
        raise NotAFeed("not RSS or Atom")
    entries = []
    cut = 0
    for element in root.iter():
        name = local_name(element.tag)
        if name == "item":
            fields = {local_name(c.tag): (c.text or "").strip() for c in element}
            link, guid = fields.get("link", ""), fields.get("guid")
            published, updated = _rfc822(fields.get("pubDate")), None
        elif name == "entry":  # Atom
            link = ""
            for child in element:
                if local_name(child.tag) == "link" and child.get("rel", "alternate") == "alternate":
                    link = child.get("href", "")
                    break
            fields = {local_name(c.tag): (c.text or "").strip() for c in element}
            guid = fields.get("id")
            published = parse_lastmod(fields.get("published"))
            updated = parse_lastmod(fields.get("updated"))
        else:
            continue
        if not _is_url(link):
            continue
        if max_entries is not None and len(entries) >= max_entries:
            cut += 1
            continue
        guid = guid if _is_url(guid) else None
        urls = [link] + ([guid] if guid and guid != link else [])
        entries.append(FeedEntry(link, guid, published, updated, fields.get("title"), urls))
    return Feed(entries, document.damage, cut)

"""A stored response → the article, exactly as the spider extracted it when it was fetched.

The one way back from evidence to fields, used by ``akhbar extract`` (a saved page) and to
re-extract archived ``page_snapshots`` rows (after an extractor upgrade, or to check one):

* a WordPress REST post (the JSON entry a REST crawl stores under ``/wp-json/wp/v2/posts/ID``)
  goes through ``crawler.extract.wordpress.extract_rest_post``;
* anything else is a page, through ``crawler.extract.page.extract_article``;

both with the extraction profile of the spider that owns the URL (or the one named). Raises
``NotAnArticle`` when the response holds no article.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crawler.extract.page import ExtractedArticle, NotAnArticle, extract_article
from crawler.extract.profile import profile_for
from crawler.extract.wordpress import extract_rest_post

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_REST_POST_URL = re.compile(r"/wp-json/wp/v2/posts/\d+|[?&]rest_route=[^&]*/wp/v2/posts/\d+")


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header's value from a stored header mapping (names compared case-insensitively)."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value if isinstance(value, str) else ", ".join(value)
    return None


def is_rest_post(url: str, body: bytes, content_type: str | None = None) -> bool:
    """Whether a stored response is one WordPress REST post (JSON object) rather than a page."""
    head = body.lstrip()[:1]
    if content_type and "json" in content_type.lower():
        return head == b"{"
    return head == b"{" and bool(_REST_POST_URL.search(url))


def extract_snapshot(
    body: bytes,
    url: str,
    fetched_at: datetime,
    *,
    site: str | None = None,
    headers: Mapping[str, Any] | None = None,
    encoding: str | None = None,
) -> tuple[str | None, ExtractedArticle]:
    """``(spider name, article)`` of a stored response (``body`` undecoded, as received).

    ``site`` names the spider (default: the one whose domains hold ``url``); ``encoding``
    overrides the charset of the ``Content-Type`` in ``headers``. ``KeyError`` for an
    unknown spider name, ``NotAnArticle`` when there is no article."""
    name, profile = profile_for(url, site)
    content_type = header(headers, "Content-Type")
    if is_rest_post(url, body, content_type):
        try:
            post = json.loads(body)
        except ValueError as exc:
            raise NotAnArticle("empty_page", f"broken JSON: {exc}") from exc
        if not isinstance(post, dict) or "id" not in post:
            raise NotAnArticle("empty_page", "JSON without a post")
        return name, extract_rest_post(post, fetched_at, profile)
    if encoding is None and content_type:
        match = _CHARSET.search(content_type)
        encoding = match.group(1) if match else None
    return name, extract_article(body, url, fetched_at, profile, encoding=encoding)


def stored_body(body: bytes, compression: str | None) -> bytes:
    """The uncompressed body of a ``page_snapshots`` row."""
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompress(body)
    if compression in (None, "", "none", "identity"):
        return body
    raise ValueError(f"unknown snapshot compression {compression!r}")


def reextract(row: Any, site: str | None = None) -> tuple[str | None, ExtractedArticle]:
    """Re-extract a ``page_snapshots`` row (anything with ``url``, ``headers``, ``body``,
    ``compression`` and ``fetched_at``), as its spider did when it was fetched."""
    body = stored_body(bytes(row.body), row.compression)
    return extract_snapshot(
        body, row.url, row.fetched_at, site=site, headers=dict(row.headers or {})
    )

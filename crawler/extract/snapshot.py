"""A stored response → the article, exactly as the spider extracted it when it was fetched.

The one way back from evidence to fields, used by ``akhbar extract`` (a saved page) and to
re-extract archived fetches (after an extractor upgrade, or to check one):

* with an entry pointer (``article_revisions.fetch_entry``, e.g. ``/17``): the post at that
  JSON pointer in a WordPress REST list response, through
  ``crawler.extract.wordpress.extract_rest_post``;
* a single WordPress REST post (a JSON object; the synthetic entries REST crawls stored
  under ``/wp-json/wp/v2/posts/ID`` before fetch records existed) the same way;
* anything else is a page, through ``crawler.extract.page.extract_article``;

all with the page class given (the spider registry, ``crawler.spiders.page_for``, knows
which spider owns a URL; extraction knows no spiders). Raises ``NotAnArticle`` when
the response holds no article.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crawler.errors import NotAnArticle
from crawler.extract.page import DEFAULT_PAGE, ArticlePage, ExtractedArticle, extract_article
from crawler.extract.wordpress import extract_rest_post

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
    page: type[ArticlePage] = DEFAULT_PAGE,
    *,
    headers: Mapping[str, Any] | None = None,
    encoding: str | None = None,
    entry: str | None = None,
) -> ExtractedArticle:
    """The article in a stored response (``body`` as received, undecoded), extracted with
    ``page`` (its spider's page class). A page is decoded as the spider decoded it (``crawler.extract.page.decode_html``: the charset of
    the ``Content-Type`` in ``headers``, ``<meta>``, detection), ``encoding`` overrides it; ``entry`` is the JSON
    pointer of the post in a REST list response. ``NotAnArticle`` when there is no article."""
    content_type = header(headers, "Content-Type")
    if entry is not None:
        try:
            post = json_pointer(json.loads(body), entry)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise NotAnArticle("empty_page", f"no REST entry {entry}: {exc}") from exc
        if not isinstance(post, dict) or "id" not in post:
            raise NotAnArticle("empty_page", f"no post at {entry}")
        return extract_rest_post(post, fetched_at, page)
    if is_rest_post(url, body, content_type):
        try:
            post = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise NotAnArticle("empty_page", f"broken JSON: {exc}") from exc
        if not isinstance(post, dict) or "id" not in post:
            raise NotAnArticle("empty_page", "JSON without a post")
        return extract_rest_post(post, fetched_at, page)
    return extract_article(
        body, url, fetched_at, page, encoding=encoding, content_type=content_type
    )


def json_pointer(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 JSON pointer (``""`` is the whole document, ``/17`` the
    18th element of a list). ``ValueError`` when the pointer names nothing."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {pointer!r}")
    value = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list):
            if not token.isdigit() or int(token) >= len(value):
                raise ValueError(f"no element {token!r} in a list of {len(value)}")
            value = value[int(token)]
        elif isinstance(value, dict):
            if token not in value:
                raise ValueError(f"no member {token!r}")
            value = value[token]
        else:
            raise ValueError(f"nothing under {token!r} in a {type(value).__name__}")
    return value


def stored_body(body: bytes, compression: str | None) -> bytes:
    """The uncompressed body of a ``response_bodies`` row."""
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompress(body)
    if compression in (None, "", "none", "identity"):
        return body
    raise ValueError(f"unknown body compression {compression!r}")


# A revision's evidence: its fetch, that fetch's body and the entry pointer.
EVIDENCE_SQL = (
    "SELECT r.id AS revision_id, f.id AS fetch_id, f.url, f.fetched_at, f.response_headers,"
    " f.synthetic, r.fetch_entry, b.body, b.compression"
    " FROM article_revisions r JOIN fetches f ON f.id = r.fetch_id"
    " JOIN response_bodies b ON b.id = f.body_id"
)


def reextract(row: Any, page: type[ArticlePage] = DEFAULT_PAGE) -> ExtractedArticle:
    """Re-extract a revision's evidence with ``page``, as its spider did when it was
    fetched: anything with ``url``, ``response_headers``, ``body``, ``compression``,
    ``fetched_at`` and ``fetch_entry`` (a row of ``EVIDENCE_SQL``). With the spider that
    owns the URL: ``crawler.spiders.reextract``."""
    body = stored_body(bytes(row.body), row.compression)
    return extract_snapshot(
        body,
        row.url,
        row.fetched_at,
        page,
        headers=dict(row.response_headers or {}),
        entry=row.fetch_entry,
    )

"""WordPress REST post (``/wp-json/wp/v2/posts`` object, ideally with ``_embed``) → article.

The content HTML goes through the same ``clean_body`` as pages, so a post read from the
REST API and the same post read from its page give the same fields (and the same content
hash). Dates: ``date_gmt``/``modified_gmt`` are UTC; ``date``/``modified`` are the site's
local time, used only when the GMT forms are missing.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime
from typing import Any

import lxml.html

from crawler.extract.dates import parse_iso_datetime
from crawler.extract.html import clean_body
from crawler.extract.page import EXTRACTOR_VERSION, ExtractedArticle, NotAnArticle
from crawler.extract.profile import DEFAULT_PROFILE, ExtractionProfile
from crawler.extract.text import tidy

EXTRACTOR = "akhbar.wordpress-rest"
_TAG = re.compile(r"<[^>]+>")


def rendered_text(value: Any) -> str:
    """Text of a REST ``{"rendered": "..."}`` field (or a plain string): tags out, entities decoded."""
    if isinstance(value, dict):
        value = value.get("rendered", "")
    if not isinstance(value, str):
        return ""
    return tidy(htmllib.unescape(_TAG.sub("", value)))


def _gmt(post: dict[str, Any], gmt_key: str, local_key: str, tz: str) -> datetime | None:
    value = post.get(gmt_key)
    if isinstance(value, str) and value and not value.startswith("0000"):
        parsed = parse_iso_datetime(value, "UTC")
        if parsed:
            return parsed.astimezone(UTC)
    value = post.get(local_key)
    if isinstance(value, str) and value:
        return parse_iso_datetime(value, tz)
    return None


def _terms(post: dict[str, Any], taxonomy: str) -> list[str]:
    names: list[str] = []
    for group in (post.get("_embedded") or {}).get("wp:term") or []:
        for term in group or []:
            if isinstance(term, dict) and term.get("taxonomy") == taxonomy and term.get("name"):
                name = rendered_text(term["name"])
                if name and name not in names:
                    names.append(name)
    return names


def _yoast(post: dict[str, Any]) -> dict[str, Any]:
    value = post.get("yoast_head_json")
    return value if isinstance(value, dict) else {}


def _authors(post: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for author in (post.get("_embedded") or {}).get("author") or []:
        if isinstance(author, dict) and author.get("name"):
            name = rendered_text(author["name"])
            if name and name not in names:
                names.append(name)
    if not names:
        yoast_author = _yoast(post).get("author")
        if isinstance(yoast_author, str) and yoast_author.strip():
            names.append(tidy(yoast_author))
    return names


def _image(post: dict[str, Any]) -> str | None:
    for media in (post.get("_embedded") or {}).get("wp:featuredmedia") or []:
        if isinstance(media, dict) and isinstance(media.get("source_url"), str):
            return media["source_url"]
    for image in _yoast(post).get("og_image") or []:
        if isinstance(image, dict) and isinstance(image.get("url"), str):
            return image["url"]
    value = post.get("jetpack_featured_media_url")
    return value if isinstance(value, str) and value else None


def extract_rest_post(
    post: dict[str, Any],
    fetched_at: datetime,
    profile: ExtractionProfile = DEFAULT_PROFILE,
    *,
    site_names: tuple[str, ...] = (),
) -> ExtractedArticle:
    """The article in one REST post object; ``NotAnArticle`` for drafts and empty posts."""
    status = post.get("status", "publish")
    if status != "publish":
        raise NotAnArticle("not_published", str(status))
    link = post.get("link")
    if not isinstance(link, str) or not link:
        raise NotAnArticle("no_link")
    title = rendered_text(post.get("title"))
    if not title:
        raise NotAnArticle("no_title")
    content = (post.get("content") or {}).get("rendered") or ""
    if (post.get("content") or {}).get("protected"):
        raise NotAnArticle("protected")
    root = lxml.html.fragment_fromstring(content, create_parent="div") if content.strip() else None
    if root is None:
        raise NotAnArticle("empty_body")
    names = (*profile.site_names, *site_names)
    body = clean_body(root, link, profile, title=title, site_names=names)
    if not body.text:
        raise NotAnArticle("empty_body")
    if len(body.text) < profile.min_body_chars:
        raise NotAnArticle("short_body", f"{len(body.text)} characters")

    yoast = _yoast(post)
    canonical = yoast.get("canonical") if isinstance(yoast.get("canonical"), str) else None
    categories = _terms(post, "category")
    post_id = post.get("id")
    urls = []
    guid = rendered_text(post.get("guid"))
    if guid and guid != (canonical or link):
        urls.append(guid)  # WordPress's guid is the ?p=ID shortlink
    if canonical and canonical != link:
        urls.append(link)
    return ExtractedArticle(
        url=link,
        canonical_url=canonical or link,
        fetched_at=fetched_at,
        title=title,
        body_text=body.text,
        body_html=body.html or None,
        subtitle=None,
        authors=_authors(post),
        published_at=_gmt(post, "date_gmt", "date", profile.timezone),
        modified_at=_gmt(post, "modified_gmt", "modified", profile.timezone),
        section=categories[0] if categories else None,
        tags=_terms(post, "post_tag"),
        image_url=_image(post),
        language=profile.language,
        external_id=str(post_id) if post_id is not None else None,
        urls=urls,
        extractor=EXTRACTOR,
        extractor_version=EXTRACTOR_VERSION,
    )

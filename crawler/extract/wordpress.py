"""WordPress REST post (``/wp-json/wp/v2/posts`` object, ideally with ``_embed``) → article.

The content HTML goes through the same ``clean_body`` as pages, so a post read from the
REST API and the same post read from its page give the same fields (and the same content
hash). Dates: ``date_gmt``/``modified_gmt`` are UTC; ``date``/``modified`` are the site's
local time, used only when the GMT forms are missing.

Any JSON may arrive where a post is expected: a member of the wrong type is treated as
missing, and a post whose content is not a ``{"rendered": ...}`` object is
``NotAnArticle("malformed")``.
"""

from __future__ import annotations

import html as htmllib
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from crawler.errors import NotAnArticle
from crawler.extract.dates import parse_iso_datetime
from crawler.extract.html import TooDeep, clean_body, parse_fragment
from crawler.extract.language import script_language
from crawler.extract.page import DEFAULT_PAGE, ArticlePage, ExtractedArticle
from crawler.extract.profile import ExtractionProfile
from crawler.extract.text import storable_json, tidy
from crawler.extract.verdict import body_problem

EXTRACTOR = "akhbar.wordpress-rest"
# Bump when the output for the same post changes; the revision's extractor_version is
# ``<this>/<the site's site_version>``.
REST_VERSION = 3  # 3: credit lines are body; script language
_TAG = re.compile(r"<[^>]+>")


def rendered_text(value: Any) -> str:
    """Text of a REST ``{"rendered": "..."}`` field (or a plain string): tags out, entities decoded."""
    if isinstance(value, dict):
        value = value.get("rendered", "")
    if not isinstance(value, str):
        return ""
    return tidy(htmllib.unescape(_TAG.sub("", value)))


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _array(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _embedded(post: dict[str, Any], key: str) -> list[Any]:
    return _array(_object(post.get("_embedded")).get(key))


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
    for group in _embedded(post, "wp:term"):
        for term in _array(group):
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
    for author in _embedded(post, "author"):
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
    for media in _embedded(post, "wp:featuredmedia"):
        if isinstance(media, dict) and isinstance(media.get("source_url"), str):
            return media["source_url"]
    for image in _array(_yoast(post).get("og_image")):
        if isinstance(image, dict) and isinstance(image.get("url"), str):
            return image["url"]
    value = post.get("jetpack_featured_media_url")
    return value if isinstance(value, str) and value else None


def extract_rest_post(
    post: dict[str, Any],
    fetched_at: datetime,
    page: type[ArticlePage] = DEFAULT_PAGE,
) -> ExtractedArticle:
    """The article in one REST post object, cleaned with the site's ``page`` profile;
    ``NotAnArticle`` for
    drafts, empty posts and JSON that is not a post. NUL and lone surrogates in its
    strings (JSON escapes allow both) are taken out first and counted in
    ``text_repairs``."""
    version = f"{REST_VERSION}/{page.site_version}"
    try:
        return _extract_rest_post(post, fetched_at, page.profile, version)
    except (TooDeep, RecursionError) as exc:  # libxml2's hard limit, or Python's in the walks
        raise NotAnArticle("too_deep", "nested deeper than the extractor reads") from exc


def _extract_rest_post(
    post: dict[str, Any],
    fetched_at: datetime,
    profile: ExtractionProfile,
    version: str,
) -> ExtractedArticle:
    if not isinstance(post, dict):
        raise NotAnArticle("malformed", f"a post is an object, not {type(post).__name__}")
    repairs: Counter[str] = Counter()
    post = storable_json(post, repairs)
    status = post.get("status", "publish")
    if status != "publish":
        raise NotAnArticle("not_published", str(status)[:80])
    link = post.get("link")
    if not isinstance(link, str) or not link:
        raise NotAnArticle("no_link")
    title = rendered_text(post.get("title"))
    if not title:
        raise NotAnArticle("no_title")
    content = post.get("content")
    content = {} if content is None else content
    if not isinstance(content, dict) or not isinstance(content.get("rendered", ""), str):
        raise NotAnArticle("malformed", 'content is not a {"rendered": ...} object')
    if content.get("protected"):
        raise NotAnArticle("protected")
    rendered = content.get("rendered") or ""
    if not rendered.strip():
        raise NotAnArticle("empty_body")
    root = parse_fragment(rendered)
    # The body rule of crawler.extract.page.ArticlePage.body: credit lines are body.
    body = clean_body(root, link, profile, title=title)
    problem = body_problem(body.text, min_chars=profile.min_body_chars)
    if problem:
        raise NotAnArticle(*problem)

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
        language=script_language(f"{title}\n{body.text}", profile.language),
        external_id=str(post_id) if isinstance(post_id, int | str) else None,
        urls=urls,
        extractor=EXTRACTOR,
        extractor_version=version,
        text_repairs=dict(repairs),
    )

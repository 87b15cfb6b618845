"""Whether something is an article: the one home of the challenge check, the not-an-article
page signals and the minimum body length.

Three places ask: the downloader (``crawler.middlewares.ChallengeMiddleware``, on raw
responses, so a challenge is never parsed, retried or taken for a deletion), extraction
(``crawler.extract.page``, on the parsed page) and the validate pipeline (on the item, the
last line before the archive). Each asks here, with what it has.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html

from crawler.extract.text import tidy

# Shorter is not an article. Low on purpose: a breaking-news post ("عاجل | ...") can be one
# sentence; error, challenge and listing pages are recognised by other means.
MIN_BODY_CHARS = 25

# --- bot challenges ------------------------------------------------------------------

# Titles of interstitial bot challenges and WAF block pages.
CHALLENGE_TITLE = re.compile(
    r"^\s*(?:just a moment|attention required!? \| cloudflare|please wait\.*\s*\| cloudflare|"
    r"checking your browser|ddos-guard|one more step|access denied|security check|"
    r"sucuri website firewall|يرجى الانتظار|لحظة من فضلك)",
    re.I,
)
# What only challenge pages carry, in their markup or their visible text (lower case; a
# plain substring test is cheap enough for every response).
CHALLENGE_MARKERS = (
    "challenge-platform",
    "cf-chl",
    "cf_chl_",
    "jschl",
    "cf-browser-verification",
    "challenge-form",
    "_incapsula_resource",
    "request unsuccessful. incapsula",
    "ddos-guard",
    "ddos protection by",
    "sucuri website firewall",
    "checking your browser before accessing",
    "attention required! | cloudflare",
    "enable javascript and cookies to continue",
    "<title>just a moment...</title>",
    "verify you are human",
    "verify you are a human",
)
# Challenge pages are small: a big page carrying a marker (an article quoting one) is
# content. Bytes of a response scanned, and visible characters of a parsed page.
CHALLENGE_MAX_BYTES = 32 * 1024
CHALLENGE_MAX_VISIBLE = 1500


def is_challenge_text(title: str, text: str) -> bool:
    """Whether a title and some text (page source or extracted text) are a bot challenge's."""
    if CHALLENGE_TITLE.match(title):
        return True
    lowered = text.lower()
    return lowered.lstrip().startswith("just a moment...") or any(
        marker in lowered for marker in CHALLENGE_MARKERS
    )


_TITLE_TAG = re.compile(rb"<title[^>]*>([^<]{0,300})", re.I)


def is_challenge_response(
    status: int, body: bytes, content_type: str = "", cf_mitigated: str = ""
) -> bool:
    """Whether a raw HTTP response is a bot challenge or WAF block page rather than content.
    Only small pages or error answers are scanned (article pages are 30-60 KB)."""
    if cf_mitigated.lower() == "challenge":
        return True
    if content_type and "html" not in content_type.lower():
        return False
    if len(body) > CHALLENGE_MAX_BYTES and status < 400:
        return False
    head = body[:CHALLENGE_MAX_BYTES]
    found = _TITLE_TAG.search(head)
    title = found.group(1).decode("utf-8", "replace") if found else ""
    return is_challenge_text(title, head.decode("utf-8", "replace"))


# --- pages that are not articles ---------------------------------------------------

_REDIRECT_TITLE = re.compile(
    r"^\s*(?:30[1278]\s+)?(?:moved permanently|found|document has moved|object moved|redirect(?:ing)?|"
    r"temporary redirect|permanent redirect|see other)\s*\.?\s*$",
    re.I,
)
# Error-page titles; numbers alone never count (news titles are full of them: "مقتل 500 عنصر").
_ERROR_TITLE = re.compile(
    r"^\W*(?:error\s*)?(?:404|410|500|502|503)\W*(?:$|[-–|:]|not found|page|error|خطأ)|"
    r"\b(?:error|خطأ)\s*(?:404|410|500|502|503)\b|page not found|nothing found|^\W*not found|"
    r"الصفحة غير موجودة|صفحة غير موجودة|الصفحة المطلوبة غير|لم يتم العثور على الصفحة|"
    r"الصفحة التي تبحث عنها|server error|service unavailable",
    re.I,
)
_LOGIN_TITLE = re.compile(r"log ?in|sign ?in|تسجيل الدخول", re.I)
# WordPress body classes of pages that list posts.
_LISTING_BODY_CLASSES = frozenset(
    {"archive", "category", "tag", "search", "search-results", "blog", "home", "author", "date"}
)
_LISTING_PATH = re.compile(
    r"^/(?:[a-z]{2}/)?(?:category|tag|author|search|topics?)/|/page/\d+/?$", re.I
)
LISTING_TYPES = frozenset({"CollectionPage", "SearchResultsPage", "ItemList"})
# A body whose text is mostly link text is a list of links, unless the page says it is an
# article.
MAX_LINK_SHARE = 0.6


def visible_text_len(doc: lxml.html.HtmlElement) -> int:
    body = doc.find("body")
    if body is None:
        return 0
    total = 0
    for node in body.iter():
        if not isinstance(node.tag, str) or node.tag.lower() in (
            "script",
            "style",
            "noscript",
            "template",
        ):
            continue
        if node.text:
            total += len(node.text.strip())
        if node.tail:
            total += len(node.tail.strip())
    return total


def page_problem(
    doc: lxml.html.HtmlElement,
    source: str,
    url: str,
    *,
    declares_article: bool,
    og_type: str | None,
    jsonld_types: set[str],
) -> tuple[str, str] | None:
    """``(reason, detail)`` when a parsed page is not an article: ``challenge``,
    ``redirect_stub``, ``error_page``, ``login``, ``listing``; else None. ``source`` is
    the page's text, ``declares_article`` whether its structured data names an article."""
    title = tidy(doc.findtext(".//title") or "")
    size: list[int] = []

    def visible() -> int:  # counted only when a weak signal needs it
        if not size:
            size.append(visible_text_len(doc))
        return size[0]

    if CHALLENGE_TITLE.match(title) or (
        is_challenge_text("", source[:200_000]) and visible() < CHALLENGE_MAX_VISIBLE
    ):
        return "challenge", title or "challenge markers"
    refresh = any((m.get("http-equiv") or "").lower() == "refresh" for m in doc.iter("meta"))
    if _REDIRECT_TITLE.match(title) or (refresh and visible() < 500):
        return "redirect_stub", title or "meta refresh"
    body = doc.find("body")
    classes = set((body.get("class") or "").split()) if body is not None else set()
    if "error404" in classes or (
        not declares_article
        and og_type != "article"
        and _ERROR_TITLE.search(title)
        and visible() < 5000
    ):
        return "error_page", title or "error404"
    path = urlsplit(url).path
    if (
        "login" in classes
        or "wp-login.php" in path
        or doc.get_element_by_id("loginform", None) is not None
        or (
            _LOGIN_TITLE.search(title)
            and doc.xpath("//input[@type='password']")
            and visible() < 3000
        )
    ):
        return "login", title or path
    if declares_article or "single" in classes or any(c.startswith("postid-") for c in classes):
        return None
    if (
        jsonld_types & LISTING_TYPES
        or classes & _LISTING_BODY_CLASSES
        or _LISTING_PATH.search(path)
        or path.strip("/") in ("", "ar", "en")
    ):
        return "listing", path or "/"
    return None


def body_problem(
    text: str, *, min_chars: int = MIN_BODY_CHARS, link_share: float = 0.0
) -> tuple[str, str] | None:
    """``(reason, detail)`` when an extracted body is no article's: ``empty_body``,
    ``short_body`` (under ``min_chars``), ``listing`` (``link_share`` of its text is link
    text above ``MAX_LINK_SHARE``; pass 0 when the page declares an article)."""
    if not text:
        return "empty_body", ""
    if len(text) < min_chars:
        return "short_body", f"{len(text)} characters"
    if link_share > MAX_LINK_SHARE:
        return "listing", "content is mostly links"
    return None


def item_problem(
    title: str, body: str, *, min_chars: int = MIN_BODY_CHARS
) -> tuple[str, str] | None:
    """``(reason, detail)`` when an extracted article must not be archived after all:
    ``missing_title``, ``challenge`` (challenge text in its title or body), ``short_body``."""
    title, body = title.strip(), body.strip()
    if not title:
        return "missing_title", ""
    if is_challenge_text(title, body[:2000]):
        return "challenge", ""
    if len(body) < min_chars:
        return "short_body", f"{len(body)} characters"
    return None


__all__ = [
    "CHALLENGE_MARKERS",
    "CHALLENGE_TITLE",
    "MIN_BODY_CHARS",
    "body_problem",
    "is_challenge_response",
    "is_challenge_text",
    "item_problem",
    "page_problem",
    "visible_text_len",
]

"""Page → article fields: a pure function of (html, url, fetched_at, profile).

Precedence per field: a selector the site's profile declares (it is declared because the
structured data is wrong or missing there), then structured data (JSON-LD
NewsArticle/Article/BlogPosting including Yoast/RankMath ``@graph``, OpenGraph and
``article:*`` meta, ``link rel=canonical``/``shortlink``), then the theme's usual markup. The
body comes from the profile's body selectors, cleaned by ``crawler.extract.html.clean_body``;
trafilatura is the last resort when no selector finds text.

``extract_article`` returns an ``ExtractedArticle`` (everything but the spider's name);
``ExtractedArticle.to_item(site)`` makes the ``ArticleItem``. A page that is not an article
(challenge, error, listing, login, redirect stub, empty body) raises ``NotAnArticle``.
"""

from __future__ import annotations

import html as htmllib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import charset_normalizer
import lxml.html
from lxml import etree
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

from crawler.errors import NotAnArticle
from crawler.extract.dates import parse_arabic_datetime
from crawler.extract.html import (
    MAX_PAGE_BYTES,
    CleanBody,
    TooDeep,
    clean_body,
    inline_text,
    parse_document,
    parse_fragment,
    select,
)
from crawler.extract.profile import DEFAULT_PROFILE, ExtractionProfile
from crawler.extract.text import loads_storable, storable, strip_site_suffix, tidy
from crawler.items import REVISION_FIELDS, ArticleItem, Fetch

EXTRACTOR = "akhbar.page"
# Bump when the output for the same input changes (re-extraction compares versions).
EXTRACTOR_VERSION = "2"  # 2: plain-text share lines dropped; wp-post-image as image

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "BlogPosting",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "LiveBlogPosting",
        "Report",
        "SatiricalArticle",
    }
)
LISTING_TYPES = frozenset({"CollectionPage", "SearchResultsPage", "ItemList"})
# WordPress body classes of pages that list posts.
_LISTING_BODY_CLASSES = frozenset(
    {"archive", "category", "tag", "search", "search-results", "blog", "home", "author", "date"}
)
_LISTING_PATH = re.compile(
    r"^/(?:[a-z]{2}/)?(?:category|tag|author|search|topics?)/|/page/\d+/?$", re.I
)


# What an extraction answers: the ``article_revisions`` columns it fills, then identity.
FIELDS = (*REVISION_FIELDS, "canonical_url", "external_id")


@dataclass(slots=True)
class ExtractedArticle:
    url: str
    canonical_url: str
    fetched_at: datetime
    title: str
    body_text: str
    body_html: str | None = None
    subtitle: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    modified_at: datetime | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    language: str = "ar"
    external_id: str | None = None
    urls: list[str] = field(default_factory=list)  # other URLs naming this article
    site_name: str | None = None
    extractor: str = EXTRACTOR
    extractor_version: str = EXTRACTOR_VERSION
    # Characters PostgreSQL cannot store, taken out of the input: {"nul_removed": 2, ...}.
    text_repairs: dict[str, int] = field(default_factory=dict)

    def to_item(
        self, site: str, *, fetch: Fetch | None = None, fetch_entry: str | None = None
    ) -> ArticleItem:
        return ArticleItem(
            site=site,
            url=self.url,
            canonical_url=self.canonical_url,
            fetched_at=self.fetched_at,
            title=self.title,
            body_text=self.body_text,
            external_id=self.external_id,
            subtitle=self.subtitle,
            body_html=self.body_html,
            authors=list(self.authors),
            published_at=self.published_at,
            modified_at=self.modified_at,
            section=self.section,
            tags=list(self.tags),
            image_url=self.image_url,
            language=self.language,
            urls=list(self.urls),
            extractor=self.extractor,
            extractor_version=self.extractor_version,
            fetch=fetch,
            fetch_entry=fetch_entry,
            text_repairs=dict(self.text_repairs),
        )

    def fields(self) -> dict[str, Any]:
        """The article's fields as JSON values (datetimes ISO 8601 with their offset)."""
        return {name: _json_value(getattr(self, name)) for name in FIELDS}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return list(value) if isinstance(value, list) else value


# --- decoding and parsing -------------------------------------------------------------


# Encodings an undeclared page may be in: Syrian sites are UTF-8, old ones windows-1256.
LIKELY_ENCODINGS = ("utf_8", "cp1256")
# A declared encoding is believed unless more than this share of the text fails to decode
# (a stray byte in a big UTF-8 page is tolerated; a windows-1256 page declared UTF-8 is not).
_MAX_BAD_SHARE = 0.001
# charset-normalizer's "mess" a guess may have: above its default 0.2, since markup and
# percent-encoded Arabic URLs count as symbols (a real page's first chunks reach 0.33),
# well below what random bytes score.
_MAX_MESS = 0.5


def decode_html(
    data: str | bytes, encoding: str | None = None, content_type: str | None = None
) -> str:
    """Text of a page, the one decoding of crawls and re-extraction alike: the BOM, then
    ``encoding`` (an override), then the charset of the HTTP ``content_type``, then
    ``<meta charset>``/``http-equiv``; an undeclared page (or one whose declaration its
    bytes contradict) is UTF-8 when it decodes as such, else what charset-normalizer finds
    among ``LIKELY_ENCODINGS``. Raises ``NotAnArticle("undecodable")`` when nothing fits."""
    if isinstance(data, str):
        return data
    bom_encoding, bom = read_bom(data)
    if bom_encoding and bom:
        data = data[len(bom) :]
    for name in _declared_encodings(data, bom_encoding, encoding, content_type):
        text = _decode_declared(data, name) if name else None
        if text is not None:
            return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(
        data, cp_isolation=list(LIKELY_ENCODINGS), threshold=_MAX_MESS
    ).best()
    if best is None:
        raise NotAnArticle("undecodable", f"not text in {' or '.join(LIKELY_ENCODINGS)}")
    return str(best)


def _declared_encodings(
    data: bytes, bom_encoding: str | None, encoding: str | None, content_type: str | None
) -> Iterator[str | None]:
    """The declarations in order, each looked for only when the ones before do not decode
    (the ``<meta>`` search reads the page's head)."""
    yield bom_encoding
    yield encoding
    yield http_content_type_encoding(content_type) if content_type else None
    yield html_body_declared_encoding(data)


def _decode_declared(data: bytes, name: str) -> str | None:
    """``data`` in the encoding ``name`` (WHATWG labels), or None when it is unknown or
    the bytes contradict it."""
    codec = resolve_encoding(name)
    if codec is None:
        return None
    try:
        return data.decode(codec)
    except LookupError:
        return None
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
        return text if text.count("\ufffd") <= len(text) * _MAX_BAD_SHARE else None


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def parse_html(text: str) -> lxml.html.HtmlElement | None:
    text = _XML_DECL.sub("", text)
    if not text.strip():
        return None
    try:
        return parse_document(text)
    except (etree.ParserError, ValueError):
        return None


# --- structured data ----------------------------------------------------------------


def _types(node: dict[str, Any]) -> set[str]:
    t = node.get("@type")
    values = t if isinstance(t, list) else [t]
    return {v.rsplit("/", 1)[-1] for v in values if isinstance(v, str)}


def _walk_jsonld(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for v in value:
            yield from _walk_jsonld(v)
    elif isinstance(value, dict):
        yield value
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if isinstance(value.get(key), (list, dict)):
                yield from _walk_jsonld(value[key])


def jsonld_nodes(
    doc: lxml.html.HtmlElement, repairs: Counter[str] | None = None
) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, ``@graph`` flattened; broken blocks are skipped.
    Strings are made ``storable`` (a ``\\ud800`` escape decodes to a lone surrogate)."""
    nodes: list[dict[str, Any]] = []
    for script in doc.xpath("//script[contains(translate(@type,'LDJSON','ldjson'),'ld+json')]"):
        raw = (script.text or "").strip()
        raw = re.sub(r"^\s*(?://)?\s*<!\[CDATA\[|//\s*\]\]>\s*$", "", raw)
        if not raw:
            continue
        try:
            data = loads_storable(raw, repairs)
        except (ValueError, RecursionError):
            continue
        nodes.extend(_walk_jsonld(data))
    return nodes


@dataclass(slots=True)
class _Structured:
    article: dict[str, Any] | None
    by_id: dict[str, dict[str, Any]]
    types: set[str]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) <= {"@id"} and value.get("@id") in self.by_id:
            return self.by_id[value["@id"]]
        return value


def _structured(doc: lxml.html.HtmlElement, repairs: Counter[str]) -> _Structured:
    nodes = jsonld_nodes(doc, repairs)
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    types: set[str] = set()
    article = None
    for n in nodes:
        t = _types(n)
        types |= t
        if article is None and t & ARTICLE_TYPES:
            article = n
    return _Structured(article, by_id, types)


def _names(value: Any, data: _Structured) -> list[str]:
    out: list[str] = []
    for v in value if isinstance(value, list) else [value]:
        v = data.resolve(v)
        if isinstance(v, dict):
            v = v.get("name")
        if isinstance(v, str) and v.strip():
            out.append(htmllib.unescape(v))
    return out


def _first_url(value: Any, data: _Structured) -> str | None:
    for v in value if isinstance(value, list) else [value]:
        v = data.resolve(v)
        if isinstance(v, dict):
            v = v.get("url") or v.get("contentUrl") or v.get("@id")
        if isinstance(v, str) and v.strip() and not v.strip().startswith("#"):
            return v.strip()
    return None


def _text_value(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if isinstance(value, str) and value.strip():
        return tidy(htmllib.unescape(value))
    return None


def _split_keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"\s*[,،]\s*", value)
    if not isinstance(value, list):
        return []
    return [tidy(htmllib.unescape(v)) for v in value if isinstance(v, str) and v.strip()]


# --- meta and markup helpers ----------------------------------------------------------


class _Meta:
    """``<meta>`` values by lower-cased property/name/itemprop, in document order."""

    def __init__(self, doc: lxml.html.HtmlElement) -> None:
        self.values: dict[str, list[str]] = {}
        for m in doc.iter("meta"):
            content = m.get("content")
            if content is None or not content.strip():
                continue
            for attr in ("property", "name", "itemprop"):
                key = m.get(attr)
                if key:
                    self.values.setdefault(key.strip().lower(), []).append(content.strip())

    def first(self, *keys: str) -> str | None:
        for key in keys:
            if self.values.get(key):
                return self.values[key][0]
        return None

    def all(self, key: str) -> list[str]:
        return self.values.get(key, [])


def _link(doc: lxml.html.HtmlElement, rel: str) -> str | None:
    for el in doc.iter("link"):
        rels = (el.get("rel") or "").lower().split()
        if rel in rels and el.get("href"):
            return el.get("href").strip()
    return None


def _select(doc: lxml.html.HtmlElement, selector: str | None) -> list[lxml.html.HtmlElement]:
    if not selector:
        return []
    return select(doc, selector)


def _el_text(el: lxml.html.HtmlElement) -> str:
    return tidy(el.text_content())


def _el_date(el: lxml.html.HtmlElement, tz: str, now: datetime) -> datetime | None:
    for attr in ("datetime", "content", "data-time", "title"):
        if el.get(attr):
            got = parse_arabic_datetime(el.get(attr), tz, now)
            if got:
                return got
    return parse_arabic_datetime(_el_text(el), tz, now)


def _is_url(text: str) -> bool:
    return bool(re.match(r"^(?:https?:)?//|^www\.", text.strip(), re.I))


# "by X", "بقلم X"; the words that can also begin a name ("تحرير فرات بوست") only with a colon.
_BYLINE_PREFIX = re.compile(
    r"^(?:by|بقلم)\s*[:：]?\s*|^(?:كتبه|كتب|الكاتب|إعداد|اعداد|تحرير)\s*[:：]\s*", re.I
)
_AUTHOR_SELECTORS = (
    ".entry-content ~ * [rel~='author']",
    "article [rel~='author']",
    ".post-author-name",
    ".author-name",
    ".entry-author-name",
    ".byline .author",
    ".post-author a",
    ".post-author",
    "span.author a",
    "span.author",
    ".vcard .fn",
    "[rel~='author']",
)


_DATE_LINE_SELECTOR = (
    "[class*='date'], [class*='Date'], [class*='created'], [class*='publish'], [class*='time'], "
    "[itemprop*='date'], time"
)


def _clean_names(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        name = tidy(_BYLINE_PREFIX.sub("", tidy(name)))
        if not name or _is_url(name) or len(name) > 80:
            continue
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def _unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        v = tidy(v)
        if v and v not in out:
            out.append(v)
    return out


def _language(doc: lxml.html.HtmlElement, meta: _Meta, data: _Structured, default: str) -> str:
    candidates = [
        doc.get("lang"),
        doc.get("xml:lang"),
        _text_value(data.article.get("inLanguage")) if data.article else None,
        meta.first("og:locale", "content-language", "language"),
    ]
    for c in candidates:
        if c and re.match(r"^[a-zA-Z]{2,3}\b", c.strip()):
            return re.split(r"[-_]", c.strip())[0].lower()
    return default


# --- not-an-article signals ---------------------------------------------------------

_CHALLENGE_TITLE = re.compile(
    r"^\s*(?:just a moment|attention required!? \| cloudflare|please wait\.*\s*\| cloudflare|"
    r"checking your browser|ddos-guard|one more step|access denied|security check|"
    r"يرجى الانتظار|لحظة من فضلك)",
    re.I,
)
_CHALLENGE_MARKERS = (
    "cf-chl",
    "cf_chl_opt",
    "jschl",
    "cf-browser-verification",
    "_incapsula_resource",
    "challenge-form",
)
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


def _visible_text_len(doc: lxml.html.HtmlElement) -> int:
    body = doc.find("body")
    if body is None:
        return 0
    total = 0
    for node in body.iter():
        if _is_hidden_container(node):
            continue
        if node.text and isinstance(node.tag, str):
            total += len(node.text.strip())
        if node.tail:
            total += len(node.tail.strip())
    return total


def _is_hidden_container(node: etree._Element) -> bool:
    return not isinstance(node.tag, str) or node.tag.lower() in (
        "script",
        "style",
        "noscript",
        "template",
    )


def _check_not_article(
    doc: lxml.html.HtmlElement, raw: str, url: str, meta: _Meta, data: _Structured
) -> None:
    title = tidy(doc.findtext(".//title") or "")
    lowered = raw[:200_000].lower()
    size: list[int] = []

    def visible() -> int:  # counted only when a weak signal needs it
        if not size:
            size.append(_visible_text_len(doc))
        return size[0]

    if _CHALLENGE_TITLE.match(title) or (
        any(m in lowered for m in _CHALLENGE_MARKERS) and visible() < 1500
    ):
        raise NotAnArticle("challenge", title or "challenge markers")
    refresh = any((m.get("http-equiv") or "").lower() == "refresh" for m in doc.iter("meta"))
    if _REDIRECT_TITLE.match(title) or (refresh and visible() < 500):
        raise NotAnArticle("redirect_stub", title or "meta refresh")
    body = doc.find("body")
    classes = set((body.get("class") or "").split()) if body is not None else set()
    if "error404" in classes or (
        data.article is None
        and meta.first("og:type") != "article"
        and _ERROR_TITLE.search(title)
        and visible() < 5000
    ):
        raise NotAnArticle("error_page", title or "error404")
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
        raise NotAnArticle("login", title or path)
    if (
        data.article is not None
        or "single" in classes
        or any(c.startswith("postid-") for c in classes)
    ):
        return
    if (
        data.types & LISTING_TYPES
        or classes & _LISTING_BODY_CLASSES
        or _LISTING_PATH.search(path)
        or path.strip("/") in ("", "ar", "en")
    ):
        raise NotAnArticle("listing", path or "/")


# --- the extractor ------------------------------------------------------------------


def _find_content(
    doc: lxml.html.HtmlElement, profile: ExtractionProfile
) -> lxml.html.HtmlElement | None:
    """The first selector's largest match with enough text; else the first with any text."""
    fallback = None
    for selector in profile.body_selectors:
        matches = select(doc, selector)
        if not matches:
            continue
        best = max(matches, key=lambda el: len(el.text_content()))
        size = len(tidy(best.text_content()))
        if size >= min(profile.min_body_chars, 40):
            return best
        if size and fallback is None:
            fallback = best
    return fallback


def _generic_body(
    text: str, url: str, profile: ExtractionProfile, title: str, site_names: list[str]
) -> CleanBody | None:
    import trafilatura  # only when selectors fail: it is the slow path

    tree = parse_html(text)  # its own copy: trafilatura edits the tree it is given
    if tree is None:
        return None
    out = trafilatura.extract(
        tree,
        url=url,
        output_format="html",
        include_comments=False,
        include_tables=True,
        include_images=False,
        favor_precision=True,
    )
    if not out:
        return None
    tree = parse_html(out)
    body = tree.find("body") if tree is not None else None
    if body is None:
        return None
    for h in body.findall("h1"):  # trafilatura repeats the title as the first heading
        h.drop_tree()
    return clean_body(body, url, profile, title=title, site_names=site_names)


def _base_url(doc: lxml.html.HtmlElement, url: str) -> str:
    for el in doc.iter("base"):
        if el.get("href"):
            return urljoin(url, el.get("href").strip())
    return url


def _absolute(href: str | None, base: str) -> str | None:
    if not href or not href.strip():
        return None
    absolute = urljoin(base, href.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _external_id(
    doc: lxml.html.HtmlElement,
    url: str,
    canonical: str,
    shortlink: str | None,
    profile: ExtractionProfile,
) -> str | None:
    for candidate in (shortlink, url):
        if candidate:
            p = parse_qs(urlsplit(candidate).query).get("p")
            if p and p[0].isdigit():
                return p[0]
    body = doc.find("body")
    for cls in (body.get("class") or "").split() if body is not None else []:
        m = re.fullmatch(r"postid-(\d+)", cls)
        if m:
            return m.group(1)
    for el in doc.xpath("//article[starts-with(@id,'post-')]")[:1]:
        m = re.fullmatch(r"post-(\d+)", el.get("id"))
        if m:
            return m.group(1)
    if profile.external_id_pattern:
        for candidate in (canonical, url):
            m = re.search(profile.external_id_pattern, candidate)
            if m:
                return m.group(1)
    return None


def extract_article(
    html: str | bytes,
    url: str,
    fetched_at: datetime,
    profile: ExtractionProfile = DEFAULT_PROFILE,
    *,
    encoding: str | None = None,
    content_type: str | None = None,
) -> ExtractedArticle:
    """The article on a page; raises ``NotAnArticle`` when there is none.

    ``html`` as received (``decode_html`` decodes it with ``encoding``, an override, and
    the HTTP ``content_type``) or already text. NUL and lone surrogates are taken out
    before parsing (they would cut the text short) and counted in ``text_repairs``."""
    if len(html) > MAX_PAGE_BYTES:
        raise NotAnArticle("too_large", f"{len(html)} bytes, at most {MAX_PAGE_BYTES}")
    try:
        return _extract_article(html, url, fetched_at, profile, encoding, content_type)
    except (TooDeep, RecursionError) as exc:  # libxml2's hard limit, or Python's in the walks
        raise NotAnArticle("too_deep", "nested deeper than the extractor reads") from exc


def _extract_article(
    html: str | bytes,
    url: str,
    fetched_at: datetime,
    profile: ExtractionProfile,
    encoding: str | None,
    content_type: str | None,
) -> ExtractedArticle:
    repairs: Counter[str] = Counter()
    text = storable(decode_html(html, encoding, content_type), repairs)
    doc = parse_html(text)
    if doc is None:
        raise NotAnArticle("empty_page")
    base = _base_url(doc, url)  # links are made absolute only where they are kept
    meta = _Meta(doc)
    data = _structured(doc, repairs)
    art = data.article or {}
    tz = profile.timezone
    _check_not_article(doc, text, url, meta, data)

    # Title
    site_name = meta.first("og:site_name", "application-name")
    site_names = [*profile.site_names, *([site_name] if site_name else [])]
    title = None
    for el in _select(doc, profile.title_selector):
        title = _el_text(el) or None
        break
    if not title:
        for candidate in (
            _text_value(art.get("headline")) or _text_value(art.get("name")),
            next(
                (
                    _el_text(h)
                    for h in select(doc, "h1.entry-title, h1.post-title, .entry-title h1")
                ),
                None,
            ),
            meta.first("og:title", "twitter:title"),
            next((_el_text(h) for h in select(doc, "article h1, h1")), None),
            doc.findtext(".//title"),
        ):
            if candidate and tidy(candidate):
                title = strip_site_suffix(htmllib.unescape(candidate), site_names)
                break
    if not title:
        raise NotAnArticle("no_title")

    subtitle = next((_el_text(el) for el in _select(doc, profile.subtitle_selector)), None) or None

    # Authors
    authors = _clean_names(_el_text(el) for el in _select(doc, profile.author_selector))
    if not authors:
        authors = _clean_names(_names(art.get("author"), data))
    if not authors:
        value = meta.first("author", "article:author", "parsely-author", "sailthru.author")
        if value and not _is_url(value):
            authors = _clean_names(
                re.split(r"\s*[,،]\s*|\s+و\s*(?=\S)", value) if "،" in value else [value]
            )
    if not authors:
        for selector in _AUTHOR_SELECTORS:
            found = _clean_names(_el_text(el) for el in select(doc, selector))
            if found:
                authors = found
                break

    # Dates
    def declared_date(
        selector: str | None, ld_key: str, metas: tuple[str, ...], css: str
    ) -> datetime | None:
        for el in _select(doc, selector):
            got = _el_date(el, tz, fetched_at)
            if got:
                return got
        for value in (_text_value(art.get(ld_key)), meta.first(*metas)):
            got = parse_arabic_datetime(value, tz, fetched_at) if value else None
            if got:
                return got
        for el in select(doc, css):
            got = _el_date(el, tz, fetched_at)
            if got:
                return got
        return None

    def visible_date() -> datetime | None:
        # Last resort: a date line after the headline ("تم نشره الجمعة 24 نيسان / أبريل 2020");
        # before the headline, dates are usually today's date in the site header.
        heading = next(iter(doc.iter("h1")), None)
        if heading is None:
            return None
        order = {el: i for i, el in enumerate(doc.iter())}
        start = order.get(heading, 0)
        candidates = [el for el in select(doc, _DATE_LINE_SELECTOR) if order.get(el, -1) > start]
        for el in candidates[:10]:
            text = _el_text(el)
            if len(text) <= 80:
                got = parse_arabic_datetime(text, tz, fetched_at)
                if got:
                    return got
        return None

    published_at = declared_date(
        profile.published_selector,
        "datePublished",
        (
            "article:published_time",
            "datepublished",
            "og:published_time",
            "pubdate",
            "publishdate",
            "publish-date",
            "dc.date.issued",
            "date",
        ),
        "time.entry-date.published[datetime], time.published[datetime], article time[datetime], time[itemprop=datePublished]",
    )
    if published_at is None and not profile.published_selector:
        published_at = visible_date()
    modified_at = declared_date(
        profile.modified_selector,
        "dateModified",
        ("article:modified_time", "datemodified", "og:updated_time", "last-modified"),
        "time.updated[datetime], time[itemprop=dateModified]",
    )

    # Section and tags
    section = next(
        (_el_text(el) for el in _select(doc, profile.section_selector) if _el_text(el)), None
    )
    if not section:
        section = _text_value(art.get("articleSection")) or _text_value(
            meta.first("article:section")
        )
    if not section:
        cats = doc.xpath("//a[contains(concat(' ', normalize-space(@rel), ' '), ' category ')]")
        section = next((_el_text(a) for a in cats if _el_text(a)), None)

    tags = _unique(_el_text(el) for el in _select(doc, profile.tags_selector))
    if not tags:
        tags = _unique(_split_keywords(art.get("keywords")))
    if not tags:
        tags = _unique(meta.all("article:tag"))
    if not tags:
        tag_links = doc.xpath(
            "//a[contains(concat(' ', normalize-space(@rel), ' '), ' tag ')"
            " and not(contains(@rel, 'category'))"
            " and not(ancestor::aside) and not(ancestor::*[contains(@class,'widget')])"
            " and not(ancestor::*[contains(@class,'tagcloud')])]"
        )
        tags = _unique(_el_text(a) for a in tag_links)

    # URLs and identity
    canonical = _absolute(_link(doc, "canonical"), base)
    if canonical and urlsplit(canonical).path.strip("/") == "" and urlsplit(url).path.strip("/"):
        canonical = None  # a canonical pointing at the home page is a theme bug
    canonical = canonical or _absolute(meta.first("og:url"), base) or url
    shortlink = _absolute(_link(doc, "shortlink"), base)
    amp = _absolute(_link(doc, "amphtml"), base)
    urls = []
    for u in (url, shortlink, amp, _absolute(meta.first("og:url"), base)):
        if u and u != canonical and u not in urls:
            urls.append(u)
    external_id = _external_id(doc, url, canonical, shortlink, profile)

    # Body
    extractor = EXTRACTOR
    content = _find_content(doc, profile)
    body = (
        clean_body(content, base, profile, title=title, site_names=site_names)
        if content is not None
        else None
    )
    if (body is None or len(body.text) < profile.min_body_chars) and profile.use_generic_fallback:
        generic = _generic_body(text, url, profile, title, site_names)
        if generic is not None and len(generic.text) > len(body.text if body else ""):
            body, extractor = generic, f"{EXTRACTOR}+trafilatura"
    if body is None or not body.text:
        raise NotAnArticle("empty_body")
    if len(body.text) < profile.min_body_chars:
        raise NotAnArticle("short_body", f"{len(body.text)} characters")
    if data.article is None and _link_density(body) > 0.6:
        raise NotAnArticle("listing", "content is mostly links")

    # Image
    image = None
    for el in _select(doc, profile.image_selector):
        image = el.get("src") or el.get("content") or el.get("href")
        break
    image = image or _first_url(art.get("image"), data) or _first_url(art.get("thumbnailUrl"), data)
    image = image or meta.first("og:image", "og:image:url", "og:image:secure_url", "twitter:image")
    if not image:  # WordPress marks the featured image in every theme
        image = next((img.get("src") for img in select(doc, "img.wp-post-image[src]")), None)
    if not image and content is not None:
        image = next((img.get("src") for img in content.iter("img") if img.get("src")), None)

    return ExtractedArticle(
        url=url,
        canonical_url=canonical,
        fetched_at=fetched_at,
        title=title,
        body_text=body.text,
        body_html=body.html or None,
        subtitle=subtitle,
        authors=authors,
        published_at=published_at,
        modified_at=modified_at,
        section=section,
        tags=tags,
        image_url=_absolute(image, base),
        language=_language(doc, meta, data, profile.language),
        external_id=external_id,
        urls=urls,
        site_name=site_name,
        extractor=extractor,
        extractor_version=EXTRACTOR_VERSION,
        text_repairs=dict(repairs),
    )


def _link_density(body: CleanBody) -> float:
    if not body.html:
        return 0.0
    frag = parse_fragment(body.html)
    total = len(tidy(frag.text_content())) or 1
    return sum(len(tidy(a.text_content())) for a in frag.iter("a")) / total


__all__ = [
    "EXTRACTOR",
    "EXTRACTOR_VERSION",
    "FIELDS",
    "ExtractedArticle",
    "decode_html",
    "extract_article",
    "inline_text",
    "jsonld_nodes",
    "parse_html",
]

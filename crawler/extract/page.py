"""Page → article fields: a pure function of (page, URL, fetch time), read by a page object.

A page object (``ArticlePage``, ``WordPressPage`` on top, a site's own subclass or
``WordPressPage.declare(...)`` on top of those) has one method per field; each tries the
field's sources in the order its class declares (``title_sources``,
``published_sources``, ...): the selector the site's profile declares, structured data
(JSON-LD NewsArticle/Article/BlogPosting including Yoast/RankMath ``@graph``, OpenGraph
and ``article:*`` meta, ``link rel=canonical``/``shortlink``), then the platform's or
theme's usual markup. A date without a time of day gives way to a later source's full
timestamp of the same day. The body comes from the profile's body selectors, cleaned by
``crawler.extract.html.clean_body``; trafilatura is the last resort when no selector finds
text. Whether the page is an article at all is decided in ``crawler.extract.verdict``.

``extract_article(html, url, fetched_at, page)`` returns an ``ExtractedArticle``
(everything but the spider's name); ``ExtractedArticle.to_item(site)`` makes the
``ArticleItem``. A page that is not an article (challenge, error, listing, login, redirect
stub, empty body) raises ``NotAnArticle``.
"""

from __future__ import annotations

import dataclasses
import html as htmllib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
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
from crawler.extract.dates import WrittenDate, read_date
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
from crawler.extract.language import script_language
from crawler.extract.profile import DEFAULT_PROFILE, ExtractionProfile
from crawler.extract.text import loads_storable, storable, strip_site_suffix, tidy
from crawler.extract.verdict import body_problem, page_problem
from crawler.items import REVISION_FIELDS, ArticleItem, Fetch

# Extractor names are ``akhbar.page/<platform>``; each page class has its own version
# (``ArticlePage.extractor_version``), so a re-extraction can tell an extractor change from
# a site's edit, site by site.
EXTRACTOR = "akhbar.page"

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
    extractor_version: str = ""
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


def _el_date(el: lxml.html.HtmlElement, tz: str, now: datetime) -> WrittenDate | None:
    for attr in ("datetime", "content", "data-time", "title"):
        if el.get(attr):
            got = read_date(el.get(attr), tz, now)
            if got:
                return got
    return read_date(_el_text(el), tz, now)


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


# --- page objects ---------------------------------------------------------------------


def _absolute(href: str | None, base: str) -> str | None:
    if not href or not href.strip():
        return None
    absolute = urljoin(base, href.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _base_url(doc: lxml.html.HtmlElement, url: str) -> str:
    for el in doc.iter("base"):
        if el.get("href"):
            return urljoin(url, el.get("href").strip())
    return url


class ArticlePage:
    """An article page of any CMS: one method per field, each trying its sources in order.

    A field ``F`` is answered by ``F()``, which tries ``F_sources`` in order and takes the
    first source method ``F_<source>()`` that finds something. A site or theme overrides a
    field by changing its order (``published_sources = ("meta", "selector")``), adding or
    replacing one source (``def section_breadcrumb(self): ...``), its selector (``profile.<field>_selector``) or the
    field method itself, and never copies the rest. Sources: ``selector`` (what the
    site's profile declares), ``jsonld`` (schema.org Article), ``meta`` (OpenGraph,
    ``article:*`` and similar ``<meta>``), then the markup of the platform or theme.

    Dates weigh precision: a date written without a time of day (``span.tie-date``) gives way
    to a later source's full timestamp of the same day (``article:published_time``).

    Pure: ``ArticlePage(text, url, fetched_at).article()`` with the page's text; no Scrapy,
    no database. ``extract_article`` is the entry point for page bytes.
    """

    # The extractor recorded with each revision: ``akhbar.page/<platform>``.
    platform: ClassVar[str] = "generic"
    # Bump a class's own ``version`` when its output for the same input changes; the
    # revision's extractor_version joins the versions of every page class it inherits.
    version: ClassVar[int] = 3  # 3: credit lines are body; script language; date precision
    # The site's own declaration: bump ``site_version`` when a change to it (a selector, a
    # pattern) changes its output, so its next revisions are told from its own edits.
    site_version: ClassVar[int] = 0
    profile: ClassVar[ExtractionProfile] = DEFAULT_PROFILE

    title_sources: ClassVar[tuple[str, ...]] = ("selector", "jsonld", "meta", "heading", "document")
    subtitle_sources: ClassVar[tuple[str, ...]] = ("selector",)
    authors_sources: ClassVar[tuple[str, ...]] = ("selector", "jsonld", "meta", "theme")
    published_sources: ClassVar[tuple[str, ...]] = ("selector", "jsonld", "meta", "theme", "line")
    modified_sources: ClassVar[tuple[str, ...]] = ("selector", "jsonld", "meta", "theme")
    section_sources: ClassVar[tuple[str, ...]] = ("selector", "jsonld", "meta")
    tags_sources: ClassVar[tuple[str, ...]] = ("selector", "jsonld", "meta")
    image_sources: ClassVar[tuple[str, ...]] = ("selector", "jsonld", "meta", "content")
    external_id_sources: ClassVar[tuple[str, ...]] = ("pattern",)

    # Theme markup tried after structured data.
    published_css: ClassVar[str] = "article time[datetime], time[itemprop=datePublished]"
    modified_css: ClassVar[str] = "time[itemprop=dateModified]"

    @classmethod
    def declare(cls, *, name: str | None = None, **attributes: Any) -> type[ArticlePage]:
        """A site's page class in one expression: ``WordPressPage.declare(site_version=1,
        site_names=(...), published_sources=(...))``. ``ExtractionProfile`` fields go into
        the page's ``profile`` (on top of the inherited one), the rest become class
        attributes (source orders, CSS, methods)."""
        profile_fields = {f.name for f in dataclasses.fields(ExtractionProfile)}
        profile = {k: attributes.pop(k) for k in list(attributes) if k in profile_fields}
        for key in attributes:
            if not hasattr(cls, key):
                raise TypeError(f"{cls.__name__} has no attribute {key!r} to declare")
        if profile:
            attributes["profile"] = dataclasses.replace(cls.profile, **profile)
        return type(name or f"Declared{cls.__name__}", (cls,), attributes)

    @classmethod
    def extractor(cls) -> str:
        return f"{EXTRACTOR}/{cls.platform}"

    @classmethod
    def extractor_version(cls) -> str:
        """``<page versions>/<site version>``: each page class's own ``version`` from
        ``ArticlePage`` down, then the site's (``3.1/2``)."""
        chain = [
            str(c.__dict__["version"])
            for c in reversed(cls.__mro__)
            if issubclass(c, ArticlePage) and "version" in c.__dict__
        ]
        return f"{'.'.join(chain)}/{cls.site_version}"

    def __init__(
        self, text: str, url: str, fetched_at: datetime, repairs: Counter[str] | None = None
    ) -> None:
        self.url = url
        self.fetched_at = fetched_at
        self.repairs: Counter[str] = repairs if repairs is not None else Counter()
        self.text = text
        doc = parse_html(text)
        if doc is None:
            raise NotAnArticle("empty_page")
        self.doc = doc
        self.base = _base_url(doc, url)  # links are made absolute only where they are kept
        self.meta = _Meta(doc)
        self.data = _structured(doc, self.repairs)
        self.ld: dict[str, Any] = self.data.article or {}
        self.tz = self.profile.timezone
        self.site_name = self.meta.first("og:site_name", "application-name")
        self.site_names = [*self.profile.site_names, *([self.site_name] if self.site_name else [])]
        # Set by article() as it goes: the title (the body drops a repeat of it, the language
        # reads it) and the content element (the image falls back to its first picture).
        self._title = ""
        self._content: lxml.html.HtmlElement | None = None

    # --- the whole article

    def check(self) -> None:
        """``NotAnArticle`` when the page is a challenge, error, login or listing page."""
        problem = page_problem(
            self.doc,
            self.text,
            self.url,
            declares_article=self.data.article is not None,
            og_type=self.meta.first("og:type"),
            jsonld_types=self.data.types,
        )
        if problem:
            raise NotAnArticle(*problem)

    def article(self) -> ExtractedArticle:
        self.check()
        title = self.title()
        if not title:
            raise NotAnArticle("no_title")
        self._title = title
        body, extractor = self.body()
        canonical = self.canonical_url()
        return ExtractedArticle(
            url=self.url,
            canonical_url=canonical,
            fetched_at=self.fetched_at,
            title=title,
            body_text=body.text,
            body_html=body.html or None,
            subtitle=self.subtitle(),
            authors=self.authors(),
            published_at=self.published_at(),
            modified_at=self.modified_at(),
            section=self.section(),
            tags=self.tags(),
            image_url=_absolute(self.image(), self.base),
            language=self.language(body.text),
            external_id=self.external_id(),
            urls=self.other_urls(canonical),
            site_name=self.site_name,
            extractor=extractor,
            extractor_version=self.extractor_version(),
            text_repairs=dict(self.repairs),
        )

    def first(self, name: str) -> Any:
        """The first source of field ``name`` (in ``<name>_sources`` order) that answers."""
        for source in getattr(self, f"{name}_sources"):
            value = getattr(self, f"{name}_{source}")()
            if value:
                return value
        return None

    def select(self, selector: str | None) -> list[lxml.html.HtmlElement]:
        return _select(self.doc, selector)

    def selected_text(self, selector: str | None) -> str | None:
        return next((t for t in map(_el_text, self.select(selector)) if t), None)

    # --- title and subtitle

    def title(self) -> str | None:
        return self.first("title")

    def title_selector(self) -> str | None:
        for el in self.select(self.profile.title_selector):
            return _el_text(el) or None  # the first match, even when empty
        return None

    def _titled(self, candidate: str | None) -> str | None:
        if candidate and tidy(candidate):
            return strip_site_suffix(htmllib.unescape(candidate), self.site_names) or None
        return None

    def title_jsonld(self) -> str | None:
        return self._titled(
            _text_value(self.ld.get("headline")) or _text_value(self.ld.get("name"))
        )

    def title_meta(self) -> str | None:
        return self._titled(self.meta.first("og:title", "twitter:title"))

    def title_heading(self) -> str | None:
        return self._titled(self.selected_text("article h1, h1"))

    def title_document(self) -> str | None:
        return self._titled(self.doc.findtext(".//title"))

    def subtitle(self) -> str | None:
        return self.first("subtitle")

    def subtitle_selector(self) -> str | None:
        return next((_el_text(el) for el in self.select(self.profile.subtitle_selector)), None)

    # --- authors

    def authors(self) -> list[str]:
        return self.first("authors") or []

    def authors_selector(self) -> list[str]:
        return _clean_names(_el_text(el) for el in self.select(self.profile.author_selector))

    def authors_jsonld(self) -> list[str]:
        return _clean_names(_names(self.ld.get("author"), self.data))

    def authors_meta(self) -> list[str]:
        value = self.meta.first("author", "article:author", "parsely-author", "sailthru.author")
        if not value or _is_url(value):
            return []
        return _clean_names(
            re.split(r"\s*[,،]\s*|\s+و\s*(?=\S)", value) if "،" in value else [value]
        )

    def authors_theme(self) -> list[str]:
        for selector in _AUTHOR_SELECTORS:
            found = _clean_names(_el_text(el) for el in select(self.doc, selector))
            if found:
                return found
        return []

    # --- dates

    def published_at(self) -> datetime | None:
        return self.date("published")

    def modified_at(self) -> datetime | None:
        return self.date("modified")

    def date(self, name: str) -> datetime | None:
        """The ``published``/``modified`` date: the first source's, unless it is a date
        without a time of day and a later source gives a full time on the same day."""
        day_only: WrittenDate | None = None
        for source in getattr(self, f"{name}_sources"):
            found = getattr(self, f"{name}_{source}")()
            if not found:
                continue
            if found.has_time and (
                day_only is None
                or found.value.astimezone(day_only.value.tzinfo).date() == day_only.value.date()
            ):
                return found.value
            if not found.has_time and day_only is None:
                day_only = found
        return day_only.value if day_only else None

    def _element_date(self, selector: str | None) -> WrittenDate | None:
        for el in self.select(selector):
            found = _el_date(el, self.tz, self.fetched_at)
            if found:
                return found
        return None

    def _value_date(self, *values: str | None) -> WrittenDate | None:
        for value in values:
            found = read_date(value, self.tz, self.fetched_at) if value else None
            if found:
                return found
        return None

    def published_selector(self) -> WrittenDate | None:
        return self._element_date(self.profile.published_selector)

    def published_jsonld(self) -> WrittenDate | None:
        return self._value_date(_text_value(self.ld.get("datePublished")))

    def published_meta(self) -> WrittenDate | None:
        return self._value_date(
            self.meta.first(
                "article:published_time",
                "datepublished",
                "og:published_time",
                "pubdate",
                "publishdate",
                "publish-date",
                "dc.date.issued",
                "date",
            )
        )

    def published_theme(self) -> WrittenDate | None:
        return self._element_date(self.published_css)

    def published_line(self) -> WrittenDate | None:
        """Last resort: a date line after the headline ("تم نشره الجمعة 24 نيسان / أبريل
        2020"); before the headline, dates are usually today's date in the site header.
        Not read when the site declares where its date is."""
        if self.profile.published_selector:
            return None
        heading = next(iter(self.doc.iter("h1")), None)
        if heading is None:
            return None
        order = {el: i for i, el in enumerate(self.doc.iter())}
        start = order.get(heading, 0)
        after = [el for el in select(self.doc, _DATE_LINE_SELECTOR) if order.get(el, -1) > start]
        for el in after[:10]:
            text = _el_text(el)
            if len(text) <= 80:
                found = read_date(text, self.tz, self.fetched_at)
                if found:
                    return found
        return None

    def modified_selector(self) -> WrittenDate | None:
        return self._element_date(self.profile.modified_selector)

    def modified_jsonld(self) -> WrittenDate | None:
        return self._value_date(_text_value(self.ld.get("dateModified")))

    def modified_meta(self) -> WrittenDate | None:
        return self._value_date(
            self.meta.first(
                "article:modified_time", "datemodified", "og:updated_time", "last-modified"
            )
        )

    def modified_theme(self) -> WrittenDate | None:
        return self._element_date(self.modified_css)

    # --- section and tags

    def section(self) -> str | None:
        return self.first("section")

    def section_selector(self) -> str | None:
        return self.selected_text(self.profile.section_selector)

    def section_jsonld(self) -> str | None:
        return _text_value(self.ld.get("articleSection"))

    def section_meta(self) -> str | None:
        return _text_value(self.meta.first("article:section"))

    def tags(self) -> list[str]:
        return self.first("tags") or []

    def tags_selector(self) -> list[str]:
        return _unique(_el_text(el) for el in self.select(self.profile.tags_selector))

    def tags_jsonld(self) -> list[str]:
        return _unique(_split_keywords(self.ld.get("keywords")))

    def tags_meta(self) -> list[str]:
        return _unique(self.meta.all("article:tag"))

    # --- image

    def image(self) -> str | None:
        return self.first("image")

    def image_selector(self) -> str | None:
        for el in self.select(self.profile.image_selector):
            return el.get("src") or el.get("content") or el.get("href")
        return None

    def image_jsonld(self) -> str | None:
        return _first_url(self.ld.get("image"), self.data) or _first_url(
            self.ld.get("thumbnailUrl"), self.data
        )

    def image_meta(self) -> str | None:
        return self.meta.first("og:image", "og:image:url", "og:image:secure_url", "twitter:image")

    def image_content(self) -> str | None:
        content = self._content
        if content is None:
            return None
        return next((img.get("src") for img in content.iter("img") if img.get("src")), None)

    # --- body

    def content(self) -> lxml.html.HtmlElement | None:
        """The first body selector's largest match with enough text; else the first with any."""
        fallback = None
        for selector in self.profile.body_selectors:
            matches = select(self.doc, selector)
            if not matches:
                continue
            best = max(matches, key=lambda el: len(el.text_content()))
            size = len(tidy(best.text_content()))
            if size >= min(self.profile.min_body_chars, 40):
                return best
            if size and fallback is None:
                fallback = best
        return fallback

    def body(self) -> tuple[CleanBody, str]:
        """The body and the extractor that found it. The body rule, for every outlet: the
        article as published, its opening dateline or credit line included ("دمشق-سانا",
        "عنب بلدي – خاص"); an author box outside the content is not body. So only the
        profile's junk goes, never a line for naming the outlet (no site names given to
        ``clean_body`` for that)."""
        extractor = self.extractor()
        self._content = content = self.content()
        title = self._title
        body = (
            clean_body(content, self.base, self.profile, title=title)
            if content is not None
            else None
        )
        if (
            body is None or len(body.text) < self.profile.min_body_chars
        ) and self.profile.use_generic_fallback:
            generic = _generic_body(self.text, self.url, self.profile, title)
            if generic is not None and len(generic.text) > len(body.text if body else ""):
                body, extractor = generic, f"{extractor}+trafilatura"
        text = body.text if body is not None else ""
        share = _link_density(body) if body is not None and self.data.article is None else 0.0
        problem = body_problem(text, min_chars=self.profile.min_body_chars, link_share=share)
        if problem:
            raise NotAnArticle(*problem)
        assert body is not None
        return body, extractor

    # --- language

    def language(self, body_text: str) -> str:
        """The declared language (``<html lang>``, JSON-LD ``inLanguage``, ``og:locale``,
        else the profile's), unless the title and body are written in another script
        (an English article inside the Arabic edition is ``en``)."""
        declared = self.profile.language
        for c in (
            self.doc.get("lang"),
            self.doc.get("xml:lang"),
            _text_value(self.ld.get("inLanguage")) if self.ld else None,
            self.meta.first("og:locale", "content-language", "language"),
        ):
            if c and re.match(r"^[a-zA-Z]{2,3}\b", c.strip()):
                declared = re.split(r"[-_]", c.strip())[0].lower()
                break
        return script_language(f"{self._title}\n{body_text}", declared)

    # --- URLs and identity

    def canonical_url(self) -> str:
        canonical = _absolute(_link(self.doc, "canonical"), self.base)
        if (
            canonical
            and urlsplit(canonical).path.strip("/") == ""
            and urlsplit(self.url).path.strip("/")
        ):
            canonical = None  # a canonical pointing at the home page is a theme bug
        return canonical or _absolute(self.meta.first("og:url"), self.base) or self.url

    def shortlink(self) -> str | None:
        return _absolute(_link(self.doc, "shortlink"), self.base)

    def other_urls(self, canonical: str) -> list[str]:
        """Other URLs naming this article: the one fetched, shortlink, AMP, ``og:url``."""
        urls: list[str] = []
        for u in (
            self.url,
            self.shortlink(),
            _absolute(_link(self.doc, "amphtml"), self.base),
            _absolute(self.meta.first("og:url"), self.base),
        ):
            if u and u != canonical and u not in urls:
                urls.append(u)
        return urls

    def external_id(self) -> str | None:
        return self.first("external_id")

    def external_id_pattern(self) -> str | None:
        """The profile's ``external_id_pattern`` on the canonical URL, then the fetched one."""
        if not self.profile.external_id_pattern:
            return None
        for candidate in (self.canonical_url(), self.url):
            m = re.search(self.profile.external_id_pattern, candidate)
            if m:
                return m.group(1)
        return None


class WordPressPage(ArticlePage):
    """A WordPress article page: the generic sources plus what every WordPress theme prints
    (``h1.entry-title``, ``time.entry-date.published``, ``rel=category``/``rel=tag`` links,
    the ``wp-post-image`` featured image, the post id in ``?p=``, ``postid-N``,
    ``article#post-N``)."""

    platform = "wordpress"
    version = 1

    title_sources = ("selector", "jsonld", "wordpress", "meta", "heading", "document")
    section_sources = ("selector", "jsonld", "meta", "wordpress")
    tags_sources = ("selector", "jsonld", "meta", "wordpress")
    image_sources = ("selector", "jsonld", "meta", "wordpress", "content")
    external_id_sources = ("wordpress", "pattern")
    published_css = (
        "time.entry-date.published[datetime], time.published[datetime], "
        + ArticlePage.published_css
    )
    modified_css = "time.updated[datetime], " + ArticlePage.modified_css

    def title_wordpress(self) -> str | None:
        return self._titled(self.selected_text("h1.entry-title, h1.post-title, .entry-title h1"))

    def section_wordpress(self) -> str | None:
        cats = self.doc.xpath(
            "//a[contains(concat(' ', normalize-space(@rel), ' '), ' category ')]"
        )
        return next((_el_text(a) for a in cats if _el_text(a)), None)

    def tags_wordpress(self) -> list[str]:
        links = self.doc.xpath(
            "//a[contains(concat(' ', normalize-space(@rel), ' '), ' tag ')"
            " and not(contains(@rel, 'category'))"
            " and not(ancestor::aside) and not(ancestor::*[contains(@class,'widget')])"
            " and not(ancestor::*[contains(@class,'tagcloud')])]"
        )
        return _unique(_el_text(a) for a in links)

    def image_wordpress(self) -> str | None:
        return next((img.get("src") for img in select(self.doc, "img.wp-post-image[src]")), None)

    def external_id_wordpress(self) -> str | None:
        for candidate in (self.shortlink(), self.url):
            if candidate:
                p = parse_qs(urlsplit(candidate).query).get("p")
                if p and p[0].isdigit():
                    return p[0]
        body = self.doc.find("body")
        for cls in (body.get("class") or "").split() if body is not None else []:
            m = re.fullmatch(r"postid-(\d+)", cls)
            if m:
                return m.group(1)
        for el in self.doc.xpath("//article[starts-with(@id,'post-')]")[:1]:
            m = re.fullmatch(r"post-(\d+)", el.get("id"))
            if m:
                return m.group(1)
        return None


# A page no site declares is read as WordPress's: most outlets run it, and its sources
# only add to the generic ones.
DEFAULT_PAGE = WordPressPage


def _generic_body(text: str, url: str, profile: ExtractionProfile, title: str) -> CleanBody | None:
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
    return clean_body(body, url, profile, title=title)


def extract_article(
    html: str | bytes,
    url: str,
    fetched_at: datetime,
    page: type[ArticlePage] = DEFAULT_PAGE,
    *,
    encoding: str | None = None,
    content_type: str | None = None,
) -> ExtractedArticle:
    """The article on a page, read by the site's ``page`` class; raises ``NotAnArticle``
    when there is none.

    ``html`` as received (``decode_html`` decodes it with ``encoding``, an override, and
    the HTTP ``content_type``) or already text. NUL and lone surrogates are taken out
    before parsing (they would cut the text short) and counted in ``text_repairs``."""
    if len(html) > MAX_PAGE_BYTES:
        raise NotAnArticle("too_large", f"{len(html)} bytes, at most {MAX_PAGE_BYTES}")
    try:
        repairs: Counter[str] = Counter()
        text = storable(decode_html(html, encoding, content_type), repairs)
        return page(text, url, fetched_at, repairs).article()
    except (TooDeep, RecursionError) as exc:  # libxml2's hard limit, or Python's in the walks
        raise NotAnArticle("too_deep", "nested deeper than the extractor reads") from exc


def _link_density(body: CleanBody) -> float:
    if not body.html:
        return 0.0
    frag = parse_fragment(body.html)
    total = len(tidy(frag.text_content())) or 1
    return sum(len(tidy(a.text_content())) for a in frag.iter("a")) / total


__all__ = [
    "EXTRACTOR",
    "DEFAULT_PAGE",
    "ArticlePage",
    "WordPressPage",
    "FIELDS",
    "ExtractedArticle",
    "decode_html",
    "extract_article",
    "inline_text",
    "jsonld_nodes",
    "parse_html",
]

"""Article content HTML: from a content element to paragraphs and a safe ``body_html``.

``clean_body`` is the one body-cleaning path, shared by pages and WordPress REST content:
it removes the profile's junk selectors, splits the content into blocks, drops boilerplate
paragraphs (inline "اقرأ أيضاً"/"مواد ذات صلة" links, share lines, bylines) and stops at
page chrome that leaked into the content ("قد يعجبك أيضاً", "دع تعليقاً").
``sanitize`` keeps a small safe subset of tags with absolute links.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

from crawler.extract.profile import ExtractionProfile
from crawler.extract.text import join_paragraphs, normalize_for_hash, tidy

_T = TypeVar("_T")

# The most bytes of page HTML parsed (crawls are bounded before this by DOWNLOAD_MAXSIZE).
MAX_PAGE_BYTES = 32 * 1024 * 1024


class TooDeep(Exception):
    """HTML nested past libxml2's hard limit (2048 levels even with ``huge_tree``), where
    it would silently drop the rest of the document."""


def _parse(parse: Callable[[lxml.html.HTMLParser], _T]) -> _T:
    """``parse(parser)`` with lxml's HTML parser freed of libxml2's default nesting limit
    (about 256 levels, past which it silently drops the rest of the page); the input is
    bounded by ``MAX_PAGE_BYTES``, the depth by libxml2's hard limit (``TooDeep``)."""
    parser = lxml.html.HTMLParser(huge_tree=True)
    tree = parse(parser)
    for entry in parser.error_log:
        if entry.type_name == "ERR_RESOURCE_LIMIT":
            raise TooDeep(entry.message)
    return tree


def parse_document(text: str) -> lxml.html.HtmlElement:
    """A whole page (``etree.ParserError`` when there is nothing to parse)."""
    return _parse(lambda parser: lxml.html.document_fromstring(text, parser=parser))


def parse_fragment(fragment: str) -> lxml.html.HtmlElement:
    """An HTML fragment (REST content, a body) inside a ``<div>``."""
    return _parse(
        lambda parser: lxml.html.fragment_fromstring(fragment, create_parent="div", parser=parser)
    )


# Tags kept in body_html, with the attributes each may keep.
ALLOWED_TAGS: dict[str, tuple[str, ...]] = {
    "p": (),
    "br": (),
    "h2": (),
    "h3": (),
    "h4": (),
    "h5": (),
    "h6": (),
    "ul": (),
    "ol": (),
    "li": (),
    "blockquote": (),
    "strong": (),
    "em": (),
    "b": (),
    "i": (),
    "u": (),
    "sup": (),
    "sub": (),
    "a": ("href",),
    "img": ("src", "alt"),
    "figure": (),
    "table": (),
    "thead": (),
    "tbody": (),
    "tr": (),
    "th": ("colspan", "rowspan"),
    "td": ("colspan", "rowspan"),
    "pre": (),
}
RENAMED_TAGS = {"h1": "h2"}  # one title per page; an h1 inside content is a heading
# Removed with everything inside them; other unknown tags are unwrapped (content kept).
DROPPED_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "head",
        "title",
        "meta",
        "link",
        "figcaption",
        "canvas",
        "audio",
        "video",
    }
)
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

# Elements that are one unit of text (a paragraph, a list, a quote, a table).
ATOMIC_BLOCKS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "ul",
        "ol",
        "dl",
        "blockquote",
        "table",
        "figure",
    }
)
# Elements that only group blocks; walked into.
CONTAINERS = frozenset(
    {
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "nav",
        "center",
        "body",
        "html",
        "span",
        "font",
        "li",
        "td",
        "th",
        "tr",
        "tbody",
        "thead",
    }
)
_BLOCK_ANY = ATOMIC_BLOCKS | CONTAINERS - {"span", "font"}
# A heading that introduces a block of related links ("مواد ذات صلة:" alone on its line).
_RELATED_HEAD = re.compile(
    r"(?:(?:مواد|مقالات|[أا]خبار)\s+)?ذات\s+صلة|[اإ]قر[أا]\s+(?:[أا]يض[اًآ]*|المزيد)|"
    r"قد\s+يع[جح]بك\s+[أا]يض[اًآ]*|related(?:\s+\w+)?|you\s+may\s+also\s+like",
    re.I,
)


@dataclass(slots=True)
class CleanBody:
    paragraphs: list[str] = field(default_factory=list)  # final once ``clean_body`` returns
    html: str = ""
    removed: list[str] = field(default_factory=list)  # boilerplate paragraphs dropped, for review
    _text: str | None = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        """The paragraphs as ``body_text`` (joined once: extraction asks several times)."""
        if self._text is None:
            self._text = join_paragraphs(self.paragraphs)
        return self._text


@dataclass(slots=True)
class _Block:
    element: lxml.html.HtmlElement | None  # None: a run of loose inline text
    text: str
    link_text_len: int = 0


def _tag(el: etree._Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def inline_text(el: lxml.html.HtmlElement) -> str:
    """Text of ``el`` with ``<br>`` as a line break."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        tag = _tag(node)
        if tag in DROPPED_TAGS:
            return
        if tag == "br":
            parts.append("\n")
        elif node.text and tag:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return tidy("".join(parts))


def _link_len(el: lxml.html.HtmlElement) -> int:
    return sum(len(tidy(a.text_content())) for a in el.iter("a"))


def _has_block(el: lxml.html.HtmlElement) -> bool:
    return any(_tag(d) in _BLOCK_ANY for d in el.iterdescendants())


_BLANK_LINE = re.compile(r"\n\s*\n")


def _block_paragraphs(block: _Block) -> list[str]:
    """The paragraphs of a block: list items, table rows, quoted paragraphs, and text
    split at blank lines (sites that separate paragraphs with ``<br><br>``)."""
    return [q for p in _block_units(block) for q in _BLANK_LINE.split(p) if q.strip()]


def _block_units(block: _Block) -> list[str]:
    el = block.element
    if el is None:
        return [block.text]
    tag = _tag(el)
    if tag in ("ul", "ol"):
        return [inline_text(li) for li in el.iterchildren("li")] or [block.text]
    if tag == "table":
        rows = []
        for tr in el.iter("tr"):
            cells = [inline_text(c) for c in tr if _tag(c) in ("td", "th")]
            rows.append(" | ".join(c for c in cells if c))
        return rows
    if tag in ("blockquote", "dl") and _has_block(el):
        inner = [inline_text(c) for c in el if _tag(c)]
        return inner or [block.text]
    return [block.text]


def _blocks(root: lxml.html.HtmlElement) -> Iterator[_Block]:
    """Blocks in document order; loose inline content between blocks becomes a block too."""
    run: list[str] = []
    links = 0

    def flush() -> Iterator[_Block]:
        nonlocal links
        text = tidy("".join(run))
        run.clear()
        count, links = links, 0
        if text:
            yield _Block(None, text, count)

    if root.text:
        run.append(root.text)
    for child in root:
        tag = _tag(child)
        if not tag or tag in DROPPED_TAGS:
            pass
        elif tag in ATOMIC_BLOCKS:
            yield from flush()
            yield _Block(child, inline_text(child), _link_len(child))
        elif tag in CONTAINERS and (tag not in ("span", "font") or _has_block(child)):
            yield from flush()
            yield from _blocks(child)
        elif tag == "br":
            run.append("\n")
        else:
            run.append(inline_text(child) if tag != "a" else tidy(child.text_content()))
            if tag == "a":
                links += len(tidy(child.text_content()))
            else:
                links += _link_len(child)
        if child.tail:
            run.append(child.tail)
    yield from flush()


@lru_cache(maxsize=512)
def css(selector: str) -> CSSSelector:
    """A compiled CSS selector (compiling costs more than matching)."""
    return CSSSelector(selector, translator="html")


def select(root: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    return css(selector)(root)


def remove_selectors(root: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> None:
    """Remove every element matching one of ``selectors`` (CSS) below ``root``."""
    if not selectors:
        return
    for el in select(root, ", ".join(selectors)):
        # An ancestor already removed takes its descendants with it.
        if el is not root and el.getparent() is not None and _attached(el, root):
            el.drop_tree()


def _attached(el: lxml.html.HtmlElement, root: lxml.html.HtmlElement) -> bool:
    node = el.getparent()
    while node is not None:
        if node is root:
            return True
        node = node.getparent()
    return False


def clean_body(
    content: lxml.html.HtmlElement,
    base_url: str,
    profile: ExtractionProfile,
    *,
    title: str | None = None,
    site_names: Iterable[str] = (),
) -> CleanBody:
    """Paragraphs and sanitized HTML of an article's content element (left untouched).

    ``title``: a paragraph repeating it among the first blocks is dropped (themes that
    print the headline inside the content). ``site_names``: a first paragraph that is only
    "<site name> / <desk>" (``فرات بوست / أخبار``, ``عنب بلدي – خاص``) is a byline."""
    title_key = normalize_for_hash(title) if title else None
    site_byline = _site_byline_re(site_names)
    root = deepcopy(content)
    remove_selectors(root, profile.remove_selectors)
    result = CleanBody()
    html_parts: list[str] = []
    related = False  # inside a "مواد ذات صلة" block: link-only paragraphs that follow go too
    seen_text = 0
    for block in _blocks(root):
        text = block.text
        has_image = block.element is not None and any(True for _ in block.element.iter("img"))
        if not normalize_for_hash(text):  # empty, or only invisible marks (a stray BOM)
            if has_image and _tag(block.element) in ("figure", "p"):
                html_parts.append(sanitize(block.element, base_url))
            continue
        link_only = block.link_text_len >= 0.8 * len(text)
        if profile.stop_re and profile.stop_re.match(text):
            result.removed.append(text)
            break
        if profile.boilerplate_re and profile.boilerplate_re.match(text):
            result.removed.append(text)
            if _RELATED_HEAD.fullmatch(text.rstrip(" :：.")):
                related = True
            continue
        if related and link_only:
            result.removed.append(text)
            continue
        related = False
        if seen_text < 2 and (
            (profile.byline_re and profile.byline_re.match(text))
            or (site_byline and site_byline.match(text))
        ):
            result.removed.append(text)
            continue
        if seen_text < 3 and title_key and normalize_for_hash(text) == title_key:
            result.removed.append(text)
            continue
        seen_text += 1
        result.paragraphs.extend(p for p in _block_paragraphs(block) if p)
        if block.element is None:
            html_parts.extend(
                f"<p>{_escape(p.strip()).replace(chr(10), '<br>')}</p>"
                for p in _BLANK_LINE.split(text)
                if p.strip()
            )
        else:
            html_parts.append(sanitize(block.element, base_url))
    result.html = "\n".join(h for h in html_parts if h)
    return result


def _site_byline_re(site_names: Iterable[str]) -> re.Pattern[str] | None:
    names = [r"\s*".join(map(re.escape, n.split())) for n in site_names if n and n.strip()]
    if not names:
        return None
    return re.compile(
        rf"^[*\s]*(?:{'|'.join(names)})\s*(?:[/／|:\-–—]\s*[^.،؟!\n]{{0,30}})?[*\s:]*$", re.I
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_url(value: str | None, base_url: str) -> str | None:
    if not value:
        return None
    value = value.strip()
    if not value or value.startswith("data:"):
        return None
    url = urljoin(base_url, value)
    return url if urlsplit(url).scheme.lower() in SAFE_SCHEMES else None


def _copy_safe(src: lxml.html.HtmlElement, dst: etree._Element, base_url: str) -> None:
    """Append the safe form of ``src``'s children (and text) to ``dst``."""

    def add_text(text: str | None) -> None:
        if not text:
            return
        if len(dst):
            last = dst[-1]
            last.tail = (last.tail or "") + text
        else:
            dst.text = (dst.text or "") + text

    add_text(src.text)
    for child in src:
        tag = _tag(child)
        tag = RENAMED_TAGS.get(tag, tag)
        if tag in ALLOWED_TAGS:
            new = etree.SubElement(dst, tag)
            for attr in ALLOWED_TAGS[tag]:
                value = child.get(attr)
                if tag == "img" and attr == "src":
                    value = child.get("data-src") or child.get("data-lazy-src") or value
                if attr in ("href", "src"):
                    value = _safe_url(value, base_url)
                if value:
                    new.set(attr, value.strip())
            if tag == "img" and new.get("src") is None:
                dst.remove(new)
            else:
                _copy_safe(child, new, base_url)
        elif tag and tag not in DROPPED_TAGS:
            _copy_safe(child, dst, base_url)  # unknown wrapper: keep what is inside
        add_text(child.tail)


def sanitize(element: lxml.html.HtmlElement, base_url: str) -> str:
    """``element`` (and its content) reduced to ALLOWED_TAGS, links made absolute."""
    tag = RENAMED_TAGS.get(_tag(element), _tag(element))
    holder = etree.Element("div")
    if tag in ALLOWED_TAGS:
        wrapper = deepcopy(element)
        wrapper.tail = None
        container = lxml.html.Element("div")
        container.append(wrapper)
        _copy_safe(container, holder, base_url)
    else:
        _copy_safe(element, holder, base_url)
    out = (holder.text or "") + "".join(
        etree.tostring(c, encoding="unicode", method="html") for c in holder
    )
    return out.strip()


def sanitize_html(fragment: str, base_url: str) -> str:
    """An HTML fragment string reduced to ALLOWED_TAGS."""
    if not fragment.strip():
        return ""
    return sanitize(parse_fragment(fragment), base_url)

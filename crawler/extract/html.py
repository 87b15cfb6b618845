"""Article content HTML: from a content element to paragraphs and a safe ``body_html``.

``clean_body`` is the one body-cleaning path, shared by pages and WordPress REST content:
it removes the profile's junk selectors, splits the content into blocks, drops boilerplate
paragraphs (inline "اقرأ أيضاً"/"مواد ذات صلة" links, share lines, bylines) and stops at
page chrome that leaked into the content ("قد يعجبك أيضاً", "دع تعليقاً").
``sanitize`` keeps a small safe subset of tags with absolute links.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import cssselect
import lxml.html
from cssselect import parser as cssparser
from lxml import etree
from lxml.cssselect import CSSSelector, LxmlHTMLTranslator

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
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else ""


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


_TRANSLATOR = LxmlHTMLTranslator()  # what CSSSelector(translator="html") uses


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
    group = _selector_group(tuple(selectors))
    matches = group.matches
    if group.rest is not None:  # selectors with combinators or pseudo-classes: by XPath
        found = set(group.rest(root))
        matches = lambda el: group.matches(el) or el in found  # noqa: E731
    # An ancestor removed takes its descendants with it: only the outermost matches go.
    for el in _outermost(root, matches):
        el.drop_tree()


def _outermost(
    root: lxml.html.HtmlElement, matches: Callable[[lxml.html.HtmlElement], bool]
) -> list[lxml.html.HtmlElement]:
    """The elements below ``root`` that match, in document order, without their matching
    descendants (a walk that does not enter what it keeps)."""
    found = []
    stack = list(reversed(root))
    while stack:
        el = stack.pop()
        if isinstance(el.tag, str):
            if matches(el):
                found.append(el)
            else:
                stack.extend(reversed(el))
    return found


# XPath's whitespace, which normalize-space() in cssselect's class test splits at.
_XPATH_SPACE = str.maketrans("\t\n\r", "   ")


@dataclass(frozen=True, slots=True)
class _Simple:
    """One CSS selector without combinators or pseudo-classes: a tag and/or conditions."""

    tag: str | None
    classes: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    attribs: tuple[tuple[str, str, str | None], ...] = ()  # (name, "exists"|"="|"*=", value)

    def matches(self, el: lxml.html.HtmlElement) -> bool:
        if self.tag is not None and el.tag != self.tag:
            return False
        if self.classes:
            value = el.get("class")
            tokens = value.translate(_XPATH_SPACE).split(" ") if value is not None else ()
            if not all(c and not _HAS_SPACE.search(c) and c in tokens for c in self.classes):
                return False
        if any(el.get("id") != i for i in self.ids):
            return False
        for name, operator, wanted in self.attribs:
            value = el.get(name)
            if value is None:
                return False
            if operator == "=" and value != wanted:
                return False
            if operator == "*=" and not (wanted and wanted in value):
                return False
        return True


_HAS_SPACE = re.compile(r"[ \t\r\n\f]")  # cssselect: such a class name matches nothing


def _simple(selector: cssselect.Selector) -> _Simple | None:
    """``selector`` as a ``_Simple``, or None when it is more than that."""
    if selector.pseudo_element is not None:
        return None
    tree = selector.parsed_tree
    classes: list[str] = []
    ids: list[str] = []
    attribs: list[tuple[str, str, str | None]] = []
    while not isinstance(tree, cssparser.Element):
        if isinstance(tree, cssparser.Class):
            classes.append(tree.class_name)
        elif isinstance(tree, cssparser.Hash):
            ids.append(tree.id)
        elif (
            isinstance(tree, cssparser.Attrib)
            and tree.namespace is None
            and tree.operator in ("exists", "=", "*=")
        ):
            value = tree.value.value if tree.value is not None else None
            attribs.append((tree.attrib.lower(), tree.operator, value))
        else:
            return None
        tree = tree.selector
    if tree.namespace is not None:
        return None
    tag = tree.element.lower() if tree.element else None
    return _Simple(tag, tuple(classes), tuple(ids), tuple(attribs))


@dataclass(frozen=True, slots=True)
class _SelectorGroup:
    """A group of CSS selectors matched in one walk instead of one XPath walk each: the
    simple ones (``tag``, ``.class``, ``#id``, ``[attr]``, ``[attr=v]``, ``[attr*=v]`` and
    their compounds, tested as cssselect translates them) by ``matches``, any other by the
    XPath ``rest``."""

    tags: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()  # ``.class``
    exists: frozenset[str] = frozenset()  # ``[attr]``
    equals: tuple[tuple[str, frozenset[str]], ...] = ()  # ``[attr=v]``, ``#id``
    contains: tuple[tuple[str, str], ...] = ()  # ``[attr*=v]``
    others: tuple[_Simple, ...] = ()  # compounds (``div.entry``)
    rest: etree.XPath | None = None

    def matches(self, el: lxml.html.HtmlElement) -> bool:
        if el.tag in self.tags:
            return True
        names = el.keys()
        if not names:  # most elements: no attribute at all
            return any(o.matches(el) for o in self.others)
        get = el.get
        if self.classes:
            value = get("class")
            if value is not None and not self.classes.isdisjoint(
                value.translate(_XPATH_SPACE).split(" ")
            ):
                return True
        if not self.exists.isdisjoint(names):
            return True
        for name, values in self.equals:
            if get(name) in values:
                return True
        for name, part in self.contains:
            value = get(name)
            if value is not None and part in value:
                return True
        return any(o.matches(el) for o in self.others)


@lru_cache(maxsize=64)
def _selector_group(selectors: tuple[str, ...]) -> _SelectorGroup:
    tags: set[str] = set()
    classes: set[str] = set()
    exists: set[str] = set()
    equals: dict[str, set[str]] = {}
    contains: list[tuple[str, str]] = []
    others: list[_Simple] = []
    rest: list[str] = []
    for selector in cssselect.parse(", ".join(selectors)):
        simple = _simple(selector)
        if simple is None:
            rest.append(_TRANSLATOR.selector_to_xpath(selector, translate_pseudo_elements=True))
            continue
        conditions = len(simple.classes) + len(simple.ids) + len(simple.attribs)
        if simple.tag and not conditions:
            tags.add(simple.tag)
        elif simple.tag or conditions != 1:
            others.append(simple)
        elif simple.classes:
            if simple.classes[0] and not _HAS_SPACE.search(simple.classes[0]):
                classes.add(simple.classes[0])  # else it matches nothing
        elif simple.ids:
            equals.setdefault("id", set()).add(simple.ids[0])
        else:
            name, operator, value = simple.attribs[0]
            if operator == "exists":
                exists.add(name)
            elif operator == "=":
                equals.setdefault(name, set()).add(value or "")
            elif value:  # "*=" with an empty value matches nothing
                contains.append((name, value))
    return _SelectorGroup(
        frozenset(tags),
        frozenset(classes),
        frozenset(exists),
        tuple((name, frozenset(values)) for name, values in equals.items()),
        tuple(contains),
        tuple(others),
        etree.XPath(" | ".join(rest)) if rest else None,
    )


def clean_body(
    content: lxml.html.HtmlElement,
    base_url: str,
    profile: ExtractionProfile,
    *,
    title: str | None = None,
) -> CleanBody:
    """Paragraphs and sanitized HTML of an article's content element (left untouched).

    ``title``: a paragraph repeating it among the first blocks is dropped (themes that
    print the headline inside the content). A credit line ("فرات بوست / أخبار", "عنب بلدي –
    خاص") is article text (the body rule); only a declared ``byline_patterns`` line goes."""
    title_key = normalize_for_hash(title) if title else None
    root = deepcopy(content)
    remove_selectors(root, profile.remove_selectors)
    result = CleanBody()
    html_parts: list[str] = []
    related = False  # inside a "مواد ذات صلة" block: link-only paragraphs that follow go too
    seen_text = 0
    for block in _blocks(root):
        text = block.text
        has_image = block.element is not None and any(True for _ in block.element.iter("img"))
        if _blank(text):  # empty, or only invisible marks (a stray BOM)
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
        if seen_text < 2 and profile.byline_re and profile.byline_re.match(text):
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


# A letter or digit that ``normalize_for_hash`` keeps whatever surrounds it.
_VISIBLE = re.compile("[0-9A-Za-z\u0621-\u063a\u0641-\u064a]")


def _blank(text: str) -> bool:
    """``not normalize_for_hash(text)``, answered at once for a paragraph with a letter in
    it (unless it has markup or an entity, which the normalization removes)."""
    if "<" not in text and "&" not in text and _VISIBLE.search(text):
        return False
    return not normalize_for_hash(text)


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
    _add_text(dst, src.text)
    for child in src:
        _copy_element(child, dst, base_url)
        _add_text(dst, child.tail)


def _add_text(dst: etree._Element, text: str | None) -> None:
    if not text:
        return
    if len(dst):
        last = dst[-1]
        last.tail = (last.tail or "") + text
    else:
        dst.text = (dst.text or "") + text


def _copy_element(src: lxml.html.HtmlElement, dst: etree._Element, base_url: str) -> None:
    """Append the safe form of ``src`` itself (not its tail) to ``dst``."""
    tag = _tag(src)
    tag = RENAMED_TAGS.get(tag, tag)
    if tag in ALLOWED_TAGS:
        new = etree.SubElement(dst, tag)
        for attr in ALLOWED_TAGS[tag]:
            value = src.get(attr)
            if tag == "img" and attr == "src":
                value = src.get("data-src") or src.get("data-lazy-src") or value
            if attr in ("href", "src"):
                value = _safe_url(value, base_url)
            if value:
                new.set(attr, value.strip())
        if tag == "img" and new.get("src") is None:
            dst.remove(new)
        else:
            _copy_safe(src, new, base_url)
    elif tag and tag not in DROPPED_TAGS:
        _copy_safe(src, dst, base_url)  # unknown wrapper: keep what is inside


def sanitize(element: lxml.html.HtmlElement, base_url: str) -> str:
    """``element`` (and its content) reduced to ALLOWED_TAGS, links made absolute."""
    tag = RENAMED_TAGS.get(_tag(element), _tag(element))
    holder = etree.Element("div")
    if tag in ALLOWED_TAGS:
        _copy_element(element, holder, base_url)
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

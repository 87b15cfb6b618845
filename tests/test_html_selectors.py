"""``remove_selectors`` matches a group of CSS selectors in one walk of the tree: it must
remove exactly what lxml's CSSSelector (cssselect's XPath) selects, on real pages and on
the corner cases of cssselect's translation."""

from __future__ import annotations

from copy import deepcopy

import pytest
from golden import discover
from lxml import etree
from lxml.cssselect import CSSSelector

from crawler.extract.html import parse_document, remove_selectors
from crawler.extract.profile import DEFAULT_REMOVE_SELECTORS
from crawler.extract.text import loads_storable


def _by_xpath(root: etree._Element, selectors: tuple[str, ...]) -> None:
    """The reference: every match by XPath, dropped unless an ancestor went first."""
    dropped: set[etree._Element] = set()
    for el in CSSSelector(", ".join(selectors), translator="html")(root):
        if el is root or any(a in dropped for a in el.iterancestors()):
            continue
        dropped.add(el)
    for el in dropped:
        el.drop_tree()


def _same(root: etree._Element, selectors: tuple[str, ...]) -> None:
    expected, got = deepcopy(root), deepcopy(root)
    _by_xpath(expected, selectors)
    remove_selectors(got, selectors)
    assert etree.tostring(got, encoding="unicode") == etree.tostring(expected, encoding="unicode")


CORNERS = """<html><body><div class="content">
<p class="a\tb  hidden">tab and double space between classes</p>
<p class="a\u00a0hidden">a no-break space does not separate classes</p>
<span hidden>hidden attribute</span><i style="color:red;display:none">inline style</i>
<b id="comments">an id<script>x()</script></b> tail text <!-- a comment -->
<p class="">empty class</p><p class="tags-list">class containing "tags"</p>
<div class="entry"><p class="x">in div.entry</p></div><section class="entry">not div</section>
<p data-y="1" id="x">compound</p><p id="x">id only</p>
<article><div class="content">descendant combinator</div></article>
<ul><li>first</li><li>second</li></ul>
</div></body></html>"""

GROUPS = [
    DEFAULT_REMOVE_SELECTORS,
    (".hidden",),
    ("[class*='']",),  # an empty substring matches nothing in cssselect
    ("div.entry", "p#x[data-y='1']", "[itemprop='x']"),
    ("article .content", "li:first-child", ".x"),  # not simple: by XPath
    ("*",),
    ("P", "[HIDDEN]"),  # names are case-insensitive in HTML
]


@pytest.mark.parametrize("selectors", GROUPS, ids=lambda g: " ".join(g)[:40])
def test_corner_cases_match_cssselect(selectors: tuple[str, ...]) -> None:
    doc = parse_document(CORNERS)
    _same(doc, selectors)
    for div in doc.iter("div"):
        _same(div, selectors)


def test_golden_pages_match_cssselect() -> None:
    cases = discover()
    assert cases
    for case in cases:
        doc = parse_document(case.html().decode("utf-8", "replace"))
        for root in [doc, *doc.iter("div", "article")]:
            _same(root, DEFAULT_REMOVE_SELECTORS)


def test_loads_storable_walks_only_when_needed() -> None:
    from collections import Counter

    repairs: Counter[str] = Counter()
    assert loads_storable('{"a": "\\u0627 ok", "b": ["x"]}', repairs) == {
        "a": "\u0627 ok",
        "b": ["x"],
    }
    assert not repairs
    assert loads_storable('["\\u0000x", "\\uD800y", {"\\ud83d\\ude00": 1}]', repairs) == [
        "x",
        "\ufffdy",
        {"\U0001f600": 1},
    ]
    assert repairs == {"nul_removed": 1, "surrogates_replaced": 1}

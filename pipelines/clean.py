"""Tidy the text fields of an ``ArticleItem`` (stored text stays what the site published).

* title, subtitle, section: whitespace tidied (``tidy``); a trailing " – <site name>" is
  stripped from the title (the names come from the spider's ``page.profile.site_names`` and
  its ``outlet_name`` attribute, when it has one);
* body_text: paragraphs tidied, one blank line between them;
* authors and tags: tidied, empty ones and repeats (compared as ``normalize_for_search``)
  removed, order kept;
* every text field (URLs too) made storable (``crawler.extract.text.storable``): NUL
  removed, lone surrogates replaced by U+FFFD. Extraction already does it to its input
  (they would cut a parse short) and reports it in ``item.text_repairs``; this is the
  guard for text that reached the item another way (a REST post's raw ``link``).

Counts ``clean/items``, ``clean/title_suffix_stripped``, ``clean/authors_removed``,
``clean/tags_removed``, ``clean/subtitle_emptied``, ``clean/nul_removed`` and
``clean/surrogates_replaced``. Other items pass untouched.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Self

from scrapy.crawler import Crawler

from crawler.extract.text import (
    join_paragraphs,
    normalize_for_search,
    storable,
    strip_site_suffix,
    tidy,
)
from crawler.items import ArticleItem

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def unique_names(values: Iterable[str]) -> list[str]:
    """Tidied, non-empty, first occurrence of each (compared without cosmetic differences)."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        value = tidy(value or "")
        key = normalize_for_search(value)
        if key and key not in seen:
            seen.add(key)
            out.append(value)
    return out


@lru_cache(maxsize=8)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def make_storable(item: ArticleItem) -> Counter[str]:
    """Every text field of ``item`` (strings and lists of strings) made ``storable``, in
    place; returns what was repaired, with what extraction had repaired before."""
    repairs: Counter[str] = Counter(item.text_repairs)
    for name in _field_names(type(item)):
        value = getattr(item, name)
        if isinstance(value, str):
            setattr(item, name, storable(value, repairs))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            setattr(item, name, [storable(v, repairs) for v in value])
    item.text_repairs = dict(repairs)
    return repairs


class CleanPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _site_names(self) -> list[str]:
        spider = getattr(self.crawler, "spider", None)
        names: list[str] = []
        page = getattr(spider, "page", None)
        names.extend(getattr(getattr(page, "profile", None), "site_names", ()) or ())
        outlet = getattr(spider, "outlet_name", None)
        if isinstance(outlet, str):
            names.append(outlet)
        return names

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        self.stats.inc_value("clean/items")
        for kind, count in make_storable(item).items():
            self.stats.inc_value(f"clean/{kind}", count)
        title = tidy(item.title or "")
        stripped = strip_site_suffix(title, self._site_names())
        if stripped != title and stripped:
            self.stats.inc_value("clean/title_suffix_stripped")
            title = stripped
        item.title = title
        if item.subtitle is not None:
            item.subtitle = tidy(item.subtitle) or None
            if item.subtitle is None:
                self.stats.inc_value("clean/subtitle_emptied")
        if item.section is not None:
            item.section = tidy(item.section) or None
        item.body_text = join_paragraphs(_PARAGRAPH_BREAK.split(item.body_text or ""))
        for name in ("authors", "tags"):
            before = getattr(item, name) or []
            after = unique_names(before)
            if len(after) != len(before):
                self.stats.inc_value(f"clean/{name}_removed", len(before) - len(after))
            setattr(item, name, after)
        return item

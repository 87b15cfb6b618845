"""One module per outlet, each a declaration on a platform spider (``crawler.platforms``).

The one spider registry: ``spider_classes()`` lists them without Scrapy's settings
machinery, for tools that need the declarations themselves (the scheduler reads
``schedule``; the CLI the site info; re-extraction each site's ``page`` class, which
extraction itself takes as an argument and never looks up).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

from crawler.extract import snapshot
from crawler.extract.page import DEFAULT_PAGE, ArticlePage, ExtractedArticle
from crawler.extract.urls import same_site
from crawler.platforms.news import NewsSpider


def _modules(names: Iterable[str]) -> Iterator[ModuleType]:
    """Each named module, and every module of it when it is a package."""
    for name in names:
        module = importlib.import_module(name)
        yield module
        for info in pkgutil.iter_modules(getattr(module, "__path__", ())):
            yield importlib.import_module(f"{name}.{info.name}")


def spider_classes(modules: Iterable[str] = (__name__,)) -> dict[str, type[NewsSpider]]:
    """``{spider name: class}`` for every news spider declared in ``modules`` (this
    package unless told otherwise, as Scrapy's ``SPIDER_MODULES`` may)."""
    found: dict[str, type[NewsSpider]] = {}
    for module in _modules(modules):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, NewsSpider)
                and value.__module__ == module.__name__
                and getattr(value, "name", None)
            ):
                found[value.name] = value
    return dict(sorted(found.items()))


class SpiderRegistry:
    """Scrapy's spider loader (``SPIDER_LOADER_CLASS``) over ``spider_classes()``, so
    ``scrapy crawl`` and the project's tools know the same spiders."""

    def __init__(self, spiders: dict[str, type[NewsSpider]]) -> None:
        self._spiders = spiders

    @classmethod
    def from_settings(cls, settings: Any) -> SpiderRegistry:
        return cls(spider_classes(settings.getlist("SPIDER_MODULES") or (__name__,)))

    def load(self, spider_name: str) -> type[NewsSpider]:
        try:
            return self._spiders[spider_name]
        except KeyError:
            raise KeyError(f"Spider not found: {spider_name}") from None

    def list(self) -> list[str]:
        return list(self._spiders)

    def find_by_request(self, request: Any) -> list[str]:
        return [name for name, cls in self._spiders.items() if cls.handles_request(request)]


def schedules() -> dict[str, str]:
    """``{spider name: cron expression}`` of the spiders that declare a schedule."""
    return {name: cls.schedule for name, cls in spider_classes().items() if cls.schedule}


def page_for(
    url: str | None = None, site: str | None = None
) -> tuple[str | None, type[ArticlePage]]:
    """The spider name and page class for ``site`` (a spider name) or else ``url``'s host;
    ``(None, DEFAULT_PAGE)`` when no spider matches; ``KeyError`` for an unknown name."""
    spiders = spider_classes()
    if site:
        if site in spiders:
            return site, spiders[site].page
        raise KeyError(f"no spider named {site!r}")
    if url:
        for name, cls in spiders.items():
            if cls.allowed_domains and same_site(url, cls.allowed_domains):
                return name, cls.page
    return None, DEFAULT_PAGE


def reextract(row: Any, site: str | None = None) -> tuple[str | None, ExtractedArticle]:
    """``(spider name, article)``: a revision's evidence (``snapshot.EVIDENCE_SQL``)
    re-extracted with the page class of the spider that owns its URL (or the one named)."""
    name, page = page_for(row.url, site)
    return name, snapshot.reextract(row, page)

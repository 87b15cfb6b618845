"""One module per outlet, each a declaration on a platform spider (``crawler.platforms``).

``spider_classes()`` lists them without Scrapy's settings machinery, for tools that need
the declarations themselves (the scheduler reads ``schedule``; the CLI the site info;
``page_for`` the page class that reads a site's articles, for ``akhbar extract`` and
re-extraction).
"""

from __future__ import annotations

import importlib
import pkgutil

from crawler.extract.page import DEFAULT_PAGE, ArticlePage
from crawler.extract.urls import same_site
from crawler.platforms.news import NewsSpider


def spider_classes() -> dict[str, type[NewsSpider]]:
    """``{spider name: class}`` for every news spider declared in this package."""
    found: dict[str, type[NewsSpider]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, NewsSpider)
                and value.__module__ == module.__name__
                and getattr(value, "name", None)
            ):
                found[value.name] = value
    return dict(sorted(found.items()))


def schedules() -> dict[str, str]:
    """``{spider name: cron expression}`` of the spiders that declare a schedule."""
    return {name: cls.schedule for name, cls in spider_classes().items() if cls.schedule}


def page_for(
    url: str | None = None, site: str | None = None
) -> tuple[str | None, type[ArticlePage]]:
    """The spider name and page class for ``site`` (a spider name) or else ``url``'s host;
    ``(None, DEFAULT_PAGE)`` when no spider matches. ``KeyError`` for an unknown name."""
    spiders = spider_classes()
    if site:
        if site in spiders:
            return site, spiders[site].page
        raise KeyError(f"no spider named {site!r}")
    if url:
        for name, cls in spiders.items():
            domains = getattr(cls, "allowed_domains", None)
            if domains and same_site(url, domains):
                return name, cls.page
    return None, DEFAULT_PAGE

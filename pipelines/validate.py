"""Drop ``ArticleItem``s that are not articles, so they never become revisions.

Reasons (each counted as ``validate/dropped/<reason>``, the item dropped with ``DropItem``):
``missing_title``, ``short_body`` (fewer than ``VALIDATE_MIN_BODY_CHARS`` characters,
default ``crawler.extract.verdict.MIN_BODY_CHARS``, as short as a one-sentence
breaking-news post), ``challenge`` (bot-protection text in the title or body), both asked
of ``crawler.extract.verdict.item_problem``, and ``naive_datetime`` (a datetime without
timezone). Passing articles count ``validate/passed``; ``ArticleSeen``
and ``ArticleGone`` pass untouched.

A publication date more than ``VALIDATE_FUTURE_TOLERANCE_HOURS`` (default 24) after the
fetch is suspicious (a scheduled post, a site's clock or time zone bug) but still what the
site declares: the article is kept as published, logged and counted as
``validate/future_published``, never dropped.

For the field coverage ``akhbar status`` watches (docs/status.md), passing articles with a
publication date count ``validate/has/published_at`` and those with an author
``validate/has/authors``; both are set (0 included) when the crawl opens, so a run without
them predates the counters.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.extract.verdict import MIN_BODY_CHARS, item_problem
from crawler.items import ArticleItem

logger = logging.getLogger(__name__)

# Fields whose presence among passing articles is counted as ``validate/has/<field>``.
COUNTED_FIELDS = ("published_at", "authors")


def _naive(value: datetime | None) -> bool:
    return value is not None and (value.tzinfo is None or value.utcoffset() is None)


class ValidatePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.min_body_chars = settings.getint("VALIDATE_MIN_BODY_CHARS", MIN_BODY_CHARS)
        self.future_tolerance = timedelta(
            hours=settings.getfloat("VALIDATE_FUTURE_TOLERANCE_HOURS", 24.0)
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        for name in COUNTED_FIELDS:
            self.stats.set_value(f"validate/has/{name}", 0)

    def problem(self, item: ArticleItem) -> tuple[str, str] | None:
        """``(reason, detail)`` when ``item`` must not be stored, else None."""
        found = item_problem(item.title or "", item.body_text or "", min_chars=self.min_body_chars)
        if found:
            reason, detail = found
            return reason, f"{detail} at {item.url}" if detail else item.url
        for name in ("fetched_at", "published_at", "modified_at"):
            if _naive(getattr(item, name)):
                return "naive_datetime", f"{name} at {item.url}"
        return None

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        found = self.problem(item)
        if found:
            reason, detail = found
            self.stats.inc_value(f"validate/dropped/{reason}")
            raise DropItem(f"not an article ({reason}): {detail}")
        if item.published_at and item.published_at - item.fetched_at > self.future_tolerance:
            self.stats.inc_value("validate/future_published")
            logger.warning(
                "published in the future (%s, fetched %s): %s",
                item.published_at.isoformat(),
                item.fetched_at.isoformat(),
                item.url,
            )
        self.stats.inc_value("validate/passed")
        for name in COUNTED_FIELDS:
            if getattr(item, name):
                self.stats.inc_value(f"validate/has/{name}")
        return item

"""Drop ``ArticleItem``s that are not articles, so they never become revisions.

Reasons (each counted as ``validate/dropped/<reason>``, the item dropped with ``DropItem``):
``missing_title``, ``short_body`` (fewer than ``VALIDATE_MIN_BODY_CHARS`` characters,
default 80), ``challenge`` (bot-protection text in the title or body), ``naive_datetime``
(a datetime without timezone), ``future_published`` (published more than
``VALIDATE_FUTURE_TOLERANCE_HOURS``, default 24, after it was fetched). Passing articles
count ``validate/passed``; ``ArticleSeen`` and ``ArticleGone`` pass untouched.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import ArticleItem

# Text that only bot-protection pages carry (Cloudflare, Sucuri, DDoS-Guard, Incapsula).
CHALLENGE_TEXT = re.compile(
    r"just a moment\.\.\.|checking your browser before accessing|attention required! \| cloudflare|"
    r"enable javascript and cookies to continue|ddos protection by|cf-chl|"
    r"verify you are (?:a )?human|sucuri website firewall|request unsuccessful\. incapsula",
    re.I,
)


def _naive(value: datetime | None) -> bool:
    return value is not None and (value.tzinfo is None or value.utcoffset() is None)


class ValidatePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.min_body_chars = settings.getint("VALIDATE_MIN_BODY_CHARS", 80)
        self.future_tolerance = timedelta(
            hours=settings.getfloat("VALIDATE_FUTURE_TOLERANCE_HOURS", 24.0)
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def problem(self, item: ArticleItem) -> tuple[str, str] | None:
        """``(reason, detail)`` when ``item`` must not be stored, else None."""
        title = (item.title or "").strip()
        if not title:
            return "missing_title", item.url
        body = (item.body_text or "").strip()
        if CHALLENGE_TEXT.search(title) or CHALLENGE_TEXT.search(body[:2000]):
            return "challenge", item.url
        if len(body) < self.min_body_chars:
            return "short_body", f"{len(body)} characters at {item.url}"
        for name in ("fetched_at", "published_at", "modified_at"):
            if _naive(getattr(item, name)):
                return "naive_datetime", f"{name} at {item.url}"
        if item.published_at and item.fetched_at:
            if item.published_at - item.fetched_at > self.future_tolerance:
                return "future_published", f"{item.published_at.isoformat()} at {item.url}"
        return None

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        found = self.problem(item)
        if found:
            reason, detail = found
            self.stats.inc_value(f"validate/dropped/{reason}")
            raise DropItem(f"not an article ({reason}): {detail}")
        self.stats.inc_value("validate/passed")
        return item

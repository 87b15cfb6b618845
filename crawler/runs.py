"""``crawl_runs`` bookkeeping: one row per crawl, written by a Scrapy extension.

At ``spider_opened`` a row is inserted (status ``running``) and its id is published as the
stat ``crawl_run/id``, which the store pipeline passes to ``revisions.record``. At
``spider_closed`` the row gets its end: ``finished_at``, ``status``, ``finish_reason`` and
every crawl stat, with the run's ``summary/*`` counters (docs/crawl-stats.md lists ours).
A database that cannot be reached never stops the crawl: the store pipeline spools, and
the row is written at close if the database is back by then.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from sqlalchemy import select, update

from crawler.db.embedded import process_exists
from crawler.db.models import CrawlRun
from crawler.db.session import is_outage, one_line

logger = logging.getLogger(__name__)

RUN_ID_STAT = "crawl_run/id"

# Reasons Scrapy gives for a crawl that stopped at a limit it was asked to respect.
NORMAL_REASONS = frozenset(
    {
        "finished",
        "closespider_timeout",
        "closespider_timeout_no_item",
        "closespider_itemcount",
        "closespider_pagecount",
        "closespider_pagecount_no_item",
    }
)
# Counters that mean the crawl did not do its job even though it ran to the end.
FAILURE_STATS = ("spider_exceptions/count", "store/errors")

# The run's summary (issue 2's counters), written as ``summary/<name>`` and always present,
# 0 included: each is the sum of the detailed counters listed (docs/crawl-stats.md).
SUMMARY_STATS: dict[str, tuple[str, ...]] = {
    "new": ("store/new",),
    "revised": ("store/revised",),
    "unchanged": ("store/unchanged", "store/seen"),
    "removed": ("store/removed",),
    "dropped": ("item_dropped_count",),
    "blocked": ("spider/blocked",),
    "errors": ("store/errors", "spider_exceptions/count", "spider/errors"),
}
_SPIDER_INTERNALS = frozenset({"crawler", "settings"})


def run_status(reason: str, stats: Mapping[str, Any], spider: Spider | None = None) -> str:
    """The ``crawl_runs.status`` for a crawl that closed with ``reason`` and ``stats``.

    skipped: the spider set ``skip_reason`` or closed with a reason starting "skipped";
    interrupted: Ctrl-C or SIGTERM ("shutdown"); failed: any other abnormal reason
    ("cancelled", "closespider_errorcount", a spider's own), or spider exceptions or
    observations the database rejected; finished otherwise.
    """
    if getattr(spider, "skip_reason", None) or reason.startswith("skipped"):
        return "skipped"
    if reason == "shutdown":
        return "interrupted"
    if reason not in NORMAL_REASONS:
        return "failed"
    if any(stats.get(key) for key in FAILURE_STATS):
        return "failed"
    return "finished"


def summary(stats: Mapping[str, Any]) -> dict[str, int]:
    """``summary/new`` ... ``summary/errors`` from the detailed counters (missing = 0)."""
    return {
        f"summary/{name}": sum(int(stats.get(key) or 0) for key in keys)
        for name, keys in SUMMARY_STATS.items()
    }


def json_safe(value: Any) -> Any:
    """Stats as JSON: datetimes as ISO-8601 strings, durations as seconds."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def spider_args(spider: Spider) -> dict[str, Any]:
    """The spider's arguments as it understood them, JSON-safe: its instance attributes
    (every ``-a name=value``, converted if the spider converts it, plus defaults its
    ``__init__`` sets). Scrapy does not keep the raw ``-a`` strings."""
    args = {}
    for key, value in vars(spider).items():
        if key.startswith("_") or key in _SPIDER_INTERNALS:
            continue
        if key == "start_urls" and not value:  # Spider.__init__ puts an empty list there
            continue
        args[key] = json_safe(value)
    return args


class CrawlRunRecorder:
    """Scrapy extension writing the ``crawl_runs`` row of this crawl."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_opened(self, spider: Spider) -> None:
        row = {
            "spider": spider.name,
            "args": spider_args(spider),
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "status": "running",
        }
        try:
            self.run_id = await asyncio.to_thread(_insert_run, row)
        except Exception as exc:
            _log_failure("could not record the crawl run at start", exc)
            return
        self.crawler.stats.set_value(RUN_ID_STAT, self.run_id)
        logger.info("crawl run %d", self.run_id)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        # Into the stats collector too, so Scrapy's closing stats dump shows them.
        for key, value in summary(self.crawler.stats.get_stats()).items():
            self.crawler.stats.set_value(key, value)
        stats = self.crawler.stats.get_stats()
        values = {
            "finished_at": stats.get("finish_time") or datetime.now(UTC),
            "status": run_status(reason, stats, spider),
            "finish_reason": reason,
            "stats": json_safe(stats),
        }
        try:
            if self.run_id is None:
                # The database was down at start; record the whole run now if it is back.
                started = stats.get("start_time") or values["finished_at"]
                self.run_id = await asyncio.to_thread(
                    _insert_run,
                    {
                        "spider": spider.name,
                        "args": spider_args(spider),
                        "hostname": socket.gethostname(),
                        "pid": os.getpid(),
                        "started_at": started,
                        **values,
                    },
                )
            else:
                await asyncio.to_thread(_finish_run, self.run_id, values)
        except Exception as exc:
            _log_failure("could not record the end of the crawl run", exc)
            return
        logger.info("crawl run %d %s (%s)", self.run_id, values["status"], reason)


def _engine() -> Any:
    from crawler.db.session import ensure_schema, get_engine

    ensure_schema()
    return get_engine()


def _insert_run(row: dict[str, Any]) -> int:
    engine = _engine()
    with engine.begin() as conn:
        _close_abandoned_runs(conn, row["hostname"])
        return conn.execute(
            CrawlRun.__table__.insert().values(**row).returning(CrawlRun.id)
        ).scalar_one()


def _finish_run(run_id: int, values: dict[str, Any]) -> None:
    with _engine().begin() as conn:
        conn.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(**values))


def _close_abandoned_runs(conn: Any, hostname: str) -> None:
    # A crawl killed hard (SIGKILL, power loss) leaves its row "running" forever; its
    # process is gone, so the next crawl on the same host can say so.
    rows = conn.execute(
        select(CrawlRun.id, CrawlRun.pid).where(
            CrawlRun.status == "running", CrawlRun.hostname == hostname
        )
    ).all()
    gone = [run_id for run_id, pid in rows if pid is not None and not process_exists(pid)]
    if gone:
        conn.execute(
            update(CrawlRun)
            .where(CrawlRun.id.in_(gone))
            .values(
                status="interrupted",
                finish_reason="process ended without closing the run",
                finished_at=datetime.now(UTC),
            )
        )


def _log_failure(what: str, exc: BaseException) -> None:
    # The crawl goes on either way; an outage is expected (one line), anything else is a
    # bug and gets its traceback.
    if is_outage(exc):
        logger.warning("%s: %s", what, one_line(exc))
    else:
        logger.error("%s: %s", what, one_line(exc), exc_info=exc)

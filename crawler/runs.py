"""``crawl_runs`` bookkeeping and the crawl's outcome: one row per crawl, written by a
Scrapy extension, and the exit status that goes with it.

``CrawlRunRecorder`` opens every crawl, however it was started: the database must answer,
the site's lock must be free, then the row is inserted (status ``running``) and its id is
published as the stat ``crawl_run/id``, which the store pipeline passes to
``revisions.record``. At ``spider_closed`` the row gets its end: ``finished_at``,
``status``, ``finish_reason`` and every crawl stat, with the run's ``summary/*`` counters
(docs/crawl-stats.md lists ours, the statuses and their exit codes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy import select, update
from twisted.internet.task import LoopingCall

from crawler import spool
from crawler.config import spool_dir
from crawler.db.embedded import process_exists
from crawler.db.locks import Holder, SiteLock, lock_holder
from crawler.db.models import CrawlRun
from crawler.db.session import run_bounded
from crawler.errors import is_outage, one_line

logger = logging.getLogger(__name__)

RUN_ID_STAT = "crawl_run/id"
STATUS_STAT = "crawl_run/status"
# Observations this crawl spooled that no replay has stored by its end (pipelines.store).
SPOOLED_PENDING_STAT = "store/spooled_pending"
# A discovery source cut short (a failed listing page, a bound reached): ``spider/`` stats
# under this prefix make the run partial.
INCOMPLETE_PREFIX = "spider/incomplete/"
SKIPPED_LOCKED = "skipped: site locked by another crawl"
LOCK_CHECK_SECONDS = 10.0
# A lock check without an answer for this long means the lock's connection is gone.
LOCK_CHECK_DEADLINE = 60.0
# Giving the lock back at close: a silent database releases it when our connection ends.
LOCK_RELEASE_DEADLINE = 5.0
# STORE_BATCH_TIMEOUT's default, also the bound on writing the run's end (pipelines.store);
# an interrupted crawl waits at most the shorter one.
RUN_END_DEADLINE = 60.0
INTERRUPTED_RUN_END_DEADLINE = 5.0

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

# The exit status of a crawl process for each run status (docs/crawl-stats.md).
EXIT_STATUS = {
    "finished": 0,
    "skipped": 0,
    "failed": 1,
    "partial": 3,
    "spooled": 4,
    "interrupted": 130,
}
EXIT_INVALID_ARGUMENTS = 2

# The run's summary (issue 2's counters), written as ``summary/<name>`` and always present,
# 0 included: each is the sum of the detailed counters listed (docs/crawl-stats.md).
SUMMARY_STATS: dict[str, tuple[str, ...]] = {
    "new": ("store/new",),
    "revised": ("store/revised", "store/reextracted"),
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
    ("cancelled", "database_unreachable", "lock_lost", a spider's own), or spider exceptions
    or observations the database rejected; spooled: observations wait in the spool, not
    stored; partial: a discovery source was cut short (``spider/incomplete/*``); finished
    otherwise.
    """
    if getattr(spider, "skip_reason", None) or reason.startswith("skipped"):
        return "skipped"
    if reason == "shutdown":
        return "interrupted"
    if reason not in NORMAL_REASONS:
        return "failed"
    if any(stats.get(key) for key in FAILURE_STATS):
        return "failed"
    if stats.get(SPOOLED_PENDING_STAT):
        return "spooled"
    if any(key.startswith(INCOMPLETE_PREFIX) and value for key, value in stats.items()):
        return "partial"
    return "finished"


def exit_status(status: str | None, shutdown_signal: int | None = None) -> int:
    """The process exit status of a crawl whose run ended as ``status``."""
    if status == "interrupted" and shutdown_signal is not None:
        return 128 + shutdown_signal  # 130 after SIGINT, 143 after SIGTERM, as shells say
    if status is None:  # the crawl never got as far as a run status (a bug at start)
        return EXIT_STATUS["failed"]
    return EXIT_STATUS.get(status, EXIT_STATUS["failed"])


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
    """Scrapy extension: the crawl's start gate, its site lock and its ``crawl_runs`` row.

    At ``spider_opened``, before the spider has fetched anything: the database must be
    reachable (else the crawl closes as ``database_unreachable``, status failed); the site's
    lock (``crawler.db.locks``) must be free (else a ``skipped`` run naming the holder); then
    the row is inserted. A watchdog checks the lock's connection every
    ``LOCK_CHECK_SECONDS``; a lost lock closes the crawl (``lock_lost``), flushing or
    spooling what is in flight. At ``spider_closed`` the row gets its end; with the
    database gone by then, the end is spooled beside the observations and written by
    the replay.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None
        self.lock: SiteLock | None = None
        self._watch: LoopingCall | None = None
        self._check_started: float | None = None
        self._lock_error: BaseException | None = None

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
            self.run_id, holder = await asyncio.to_thread(self._open, row)
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.error(
                "%s: database unreachable (%s); crawl stopped before fetching anything",
                spider.name,
                one_line(exc),
            )
            raise CloseSpider("database_unreachable") from None
        self.crawler.stats.set_value(RUN_ID_STAT, self.run_id)
        if holder is not None:
            logger.warning(
                "%s: another crawl of this site holds its lock: %s; skipped (run %d)",
                spider.name,
                holder.describe(),
                self.run_id,
            )
            raise CloseSpider(SKIPPED_LOCKED)
        logger.info("crawl run %d", self.run_id)
        self._watch = LoopingCall(self._watch_lock)
        interval = self.crawler.settings.getfloat("AKHBAR_LOCK_CHECK_SECONDS", LOCK_CHECK_SECONDS)
        self._watch.start(interval, now=False)

    def _open(self, row: dict[str, Any]) -> tuple[int, Holder | None]:
        """Reach the database, take the lock, insert the row (blocking; a thread)."""
        from crawler.db.session import database_url

        engine = _engine()
        lock = SiteLock(database_url(), row["spider"])
        holder = None
        if lock.acquire():
            self.lock = lock
        else:
            with engine.connect() as conn:
                holder = lock_holder(conn, row["spider"])
        return _insert_run(row), holder

    # -- the lock's watchdog (reactor thread, with each check on a thread of its own) ---
    def _watch_lock(self) -> None:
        if self.lock is None or self._lock_error is not None:
            return
        if self._check_started is not None:
            if time.monotonic() - self._check_started > LOCK_CHECK_DEADLINE:
                self._lock_lost(TimeoutError(f"no answer in {LOCK_CHECK_DEADLINE:.0f} s"))
            return
        self._check_started = time.monotonic()
        threading.Thread(target=self._check_lock, name="akhbar-lock-check", daemon=True).start()

    def _check_lock(self) -> None:
        from twisted.internet import reactor

        lock = self.lock
        try:
            if lock is not None:
                lock.check()
        except Exception as exc:
            self._lock_error = exc
            reactor.callFromThread(self._lock_lost, exc)  # type: ignore[attr-defined]
        finally:
            self._check_started = None

    def _lock_lost(self, exc: BaseException) -> None:
        if self.lock is None:  # released at close meanwhile, or already handled
            return
        if self._watch is not None and self._watch.running:
            self._watch.stop()
        spider = self.crawler.spider
        name = spider.name if spider is not None else "crawl"
        logger.error(
            "%s: lost the site lock (%s); stopping discovery, storing or spooling what is in"
            " flight",
            name,
            one_line(exc),
        )
        self.crawler.stats.set_value("crawl_run/lock_lost", 1)
        # Its connection is gone, and the lock with it; closing it must not block the crawl.
        lock, self.lock = self.lock, None
        threading.Thread(target=lock.release, name="akhbar-lock-close", daemon=True).start()
        assert self.crawler.engine is not None
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="lock_lost"))

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._watch is not None and self._watch.running:
            self._watch.stop()
        # Into the stats collector too, so Scrapy's closing stats dump shows them.
        for key, value in summary(self.crawler.stats.get_stats()).items():
            self.crawler.stats.set_value(key, value)
        stats = self.crawler.stats.get_stats()
        status = run_status(reason, stats, spider)
        self.crawler.stats.set_value(STATUS_STAT, status)
        values = {
            "finished_at": stats.get("finish_time") or datetime.now(UTC),
            "status": status,
            "finish_reason": reason,
            "stats": json_safe(self.crawler.stats.get_stats()),
        }
        deadline = self.crawler.settings.getfloat("STORE_BATCH_TIMEOUT", RUN_END_DEADLINE)
        if status == "interrupted" and deadline > 0:
            deadline = min(deadline, INTERRUPTED_RUN_END_DEADLINE)
        database_gone = False
        try:
            if self.run_id is not None:
                await asyncio.to_thread(
                    run_bounded,
                    _finish_run,
                    self.run_id,
                    values,
                    timeout=deadline,
                    what="recording the end of the crawl run",
                )
        except Exception as exc:
            if not is_outage(exc):
                _log_failure("could not record the end of the crawl run", exc)
            else:
                database_gone = True
                self._spool_end(values, exc)
        else:
            if self.run_id is not None:
                logger.info("crawl run %d %s (%s)", self.run_id, status, reason)
        finally:
            if self.lock is not None:
                await asyncio.to_thread(self._release_lock, not database_gone)
        pending = int(stats.get(SPOOLED_PENDING_STAT) or 0)
        if pending:
            logger.warning(
                "%s: %d observations are spooled in %s, not yet stored; the next crawl or"
                " `akhbar spool replay` stores them",
                spider.name,
                pending,
                spool_dir(),
            )

    def _release_lock(self, wait: bool) -> None:
        lock, self.lock = self.lock, None
        if lock is None:
            return
        if not wait:
            # The database just did not answer: closing our connection (at the latest when
            # the process ends) releases the lock; do not hold the crawl's end for it.
            threading.Thread(target=lock.release, name="akhbar-lock-close", daemon=True).start()
            return
        try:
            run_bounded(lock.release, timeout=LOCK_RELEASE_DEADLINE, what="releasing the lock")
        except Exception as exc:
            logger.warning("site lock not released cleanly: %s", one_line(exc))

    def _spool_end(self, values: dict[str, Any], exc: BaseException) -> None:
        assert self.run_id is not None
        try:
            path = spool.spool_run_end(
                spool_dir(), self.run_id, values, database=_explicit_database()
            )
        except OSError as error:
            logger.error(
                "could not record or spool the end of crawl run %d: %s", self.run_id, error
            )
            return
        logger.warning(
            "database unreachable at the end of crawl run %d (%s); its end is spooled in %s",
            self.run_id,
            one_line(exc),
            path.name,
        )


def _explicit_database() -> str | None:
    from crawler.config import database_url_from_env
    from crawler.db.session import masked_url, normalize_url

    explicit = database_url_from_env()
    return masked_url(normalize_url(explicit)) if explicit else None


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
        mark_interrupted(conn, CrawlRun.id.in_(gone), "process ended without closing the run")


def mark_interrupted(conn: Any, which: Any, reason: str) -> None:
    """End the ``running`` rows matching ``which`` (a SQL condition) as interrupted."""
    conn.execute(
        update(CrawlRun)
        .where(CrawlRun.status == "running", which)
        .values(status="interrupted", finish_reason=reason, finished_at=datetime.now(UTC))
    )


def _log_failure(what: str, exc: BaseException) -> None:
    # The crawl goes on either way; an outage is expected (one line), anything else is a
    # bug and gets its traceback.
    if is_outage(exc):
        logger.warning("%s: %s", what, one_line(exc))
    else:
        logger.error("%s: %s", what, one_line(exc), exc_info=exc)

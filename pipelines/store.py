"""The last pipeline: observations go to PostgreSQL in batches, one transaction each.

Items are buffered and flushed when ``STORE_BATCH_SIZE`` of them are waiting or
``STORE_BATCH_SECONDS`` after the first one arrived (a timer, so a slow crawl still writes),
and at close. Database work is blocking (psycopg), so it runs on one writer thread, one
batch at a time and in order; the crawl keeps downloading meanwhile. At most two batches
wait for the writer (flushed full or by the timer), after that ``process_item`` waits too
(back-pressure instead of an unbounded queue while the database is slow or down).

Outages: a batch that hits a connection error is retried with backoff
(``STORE_RETRY_TIMES``, first delay ``STORE_RETRY_DELAY`` seconds, doubling); if the database
stays down the batch is spooled (``crawler.spool``) and the crawl goes on. While it is down
each later batch tries once and spools at once. Every batch first replays the spool, so once
the database is back the spooled batches are stored in order before newer ones; the next
crawl's first batch replays whatever is still there, and a crawl that ends with
observations still spooled says so (``store/spooled_pending``, run status ``spooled``). Recording is idempotent, so a batch that was
committed but not yet deleted from the spool is harmless when replayed again.

A database that stops answering (a stopped server process, a stalled proxy or network:
no error ever comes) is an outage too. Every pooled connection has libpq keepalives,
``tcp_user_timeout`` and server-side statement and idle-in-transaction timeouts
(crawler.db.session.connect_args), but a peer whose kernel still acknowledges escapes
them all, so each attempt of the writer is bounded itself: with no transaction committed
for ``STORE_BATCH_TIMEOUT`` seconds (60) the attempt is given up (DatabaseTimeout: the
warning says "no answer from the database in 60 s"), the sockets of the writer's own pool
are shut down so the blocked call fails and the pool reconnects, and the batch is retried
and spooled like any outage. The attempt runs on a daemon thread, so one that does not
even notice is abandoned and never holds up the crawl or its exit. Should it commit
after all, the batch is also in the spool: recording is idempotent, the replay stores
nothing twice.

Closing never waits unbounded. As soon as the crawl begins to close (Ctrl-C, SIGTERM, a
lost lock, the end) each batch left gets one attempt, none once the database is down, with the bound
cut to 5 s when the crawl was interrupted; ``process_item`` stops waiting behind the writer.
Whatever the writer still has after one bound per batch (plus 10 s) is spooled from here,
with a warning that says how many observations. (Items a spider yields from ``start()``
and that wait here when the close begins need Scrapy to look again whether its scraper is
idle, which Scrapy 2.19 forgets: ``_recheck_scraper_idle``.)

A batch the database *rejects* (not an outage: bad data, a bug) is retried item by item so
the good ones are stored; the rejected ones go to ``spool/failed/`` and count as
``store/errors`` (and make the crawl run "failed").

What is in memory is lost only on a forced stop (a second Ctrl-C, SIGKILL): at most the
buffer and the queued batches, which the next crawl observes again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

from scrapy import Spider
from scrapy.crawler import Crawler
from sqlalchemy import Engine, select, update

from crawler import spool
from crawler.config import spool_dir
from crawler.db import revisions
from crawler.db.models import CrawlRun
from crawler.db.session import run_bounded
from crawler.errors import is_outage, one_line
from crawler.items import ArticleGone, ArticleItem, ArticleSeen, Observation, SiteInfo
from crawler.runs import RUN_ID_STAT, SPOOLED_PENDING_STAT

logger = logging.getLogger(__name__)

OBSERVATION_TYPES = (ArticleItem, ArticleSeen, ArticleGone)
MAX_QUEUED_BATCHES = 2
# STORE_BATCH_TIMEOUT's default: seconds a batch write may go without a committed transaction.
BATCH_TIMEOUT = 60.0
# At close, beyond one batch timeout per batch still waiting, before the rest is spooled.
CLOSE_MARGIN = 10.0
# The batch bound once the crawl is interrupted (Ctrl-C, SIGTERM): stop within seconds.
INTERRUPTED_BATCH_TIMEOUT = 5.0
# How often a waiting process_item looks whether the crawl is closing.
BACK_PRESSURE_POLL = 0.5


def site_info_for(spider: Spider) -> SiteInfo:
    """The spider's declared ``site_info``, else one built from its name, ``outlet_name``
    and ``base_url`` (or first allowed domain)."""
    declared = getattr(spider, "site_info", None)
    if isinstance(declared, SiteInfo):
        return declared
    domains = list(getattr(spider, "allowed_domains", None) or [])
    base_url = getattr(spider, "base_url", None) or (f"https://{domains[0]}/" if domains else "")
    return SiteInfo(
        slug=spider.name,
        name=getattr(spider, "outlet_name", None) or spider.name,
        base_url=base_url,
    )


class BatchWriter:
    """Writes batches to the database, retrying, spooling and replaying; blocking.

    Used by ``StorePipeline`` on its writer thread, by ``akhbar spool replay`` and by
    ``bench/store.py``. Not thread-safe: one thread at a time.
    """

    def __init__(
        self,
        site: SiteInfo | None,
        *,
        database_url: str | None = None,
        spool_directory: Path | None = None,
        retry_times: int = 4,
        retry_delay: float = 1.0,
        batch_timeout: float = BATCH_TIMEOUT,
        any_database: bool = False,
    ) -> None:
        self.site = site
        self.database_url = database_url
        self.spool_dir = spool_directory if spool_directory is not None else spool_dir()
        self.retry_times = retry_times
        self.retry_delay = retry_delay
        self.batch_timeout = batch_timeout
        # Set at close (from another thread): no more retries or backoff; once the database
        # is down, one short attempt (it may be back since the last batch gave up), then
        # every batch left is spooled at once.
        self.closing = threading.Event()
        self._probed_at_close = False
        # Set when the crawl is interrupted: the bound shrinks to INTERRUPTED_BATCH_TIMEOUT.
        self.interrupted = threading.Event()
        self.engine: Engine | None = None
        self.target: str | None = None  # masked URL, once known; written into spool files
        self.down = False  # the last attempt failed: try once, then spool at once
        self.any_database = any_database  # replay batches spooled for other databases too
        self._warned_foreign = False
        self._spooled: dict[Path, int] = {}  # files this writer spooled -> observations
        self._answered = time.monotonic()  # when the database last committed for us

    def spooled_pending(self) -> int:
        """Observations this writer spooled that are still waiting (no replay stored them)."""
        return sum(n for path, n in list(self._spooled.items()) if path.exists())

    def spool(self, batch: Sequence[Observation], crawl_run_id: int | None) -> Path:
        """Spool ``batch`` without trying the database (the caller gave up waiting)."""
        return self._spool(batch, crawl_run_id)

    def _spool(self, batch: Sequence[Observation], crawl_run_id: int | None) -> Path:
        path = spool.spool_batch(
            self.spool_dir,
            batch,
            site=self.site,
            crawl_run_id=crawl_run_id,
            database=self._target(),
        )
        self._spooled[path] = len(batch)
        return path

    # -- connection -------------------------------------------------------------------
    def connect(self) -> Engine:
        """Engine for the database, migrated, with our site row (raises when unreachable)."""
        if self.engine is None:
            from crawler.db.session import database_url, ensure_schema, new_engine

            url = self.database_url or database_url()
            self.target = _masked(url)
            ensure_schema(url)
            # A pool of its own: a batch that overran its bound severs only our connections.
            engine = new_engine(url, pool_size=2, max_overflow=2)
            if self.site is not None:
                with engine.begin() as conn:
                    revisions.ensure_site(conn, self.site)
            self.engine = engine
        return self.engine

    def replay_at_start(self) -> Counter[str]:
        """Replay what earlier crawls spooled; an outage is left to the crawl's start gate
        (crawler.runs), which stops the crawl with one clear line."""
        stats: Counter[str] = Counter()
        try:
            self.replay(stats)
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.debug("spool not replayed at start: %s", one_line(exc))
        return stats

    def _bounded(self, fn: Any, *args: Any, what: str) -> Any:
        """``fn(*args)``, cut off when no transaction has committed for ``batch_timeout``
        seconds (raises DatabaseTimeout, an outage; see crawler.db.session.run_bounded)."""
        self._answered = time.monotonic()
        return run_bounded(
            fn,
            *args,
            timeout=self.attempt_timeout,
            what=what,
            on_timeout=self._sever,
            last_progress=lambda: self._answered,
        )

    def attempt_timeout(self) -> float:
        """The bound of one attempt now: shorter once the crawl is interrupted, and for the
        one attempt at close after the database was down."""
        short = self.interrupted.is_set() or (self.down and self.closing.is_set())
        if short and self.batch_timeout > 0:
            return min(self.batch_timeout, INTERRUPTED_BATCH_TIMEOUT)
        return self.batch_timeout

    def _sever(self) -> None:
        from crawler.db.session import sever

        if self.engine is not None:
            sever(self.engine)

    def _committed(self) -> None:
        self._answered = time.monotonic()

    def _target(self) -> str | None:
        if self.target is None and self.database_url:
            self.target = _masked(self.database_url)
        if self.target is None:
            from crawler.config import database_url_from_env

            explicit = database_url_from_env()
            if explicit:
                self.target = _masked(explicit)
        return self.target

    # -- writing ----------------------------------------------------------------------
    def write(self, batch: Sequence[Observation], crawl_run_id: int | None) -> Counter[str]:
        """Store one batch (after any spooled ones); spool it if the database stays down.

        Each attempt is bounded (``batch_timeout`` seconds without a commit): a database
        that stops answering is an outage like a refused connection."""
        stats: Counter[str] = Counter()
        if not batch:
            return stats
        if self.down and self.closing.is_set():
            if self._probed_at_close:
                # The crawl is closing and the database is gone: do not wait for it again.
                return self._spool_down(batch, crawl_run_id, stats, "still unavailable at close")
            self._probed_at_close = True  # one attempt, with the short bound (attempt_timeout)
        attempts = 1 if self.down or self.closing.is_set() else 1 + self.retry_times
        for attempt in range(attempts):
            try:
                stats += self._bounded(self._store, batch, crawl_run_id, what="storing a batch")
            except Exception as exc:
                if not is_outage(exc):
                    self._store_one_by_one(batch, crawl_run_id, stats, exc)
                    return stats
                if attempt + 1 < attempts and not self.closing.is_set():
                    delay = self.retry_delay * 2**attempt
                    logger.warning(
                        "database unavailable (%s); retry %d/%d in %.1f s",
                        one_line(exc),
                        attempt + 1,
                        self.retry_times,
                        delay,
                    )
                    stats["store/retries"] += 1
                    self.closing.wait(delay)  # a close cuts the backoff short
                    continue
                return self._spool_down(batch, crawl_run_id, stats, one_line(exc))
            else:
                if self.down:
                    logger.info("database reachable again")
                self.down = False
                return stats
        return self._spool_down(batch, crawl_run_id, stats, "closing")

    def _store(self, batch: Sequence[Observation], crawl_run_id: int | None) -> Counter[str]:
        """One attempt: replay the spool, then the batch in one transaction (raises)."""
        stats: Counter[str] = Counter()  # its own: an abandoned attempt counts nowhere
        engine = self.connect()
        self._replay(stats)
        with engine.begin() as conn:
            result = revisions.record(conn, batch, crawl_run_id=crawl_run_id)
        self._committed()
        stats.update(result.as_stats("store/"))
        stats["store/batches"] += 1
        stats["store/items"] += len(batch)
        return stats

    def _spool_down(
        self, batch: Sequence[Observation], crawl_run_id: int | None, stats: Counter[str], why: str
    ) -> Counter[str]:
        self.down = True
        path = self._spool(batch, crawl_run_id)
        stats["store/spooled_items"] += len(batch)
        stats["store/spooled_batches"] += 1
        logger.warning("database unavailable (%s); spooled %d items to %s", why, len(batch), path)
        return stats

    def _store_one_by_one(
        self,
        batch: Sequence[Observation],
        crawl_run_id: int | None,
        stats: Counter[str],
        exc: BaseException,
    ) -> None:
        logger.error(
            "database rejected a batch of %d (%s); storing it item by item",
            len(batch),
            one_line(exc),
        )
        try:
            stats += self._bounded(
                self._write_one_by_one, batch, crawl_run_id, what="storing item by item"
            )
        except Exception as inner:
            if is_outage(inner):
                # Gone meanwhile: spool it all (what was stored is recorded again, harmlessly).
                self._spool_down(batch, crawl_run_id, stats, one_line(inner))
                return
            # Not even one by one (e.g. the site row itself is refused).
            path = spool.spool_batch(
                self.spool_dir / spool.FAILED,
                batch,
                site=self.site,
                crawl_run_id=crawl_run_id,
                database=self._target(),
            )
            stats["store/errors"] += len(batch)
            logger.error("could not store a batch; kept in %s", path, exc_info=inner)

    def _write_one_by_one(
        self, batch: Sequence[Observation], crawl_run_id: int | None
    ) -> Counter[str]:
        stats: Counter[str] = Counter()
        engine = self.connect()
        for i, obs in enumerate(batch):
            try:
                with engine.begin() as conn:
                    result = revisions.record(conn, [obs], crawl_run_id=crawl_run_id)
            except Exception as exc:
                if is_outage(exc):
                    rest = batch[i:]
                    self._spool(rest, crawl_run_id)
                    self.down = True
                    stats["store/spooled_items"] += len(rest)
                    stats["store/spooled_batches"] += 1
                    return stats
                path = spool.spool_batch(
                    self.spool_dir / spool.FAILED,
                    [obs],
                    site=self.site,
                    crawl_run_id=crawl_run_id,
                    database=self._target(),
                )
                stats["store/errors"] += 1
                logger.error(
                    "database rejected an observation of %s (%s); kept in %s",
                    _describe(obs),
                    one_line(exc),
                    path,
                    exc_info=exc,
                )
            else:
                self._committed()
                stats.update(result.as_stats("store/"))
                stats["store/items"] += 1
        stats["store/batches"] += 1
        return stats

    # -- replay -----------------------------------------------------------------------
    def replay(self, stats: Counter[str]) -> None:
        """Store every spooled batch, oldest first, deleting each after its commit.

        An outage propagates (the caller retries or spools), a database that stops
        answering too (DatabaseTimeout after ``batch_timeout`` seconds without a commit);
        a batch the database rejects, or a file that cannot be read, is moved to
        ``failed/`` and counted in ``store/errors``. Batches spooled for another database
        are left for it.
        """
        stats.update(self._bounded(self._replay_all, what="replaying the spool"))

    def _replay_all(self) -> Counter[str]:
        stats: Counter[str] = Counter()
        self._replay(stats)
        return stats

    def _replay(self, stats: Counter[str]) -> None:
        paths = spool.pending(self.spool_dir)
        if not paths:
            return
        engine = self.connect()
        foreign = 0
        for path in paths:
            try:
                outcome = self._replay_one(engine, path, stats)
            except spool.SpoolFormatError as exc:
                target = spool.quarantine(path)
                stats["store/errors"] += 1
                logger.error("unreadable spool file moved to %s: %s", target, exc)
                continue
            foreign += outcome == "foreign"
        if foreign and not self._warned_foreign:
            self._warned_foreign = True
            logger.warning(
                "%d spooled batches in %s belong to another database; left for it",
                foreign,
                self.spool_dir,
            )

    def _replay_one(self, engine: Engine, path: Path, stats: Counter[str]) -> str:
        with spool.claim(path) as batch:
            if batch is None:  # another process is replaying it, or already did
                return "busy"
            if batch.database not in (None, self.target) and not self.any_database:
                return "foreign"
            try:
                with engine.begin() as conn:
                    if batch.site is not None:
                        revisions.ensure_site(conn, batch.site)
                    run_id = _existing_run(conn, batch.crawl_run_id)
                    result = revisions.record(conn, batch.observations, crawl_run_id=run_id)
                    if batch.run_end is not None and run_id is not None:
                        conn.execute(
                            update(CrawlRun).where(CrawlRun.id == run_id).values(**batch.run_end)
                        )
                        logger.info("recorded the spooled end of crawl run %d", run_id)
            except Exception as exc:
                if is_outage(exc):
                    raise
                target = spool.quarantine(path)
                stats["store/errors"] += len(batch.observations)
                logger.error(
                    "database rejected spooled batch %s (%s); moved to %s",
                    path.name,
                    one_line(exc),
                    target,
                    exc_info=exc,
                )
                return "rejected"
            spool.remove(path)
        self._committed()
        stats.update(result.as_stats("store/"))
        stats["store/replayed_items"] += len(batch.observations)
        stats["store/replayed_batches"] += 1
        logger.info("replayed %d spooled items from %s", len(batch.observations), path.name)
        return "replayed"


def _masked(url: str) -> str:
    from crawler.db.session import masked_url, normalize_url

    return masked_url(normalize_url(url))


def _existing_run(conn: Any, run_id: int | None) -> int | None:
    # A spool file may outlive its crawl_runs row (another database, a purge).
    if run_id is None:
        return None
    return conn.scalar(select(CrawlRun.id).where(CrawlRun.id == run_id))


def _describe(obs: Observation) -> str:
    return f"{type(obs).__name__}({obs.site}, {getattr(obs, 'url', None) or obs.external_id})"


class StorePipeline:
    """Buffers observations and hands them to a ``BatchWriter`` on its own thread."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.batch_size = max(1, settings.getint("STORE_BATCH_SIZE", 200))
        self.batch_seconds = settings.getfloat("STORE_BATCH_SECONDS", 2.0)
        self.retry_times = settings.getint("STORE_RETRY_TIMES", 4)
        self.retry_delay = settings.getfloat("STORE_RETRY_DELAY", 1.0)
        self.batch_timeout = settings.getfloat("STORE_BATCH_TIMEOUT", BATCH_TIMEOUT)
        self.writer: BatchWriter | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="akhbar-store")
        self._buffer: list[Observation] = []
        self._queued: list[asyncio.Future[Counter[str]]] = []
        # What each queued future writes: (batch, run id), or None for the start's replay.
        self._batches: dict[asyncio.Future[Counter[str]], tuple[list[Observation], Any]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watch: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def open_spider(self) -> None:
        spider = self.crawler.spider
        assert spider is not None
        self._loop = asyncio.get_running_loop()
        self.writer = BatchWriter(
            site_info_for(spider),
            retry_times=self.retry_times,
            retry_delay=self.retry_delay,
            batch_timeout=self.batch_timeout,
        )
        # First on the writer thread, not awaited: the crawl's start gate (crawler.runs)
        # checks the database meanwhile, and every batch waits behind the replay.
        future = self._loop.run_in_executor(self._executor, self.writer.replay_at_start)
        self._queued.append(future)
        future.add_done_callback(self._written)
        self._watch = asyncio.ensure_future(self._watch_closing())

    async def _watch_closing(self) -> None:
        """Tell the writer at once when the crawl begins to close (interrupted or not), not
        only at close_spider: Scrapy closes the pipelines only after every item in flight
        is through them, and those may be waiting behind batches the writer would still
        try one by one."""
        engine = self.crawler.engine
        while engine is not None and not engine.running:  # the pipelines open before it runs
            await asyncio.sleep(BACK_PRESSURE_POLL)
        while not self._crawl_closing():
            await asyncio.sleep(BACK_PRESSURE_POLL)
        if self.writer is not None:
            self.writer.closing.set()
            if self._interrupted():
                self.writer.interrupted.set()
        while True:  # until close_spider cancels this task
            self._recheck_scraper_idle()
            await asyncio.sleep(BACK_PRESSURE_POLL)

    def _recheck_scraper_idle(self) -> None:
        # Scrapy 2.19 does not look again whether its scraper is idle when an item that came
        # from start() leaves the pipelines (Scraper.start_itemproc_async, unlike items
        # from responses): one that was waiting here behind the writer when the close began
        # would hold the close forever. Ask it again, as it does for the others.
        scraper = getattr(self.crawler.engine, "scraper", None)
        slot = getattr(scraper, "slot", None)
        check = getattr(scraper, "_check_if_closing", None)
        if slot is not None and slot.closing is not None and check is not None:
            if not slot.closing.called:
                check()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, OBSERVATION_TYPES):
            return item
        self._buffer.append(item)
        if len(self._buffer) == 1 and self._loop is not None:
            self._timer = self._loop.call_later(self.batch_seconds, self._flush)
        if len(self._buffer) >= self.batch_size:
            self._flush()
        # Back-pressure (whether the batches were flushed full or by the timer): wait while
        # the writer is behind, but not once the crawl is closing (Ctrl-C, SIGTERM):
        # close_spider bounds the wait and spools the rest.
        while not self._crawl_closing():
            behind = [f for f in self._queued if not f.done()]
            if len(behind) <= MAX_QUEUED_BATCHES:
                break
            await asyncio.wait([behind[0]], timeout=BACK_PRESSURE_POLL)
        return item

    def _crawl_closing(self) -> bool:
        engine = self.crawler.engine
        if engine is None:
            return False
        # Scrapy has no "closing" signal before the pipelines close; its slot says so.
        slot = getattr(engine, "_slot", None)
        return self._interrupted() or getattr(slot, "closing", None) is not None

    def _interrupted(self) -> bool:
        # Ctrl-C and SIGTERM stop the engine (engine.stop_async) before closing the spider.
        engine = self.crawler.engine
        return engine is not None and not engine.running

    async def close_spider(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self.writer is not None:
            self.writer.closing.set()
            if self._interrupted():
                self.writer.interrupted.set()
        self._flush()
        if self._queued:
            # Each batch left gets at most one bounded attempt (none once the database is
            # down), so this is a bound the writer keeps unless something is badly wrong.
            per_batch = (
                self.writer.attempt_timeout() if self.writer is not None else self.batch_timeout
            )
            bound = per_batch * len(self._queued) + CLOSE_MARGIN
            await asyncio.wait(
                list(self._queued), timeout=bound if self.batch_timeout > 0 else None
            )
            self._spool_unwritten(bound)
        # Count the last batches now: their done-callbacks may not have run yet, and the
        # crawl_runs row is written right after the pipelines close.
        for future in list(self._queued):
            future.remove_done_callback(self._written)
            self._written(future)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self.writer is not None:
            self.stats.set_value(SPOOLED_PENDING_STAT, self.writer.spooled_pending())

    def _spool_unwritten(self, bound: float) -> None:
        """Spool, from here, the batches the writer did not get to in time (never drop)."""
        late = [f for f in self._queued if not f.done()]
        if not late or self.writer is None:
            return
        spooled = 0
        for future in late:
            future.remove_done_callback(self._written)
            future.cancel()
            self._queued.remove(future)
            entry = self._batches.pop(future, None)
            if entry is None:  # the start's replay: its files are still in the spool
                continue
            batch, run_id = entry
            try:
                self.writer.spool(batch, run_id)
            except OSError as exc:
                self.stats.inc_value("store/errors", len(batch))
                logger.error(
                    "%d observations neither stored nor spooled: %s", len(batch), one_line(exc)
                )
                continue
            spooled += len(batch)
        self.stats.inc_value("store/spooled_items", spooled)
        logger.warning(
            "the database writer did not finish within %.0f s at close; spooled %d"
            " observations it still had (any it stores later is recorded once, not twice)",
            bound,
            spooled,
        )

    def _flush(self) -> None:
        """Hand the buffer to the writer thread (it runs batches in submission order)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buffer or self.writer is None or self._loop is None:
            return
        batch, self._buffer = self._buffer, []
        # Read now, not in the thread: the run id is set by CrawlRunRecorder at open.
        run_id = self.stats.get_value(RUN_ID_STAT)
        future = self._loop.run_in_executor(self._executor, self.writer.write, batch, run_id)
        self._queued.append(future)
        self._batches[future] = (batch, run_id)
        future.add_done_callback(self._written)

    def _written(self, future: asyncio.Future[Counter[str]]) -> None:
        self._queued.remove(future)
        entry = self._batches.pop(future, None)
        size = len(entry[0]) if entry is not None else 0
        exc = asyncio.CancelledError() if future.cancelled() else future.exception()
        if exc is not None:
            # Not an outage (the writer spools those) but a bug, or the spool itself could
            # not be written (disk full): never lose a batch silently.
            self.stats.inc_value("store/errors", size)
            logger.error(
                "store writer failed: %d observations neither stored nor spooled",
                size,
                exc_info=exc,
            )
            return
        self._count(future.result())

    def _count(self, stats: Counter[str]) -> None:
        for key, value in stats.items():
            self.stats.inc_value(key, value)

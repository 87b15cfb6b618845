"""Scheduled crawls: an APScheduler service, or the same schedule as a crontab.

The schedule is declared once, beside each site (the spider's ``schedule``, a cron
expression in the machine's local time zone, read as cron reads it). Every crawl is its own
``scrapy crawl`` process: Twisted's reactor cannot restart inside one process, and a process
per crawl isolates crashes and memory and lets a hung crawl be stopped. Two crawls of one
site never overlap however they were started: each crawl takes its site's lock in the
database itself (``crawler.db.locks``); the service also never starts a site that it is
still crawling.

The service keeps its job state in PostgreSQL (``scheduler_jobs``, APScheduler's
``SQLAlchemyJobStore``), so after a restart it knows what it missed: each job whose run time
passed while the service was down runs once (coalesced), however long the downtime was,
and then follows its schedule. Runs get a random delay of up to ``JITTER_SECONDS`` so many
sites declared for the same minute do not start together.
"""

from __future__ import annotations

import logging
import shlex
import signal
import socket
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from tzlocal import get_localzone

from crawler.commands import crawl_command, crawl_environment
from crawler.config import akhbar_home, database_url_from_env
from crawler.runs import EXIT_INVALID_ARGUMENTS, EXIT_STATUS, mark_interrupted

logger = logging.getLogger(__name__)

# A run the service could not start on time while it was up (all workers busy) still
# starts if it is this late or less; runs missed while it was down are caught up at start.
MISFIRE_GRACE_SECONDS = 3600
# Each run starts up to this many seconds after its scheduled time.
JITTER_SECONDS = 120
# How long a crawl may take to close cleanly (flush or spool its last batch) after SIGTERM.
STOP_GRACE_SECONDS = 60.0
# Counting missed runs stops here (a schedule every minute, down for years).
MAX_MISSED_COUNTED = 100_000
JOB_TABLE = "scheduler_jobs"
ONCE_SUFFIX = ":once"

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MEANING = {code: status for status, code in EXIT_STATUS.items()}
_MEANING[0] = "finished (or skipped: another crawl held the site)"
_MEANING[EXIT_INVALID_ARGUMENTS] = "invalid arguments"
_MEANING[143] = "interrupted"


def cron_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler reads it (names, never numbers).

    Cron counts 0 (and 7) as Sunday; APScheduler 3 counts 0 as Monday, so the same
    ``1-5`` would run on other days in the service than in the crontab.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        spec, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            first, last = 0, 6
        else:
            low, _, high = spec.partition("-")
            first = _weekday(low)
            last = _weekday(high) if high else (6 if step_text else first)
            if high and last < first:  # "sat-sun" reads as 6-7 in cron
                last += 7
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def _weekday(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token[:3] in _WEEKDAYS:
        return _WEEKDAYS.index(token[:3])
    raise ValueError(f"not a day of the week: {token!r}")


def cron_trigger(expression: str, timezone: Any = None, jitter: int | None = None) -> CronTrigger:
    """A crontab expression (minute hour day month weekday) as an APScheduler trigger."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields, not {len(fields)}: {expression!r}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=cron_weekdays(weekday),
        timezone=timezone or get_localzone(),
        jitter=jitter,
    )


@dataclass(frozen=True, slots=True)
class CrawlJob:
    spider: str
    schedule: str  # cron expression: minute hour day-of-month month day-of-week

    def trigger(self, jitter: int | None = None) -> CronTrigger:
        return cron_trigger(self.schedule, jitter=jitter)

    def next_run(self, now: datetime | None = None) -> datetime | None:
        now = now or datetime.now(get_localzone())
        return self.trigger().get_next_fire_time(None, now)

    @property
    def name(self) -> str:
        # Stored with the job: a changed schedule is a new job, not a catch-up.
        return f"crawl {self.spider} ({self.schedule})"


def declared_jobs(only: Sequence[str] = ()) -> list[CrawlJob]:
    """One job per spider that declares a schedule (optionally only the named spiders)."""
    from crawler.spiders import schedules

    declared = schedules()
    unknown = sorted(set(only) - set(declared))
    if unknown:
        raise ValueError(
            f"no scheduled spider named {', '.join(unknown)}; scheduled: {', '.join(declared)}"
        )
    return [CrawlJob(name, cron) for name, cron in declared.items() if not only or name in only]


# The running service, for jobs restored from the job store (they are stored by reference
# to this module's function, not to a service object).
_service: CrawlService | None = None


def run_scheduled_crawl(spider: str) -> int | None:
    """What every stored job calls: one crawl of ``spider`` by the running service."""
    if _service is None:
        raise RuntimeError("no crawl service is running in this process")
    return _service.run_crawl(spider)


def missed_runs(trigger: CronTrigger, since: datetime, now: datetime) -> int:
    """How many fire times of ``trigger`` fell in ``[since, now)`` (bounded count)."""
    count = 0
    when: datetime | None = since
    while when is not None and when < now and count < MAX_MISSED_COUNTED:
        count += 1
        when = trigger.get_next_fire_time(None, when + timedelta(seconds=1))
    return count


class CrawlService:
    """Runs the declared crawls on their schedules until stopped (SIGTERM or SIGINT)."""

    def __init__(
        self,
        jobs: Sequence[CrawlJob],
        *,
        database_url: str | None = None,
        max_concurrent: int = 2,
        crawl_args: Sequence[str] = (),
        stop_grace: float = STOP_GRACE_SECONDS,
        jitter: int = JITTER_SECONDS,
    ) -> None:
        from crawler.db.session import ensure_schema, get_engine

        self.jobs = list(jobs)
        self.crawl_args = list(crawl_args)
        self.stop_grace = stop_grace
        self.jitter = jitter
        ensure_schema(database_url)  # the job store's table comes with the migrations
        self.engine = get_engine(database_url)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename=JOB_TABLE)},
            executors={"default": ThreadPoolExecutor(max_concurrent)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
            timezone=get_localzone(),
        )
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self.results: list[tuple[str, int | None]] = []  # (spider, exit status; None = skipped)

    # -- one crawl ----------------------------------------------------------------------
    def run_crawl(self, spider: str) -> int | None:
        """One crawl of ``spider`` as a child process; None when not started."""
        with self._lock:
            if self._stopping.is_set():
                return None
            if spider in self._running:
                logger.warning(
                    "%s: the previous crawl of this site is still running; skipped", spider
                )
                self.results.append((spider, None))
                return None
            command = crawl_command(spider, self.crawl_args)
            logger.info("%s: starting %s", spider, shlex.join(command))
            # A session of its own: a Ctrl-C on the service's terminal must not reach the
            # crawl too; the service forwards its own stop request once.
            process = subprocess.Popen(command, env=crawl_environment(), start_new_session=True)
            self._running[spider] = process
        try:
            status = process.wait()
        finally:
            with self._lock:
                self._running.pop(spider, None)
        self._log_exit(spider, status)
        self.results.append((spider, status))
        return status

    def _log_exit(self, spider: str, status: int) -> None:
        meaning = _MEANING.get(status, "killed by a signal" if status < 0 else "unexpected")
        if status == 0:
            log = logger.info
        elif self._stopping.is_set() and status in (130, 143, -signal.SIGTERM, -signal.SIGINT):
            log, meaning = logger.info, "interrupted, as the service asked"
        elif status in (EXIT_STATUS["partial"], EXIT_STATUS["spooled"]):
            log = logger.warning
        else:
            log = logger.error
        log("%s: crawl exited with status %s (%s)", spider, status, meaning)

    # -- the service --------------------------------------------------------------------
    def start(self, *, run_now: bool = False) -> None:
        """Block, running crawls on schedule until ``stop``; ``run_now`` crawls at once too."""
        global _service
        _service = self
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.scheduler.start(paused=True)
        try:
            self._reconcile(run_now=run_now)
            self.scheduler.resume()
            for job in self.scheduler.get_jobs():
                logger.info("scheduled %s: next run %s", job.name, job.next_run_time)
            while not self._stopped.wait(1.0):
                pass
        finally:
            _service = None

    def _reconcile(self, *, run_now: bool) -> None:
        """Bring the stored jobs in line with the declarations; catch up what was missed."""
        now = datetime.now(get_localzone())
        declared = {job.spider: job for job in self.jobs}
        for stored in self.scheduler.get_jobs():
            if stored.id.endswith(ONCE_SUFFIX):
                stored.remove()  # decided anew below
            elif stored.id not in declared:
                # One service per archive: its job store holds its own jobs only.
                logger.info(
                    "%s: not scheduled by this service; removed from the job store", stored.id
                )
                stored.remove()
        for spider, job in declared.items():
            stored = self.scheduler.get_job(spider)
            trigger = job.trigger(jitter=self.jitter)
            catch_up = False
            if stored is not None and stored.name == job.name and stored.next_run_time:
                if stored.next_run_time < now:
                    missed = missed_runs(job.trigger(), stored.next_run_time, now)
                    logger.warning(
                        "%s: %d scheduled runs missed since %s while the service was down;"
                        " running once now",
                        spider,
                        missed,
                        stored.next_run_time.isoformat(timespec="minutes"),
                    )
                    catch_up = True
                    stored.modify(next_run_time=trigger.get_next_fire_time(None, now))
            else:
                self.scheduler.add_job(
                    run_scheduled_crawl,
                    trigger,
                    args=[spider],
                    id=spider,
                    name=job.name,
                    replace_existing=True,
                )
            if catch_up or run_now:
                self.scheduler.add_job(
                    run_scheduled_crawl,
                    DateTrigger(now),
                    args=[spider],
                    id=spider + ONCE_SUFFIX,
                    name=f"crawl {spider} (now)",
                    misfire_grace_time=None,
                    replace_existing=True,
                )

    def _on_signal(self, signum: int, _frame: Any) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        # From a thread: stopping waits for running crawls, which we ask to close.
        threading.Thread(target=self.stop, name="akhbar-stop", daemon=True).start()

    def stop(self) -> None:
        """Stop scheduling, ask running crawls to close (Scrapy's own graceful shutdown on
        SIGTERM), wait up to ``stop_grace`` seconds, kill what is left and mark its run
        interrupted."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
            running = list(self._running.items())
        self.scheduler.pause()
        for spider, process in running:
            logger.info("%s: asking the crawl to close", spider)
            try:
                process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass  # it ended just now
        for spider, process in running:
            try:
                process.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                logger.error("%s: crawl did not close in %.0f s; killed", spider, self.stop_grace)
                process.kill()
                process.wait()
                self._mark_interrupted(process.pid)
        self.scheduler.shutdown(wait=True)
        self._stopped.set()

    def _mark_interrupted(self, pid: int) -> None:
        from crawler.db.models import CrawlRun

        try:
            with self.engine.begin() as conn:
                mark_interrupted(
                    conn,
                    (CrawlRun.pid == pid) & (CrawlRun.hostname == socket.gethostname()),
                    f"killed by the scheduler after {self.stop_grace:.0f} s",
                )
        except Exception as exc:
            logger.warning("could not mark the killed crawl's run interrupted: %s", exc)


# -- crontab ------------------------------------------------------------------------------

BLOCK_BEGIN = "# >>> akhbar crawls (managed by `akhbar schedule crontab --install`) >>>"
BLOCK_END = "# <<< akhbar crawls <<<"


def crontab(jobs: Sequence[CrawlJob], *, log_dir: Path | None = None) -> str:
    """The same schedule as crontab lines, between markers that ``--install`` replaces."""
    project = Path(__file__).resolve().parents[1]
    log_dir = log_dir or akhbar_home() / "logs"
    lines = [
        BLOCK_BEGIN,
        "# Generated from the spiders' declarations; times are the machine's local time.",
        "# Each crawl takes its site's lock in the database: one still running is recorded",
        "# as a skipped run. Exit status 1, 3 or 4 means trouble (docs/crawl-stats.md).",
        "SHELL=/bin/sh",
        f"AKHBAR_HOME={akhbar_home()}",
    ]
    database = database_url_from_env()
    lines.append(
        f"DATABASE_URL={database}"
        if database
        else "# DATABASE_URL=postgresql+psycopg://user@host/db  (unset: the embedded database)"
    )
    for job in jobs:
        command = shlex.join(crawl_command(job.spider))
        log = shlex.quote(str(log_dir / f"{job.spider}.log"))
        lines.append(
            f"{job.schedule} cd {shlex.quote(str(project))} && mkdir -p {shlex.quote(str(log_dir))}"
            f" && SCRAPY_SETTINGS_MODULE=crawler.settings {command} >> {log} 2>&1"
        )
    lines.append(BLOCK_END)
    return "\n".join(lines) + "\n"


def with_block(existing: str, block: str) -> str:
    """``existing`` crontab text with our marked block replaced (or appended, or removed
    when ``block`` is empty); every other line is kept as it was."""
    lines = existing.splitlines()
    kept: list[str] = []
    inside = False
    placed = False
    for line in lines:
        if line.strip() == BLOCK_BEGIN:
            inside = True
            if not block and kept and not kept[-1].strip():
                kept.pop()  # the blank line --install put before the block
            if block and not placed:
                kept.extend(block.rstrip("\n").splitlines())
                placed = True
            continue
        if inside:
            if line.strip() == BLOCK_END:
                inside = False
            continue
        kept.append(line)
    if inside:
        raise ValueError(f"the crontab has {BLOCK_BEGIN!r} without {BLOCK_END!r}; fix it by hand")
    if block and not placed:
        if kept and kept[-1].strip():
            kept.append("")
        kept.extend(block.rstrip("\n").splitlines())
    return "\n".join(kept) + "\n" if kept else ""

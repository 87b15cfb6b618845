"""Scheduled crawls: an APScheduler service, or the same schedule as a crontab.

The schedule is declared once, beside each site (the spider's ``schedule``, a cron
expression in the machine's local time zone, as cron reads it). Every crawl is its own
``scrapy crawl`` process: Twisted's reactor cannot restart inside one process, and a process
per crawl isolates crashes and memory and lets a hung crawl be stopped. A per-spider lock
file, shared with the crontab lines (``flock``), keeps two crawls of one site from overlapping
whichever way they were started.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from tzlocal import get_localzone

from crawler.config import akhbar_home, database_url_from_env

logger = logging.getLogger(__name__)

# A crawl that missed its time (the service was down) still runs if it is this late or less;
# several missed runs collapse into one.
MISFIRE_GRACE_SECONDS = 3600
# How long a crawl may take to close cleanly (flush or spool its last batch) after SIGINT.
STOP_GRACE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class CrawlJob:
    spider: str
    schedule: str  # cron expression: minute hour day-of-month month day-of-week

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.schedule, timezone=get_localzone())

    def next_run(self, now: datetime | None = None) -> datetime | None:
        now = now or datetime.now(get_localzone())
        return self.trigger().get_next_fire_time(None, now)


def declared_jobs(only: Sequence[str] = ()) -> list[CrawlJob]:
    """One job per spider that declares a schedule (optionally only the named spiders)."""
    from crawler.spiders import schedules

    declared = schedules()
    unknown = sorted(set(only) - set(declared))
    if unknown:
        raise ValueError(f"no scheduled spider named {', '.join(unknown)}")
    return [CrawlJob(name, cron) for name, cron in declared.items() if not only or name in only]


def lock_path(spider: str) -> Path:
    return akhbar_home() / "locks" / f"crawl-{spider}.lock"


@contextmanager
def crawl_lock(spider: str) -> Iterator[bool]:
    """Hold the spider's crawl lock if it is free; yields whether it was acquired."""
    path = lock_path(spider)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def crawl_command(spider: str, args: Sequence[str] = ()) -> list[str]:
    """``scrapy crawl`` with this interpreter, so the service needs no PATH set-up."""
    return [sys.executable, "-m", "scrapy", "crawl", spider, *args]


def crawl_environment() -> dict[str, str]:
    # Settings by module name: works from any working directory and from an installed package.
    return {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}


class CrawlService:
    """Runs the declared crawls on their schedules until stopped (SIGTERM or SIGINT)."""

    def __init__(
        self,
        jobs: Sequence[CrawlJob],
        *,
        max_concurrent: int = 2,
        crawl_args: Sequence[str] = (),
        stop_grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.jobs = list(jobs)
        self.crawl_args = list(crawl_args)
        self.stop_grace = stop_grace
        self.scheduler = BlockingScheduler(
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
        self.results: list[tuple[str, int | None]] = []  # (spider, exit status; None = skipped)

    def run_crawl(self, spider: str) -> int | None:
        """One crawl of ``spider`` as a child process; None when another crawl of it runs."""
        if self._stopping.is_set():
            return None
        with crawl_lock(spider) as acquired:
            if not acquired:
                logger.warning("%s: a crawl of this site is still running; skipped", spider)
                self.results.append((spider, None))
                return None
            command = crawl_command(spider, self.crawl_args)
            logger.info("%s: starting %s", spider, shlex.join(command))
            # A session of its own: a Ctrl-C on the service's terminal must not reach the
            # crawl too, or our own SIGINT would be Scrapy's second one (a forced stop).
            process = subprocess.Popen(command, env=crawl_environment(), start_new_session=True)
            with self._lock:
                self._running[spider] = process
            try:
                status = process.wait()
            finally:
                with self._lock:
                    self._running.pop(spider, None)
        log = logger.info if status == 0 else logger.error
        log("%s: crawl exited with status %s", spider, status)
        self.results.append((spider, status))
        return status

    def start(self, *, run_now: bool = False) -> None:
        """Block, running crawls on schedule; ``run_now`` also starts every job at once."""
        for job in self.jobs:
            self.scheduler.add_job(
                self.run_crawl,
                job.trigger(),
                args=[job.spider],
                id=job.spider,
                name=f"crawl {job.spider}",
            )
            if run_now:
                self.scheduler.add_job(self.run_crawl, args=[job.spider], id=f"{job.spider}-now")
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        for job in self.scheduler.get_jobs():
            logger.info("scheduled %s: next run %s", job.name, job.trigger)
        self.scheduler.start()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        # Shut down from a thread: the scheduler waits for running jobs, which wait for
        # their crawls, which we ask to close cleanly.
        threading.Thread(target=self.stop, daemon=True).start()

    def stop(self) -> None:
        """Ask running crawls to close cleanly (SIGINT, as Ctrl-C), then stop scheduling."""
        self._stopping.set()
        with self._lock:
            running = list(self._running.items())
        for spider, process in running:
            logger.info("%s: asking the crawl to close", spider)
            process.send_signal(signal.SIGINT)
        for spider, process in running:
            try:
                process.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                logger.error("%s: crawl did not close in %.0f s; killed", spider, self.stop_grace)
                process.kill()
        self.scheduler.shutdown(wait=True)


def crontab(jobs: Sequence[CrawlJob], *, log_dir: Path | None = None) -> str:
    """The same schedule as crontab lines, sharing the service's per-spider locks."""
    project = Path(__file__).resolve().parents[1]
    log_dir = log_dir or akhbar_home() / "logs"
    lines = [
        "# akhbar crawls, generated by `akhbar schedule crontab` from the spiders' declarations.",
        "# Times are the machine's local time. flock -n skips a crawl while one of the same",
        "# site still runs (the `akhbar schedule run` service takes the same locks).",
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
        command = " ".join(shlex.quote(part) for part in crawl_command(job.spider))
        log = shlex.quote(str(log_dir / f"{job.spider}.log"))
        lock = shlex.quote(str(lock_path(job.spider)))
        lines.append(
            f"{job.schedule} cd {shlex.quote(str(project))} && mkdir -p {shlex.quote(str(log_dir))}"
            f" {shlex.quote(str(lock_path(job.spider).parent))}"
            f" && SCRAPY_SETTINGS_MODULE=crawler.settings flock -n {lock} {command} >> {log} 2>&1"
        )
    return "\n".join(lines) + "\n"

"""The schedule service and its crontab: real crawl processes against the replica."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from crawl_harness import ROOT, crawl_env
from sqlalchemy import text
from tzlocal import get_localzone

from crawler.db.session import get_engine
from crawler.replica import Replica, WordPressSite
from crawler.scheduler import (
    BLOCK_BEGIN,
    BLOCK_END,
    JOB_TABLE,
    cron_trigger,
    cron_weekdays,
    declared_jobs,
    missed_runs,
    run_scheduled_crawl,
    with_block,
)

START_GRACE = 120  # seconds for a crawl process to start and store a dozen articles


def akhbar(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_for(database_url: str, sql: str, *, timeout: float = START_GRACE) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with get_engine(database_url).connect() as conn:
            value = conn.execute(text(sql)).scalar()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for: {sql}")


def test_declared_jobs_come_from_the_spiders():
    jobs = {job.spider: job for job in declared_jobs()}
    assert "furatpost" in jobs
    # Each declaration is a valid cron expression with a next run.
    assert all(job.next_run() is not None for job in jobs.values())


def test_schedule_list_and_crontab_commands(tmp_path):
    env = crawl_env(None, None, tmp_path)
    listed = akhbar("schedule", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "furatpost" in listed.stdout and "next:" in listed.stdout

    cron = akhbar("schedule", "crontab", "furatpost", env=env)
    assert cron.returncode == 0, cron.stderr
    lines = cron.stdout.splitlines()
    assert lines[0] == BLOCK_BEGIN and lines[-1] == BLOCK_END
    jobs = [line for line in lines if line and not line[0].isupper() and not line.startswith("#")]
    assert len(jobs) == 1
    fields = jobs[0].split()
    cron_trigger(" ".join(fields[:5]))  # raises on an invalid expression
    assert "crawl furatpost" in jobs[0] and "flock" not in jobs[0]

    unknown = akhbar("schedule", "crontab", "nosuchsite", env=env)
    assert unknown.returncode == 1 and "nosuchsite" in unknown.stderr


def test_crontab_install_replaces_only_its_own_block(tmp_path):
    env = crawl_env(None, None, tmp_path)
    table = tmp_path / "crontab"
    mine = "MAILTO=me@example.org\n0 3 * * * /usr/local/bin/backup.sh\n"
    table.write_text(mine)
    for _ in range(2):  # installing twice leaves one block
        done = akhbar("schedule", "crontab", "--install", "--file", str(table), env=env)
        assert done.returncode == 0, done.stderr
    text = table.read_text()
    assert text.startswith(mine)
    assert text.count(BLOCK_BEGIN) == 1 and text.count(BLOCK_END) == 1
    assert "crawl furatpost" in text

    done = akhbar("schedule", "crontab", "--uninstall", "--file", str(table), env=env)
    assert done.returncode == 0, done.stderr
    assert table.read_text() == mine


def test_with_block_keeps_the_rest_and_refuses_a_broken_block():
    block = f"{BLOCK_BEGIN}\n* * * * * true\n{BLOCK_END}\n"
    around = f"A=1\n{BLOCK_BEGIN}\nold line\n{BLOCK_END}\n5 4 * * * other\n"
    assert (
        with_block(around, block)
        == f"A=1\n{BLOCK_BEGIN}\n* * * * * true\n{BLOCK_END}\n5 4 * * * other\n"
    )
    assert with_block(around, "") == "A=1\n5 4 * * * other\n"
    assert with_block("", block) == block
    with pytest.raises(ValueError, match="without"):
        with_block(f"{BLOCK_BEGIN}\nhalf a block\n", block)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("sat-sun", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon,wed", "mon,wed"),
        ("5-7", "sun,fri,sat"),
    ],
)
def test_cron_weekdays_are_cron_weekdays(field, expected):
    # APScheduler 3 counts 0 as Monday; cron counts it as Sunday.
    assert cron_weekdays(field) == expected


def test_service_and_cron_agree_on_the_day():
    # 2026-12-06 is a Sunday.
    trigger = cron_trigger("30 6 * * 0", timezone=UTC)
    after = datetime(2026, 12, 1, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, after) == datetime(2026, 12, 6, 6, 30, tzinfo=UTC)


def test_missed_runs_are_counted_not_replayed():
    trigger = cron_trigger("0 * * * *", timezone=UTC)
    since = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    assert missed_runs(trigger, since, since + timedelta(days=3)) == 72


class Service:
    """``akhbar schedule run`` as a subprocess, its log in a file read as it grows."""

    def __init__(self, db: str, replica: Replica, home: Path, *args: str) -> None:
        self.log = home / "service.log"
        home.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crawler.cli", "schedule", "run", "furatpost", *args],
                cwd=ROOT,
                env=crawl_env(db, replica.proxy_url, home),
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_for_line(self, fragment: str, timeout: float = START_GRACE) -> None:
        deadline = time.monotonic() + timeout
        while fragment not in self.output():
            assert self.process.poll() is None, self.output()[-3000:]
            assert time.monotonic() < deadline, f"no {fragment!r} in:\n{self.output()[-3000:]}"
            time.sleep(0.2)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=90)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        output = self.output()
        assert self.process.returncode == 0, output[-3000:]
        return output


def test_service_runs_a_crawl_then_waits_for_the_next(make_database, tmp_path: Path):
    db = make_database()
    site = WordPressSite.furatpost()
    with Replica([site]) as replica:
        service = Service(db, replica, tmp_path, "--run-now")
        try:
            service.wait_for_line("furatpost: crawl exited with status 0")
            assert service.process.poll() is None, "the service exited after one crawl"
        finally:
            output = service.stop()
    assert wait_for(db, "SELECT count(*) FROM articles") == len(site.published())
    assert "ERROR" not in output, output
    # The job and its next run are in the database, for the next start.
    stored = wait_for(db, "SELECT count(*) FROM scheduler_jobs WHERE id = 'furatpost'")
    assert stored == 1


def seed_job_store(db: str, next_run: datetime) -> None:
    """The job store as a service left it when it stopped before ``next_run``."""
    (job,) = declared_jobs(["furatpost"])
    scheduler = BackgroundScheduler(timezone=get_localzone())  # never started
    store = SQLAlchemyJobStore(engine=get_engine(db), tablename=JOB_TABLE)
    store.start(scheduler, "default")
    store.add_job(
        Job(
            scheduler,
            id="furatpost",
            func=run_scheduled_crawl,
            trigger=job.trigger(),
            executor="default",
            args=["furatpost"],
            kwargs={},
            name=job.name,
            misfire_grace_time=3600,
            coalesce=True,
            max_instances=1,
            next_run_time=next_run,
        )
    )


def test_service_catches_up_once_after_a_downtime(make_database, tmp_path: Path):
    db = make_database()
    (job,) = declared_jobs(["furatpost"])
    three_days_ago = datetime.now(get_localzone()) - timedelta(days=3)
    seed_job_store(db, job.trigger().get_next_fire_time(None, three_days_ago))
    with Replica([WordPressSite.furatpost()]) as replica:
        service = Service(db, replica, tmp_path)  # no --run-now: only the catch-up runs
        try:
            service.wait_for_line("furatpost: crawl exited with status 0")
            # Nothing else is due: the one job left waits for its next scheduled time.
            assert wait_for(
                db,
                "SELECT count(*) = 1 AND bool_and(next_run_time > extract(epoch FROM now()))"
                " FROM scheduler_jobs",
            )
        finally:
            output = service.stop()
    assert output.count("scheduled runs missed since") == 1, output
    missed = int(output.split(": ", 2)[-1].split(" scheduled runs missed")[0].split()[-1])
    assert missed >= 30  # every two hours for three days
    assert wait_for(db, "SELECT count(*) FROM crawl_runs") == 1


def test_stopping_the_service_closes_a_running_crawl_cleanly(make_database, tmp_path: Path):
    db = make_database()
    site = WordPressSite.furatpost()
    with Replica([site]) as replica:
        replica.faults.add("slow", delay=4)  # every answer: the crawl is mid-way when stopped
        service = Service(db, replica, tmp_path, "--run-now")
        try:
            wait_for(db, "SELECT count(*) FROM crawl_runs WHERE status = 'running'")
        finally:
            output = service.stop()
    assert "asking the crawl to close" in output
    assert "interrupted, as the service asked" in output and "ERROR" not in output, output
    # Scrapy closed the spider as after SIGTERM, and the run says so.
    status = wait_for(db, "SELECT status FROM crawl_runs ORDER BY id DESC LIMIT 1", timeout=5)
    assert status == "interrupted", output

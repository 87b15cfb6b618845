"""The schedule service and its crontab: real crawl processes against the replica."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from crawl_harness import ROOT, crawl_env
from sqlalchemy import text

from crawler.db.session import get_engine
from crawler.replica import Replica, WordPressSite
from crawler.scheduler import CrawlJob, CrawlService, crawl_lock, crontab, declared_jobs

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
    jobs = [line for line in cron.stdout.splitlines() if line and not line[0].isupper()]
    jobs = [line for line in jobs if not line.startswith("#")]
    assert len(jobs) == 1
    fields = jobs[0].split()
    CronTrigger.from_crontab(" ".join(fields[:5]))  # raises on an invalid expression
    assert "flock -n" in jobs[0] and "crawl furatpost" in jobs[0]
    assert str(tmp_path / "locks" / "crawl-furatpost.lock") in jobs[0]

    unknown = akhbar("schedule", "crontab", "nosuchsite", env=env)
    assert unknown.returncode == 1 and "nosuchsite" in unknown.stderr


def test_crontab_shares_the_service_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("AKHBAR_HOME", str(tmp_path))
    lines = crontab([CrawlJob("furatpost", "*/5 * * * *")]).splitlines()
    (job,) = [line for line in lines if line.startswith("*/5")]
    lock = tmp_path / "locks" / "crawl-furatpost.lock"
    assert f"flock -n {lock}" in job


def test_a_running_crawl_of_the_same_site_is_not_started_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("AKHBAR_HOME", str(tmp_path))
    service = CrawlService([CrawlJob("furatpost", "0 0 * * *")])
    with crawl_lock("furatpost") as held:
        assert held
        # As a crontab line would: flock on the same file fails while the lock is held.
        busy = subprocess.run(
            ["flock", "-n", str(tmp_path / "locks" / "crawl-furatpost.lock"), "true"]
        )
        assert busy.returncode == 1
        assert service.run_crawl("furatpost") is None
    assert service.results == [("furatpost", None)]


def start_service(db: str, replica: Replica, home: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "crawler.cli", "schedule", "run", "furatpost", "--run-now"]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=crawl_env(db, replica.proxy_url, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_service(service: subprocess.Popen[str]) -> str:
    service.send_signal(signal.SIGTERM)
    try:
        output, _ = service.communicate(timeout=90)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, output
    return output


def test_service_runs_a_crawl_then_waits_for_the_next(make_database, tmp_path: Path):
    db = make_database()
    site = WordPressSite.furatpost()
    with Replica([site]) as replica:
        service = start_service(db, replica, tmp_path)
        try:
            wait_for(db, "SELECT count(*) FROM crawl_runs WHERE status = 'finished'")
            time.sleep(0.5)
            assert service.poll() is None, "the service exited after one crawl"
        finally:
            output = stop_service(service)
    assert wait_for(db, "SELECT count(*) FROM articles") == len(site.published())
    assert "crawl exited with status 0" in output


def test_stopping_the_service_closes_a_running_crawl_cleanly(make_database, tmp_path: Path):
    db = make_database()
    site = WordPressSite.furatpost()
    with Replica([site]) as replica:
        replica.faults.add("slow", delay=4)  # every answer: the crawl is mid-way when stopped
        service = start_service(db, replica, tmp_path)
        try:
            wait_for(db, "SELECT count(*) FROM crawl_runs WHERE status = 'running'")
            time.sleep(1)
        finally:
            output = stop_service(service)
    assert "asking the crawl to close" in output
    # Scrapy closed the spider as after Ctrl-C, and the run says so.
    status = wait_for(db, "SELECT status FROM crawl_runs ORDER BY id DESC LIMIT 1", timeout=5)
    assert status == "interrupted", output

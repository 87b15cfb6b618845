"""Every crawl is locked, recorded and honest about its outcome: real ``scrapy crawl``
processes against the replica, into PostgreSQL, with their exit statuses."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from crawl_harness import ROOT, crawl_env, run_crawl, start_crawl
from pgserver_owned import free_port
from sqlalchemy import text

from crawler.db.session import get_engine
from crawler.replica.server import Replica
from crawler.replica.wordpress import WordPressSite

pytestmark = pytest.mark.slow

DEADLINE = 120  # seconds for anything a loaded machine should do in a few


def scalar(db: str, sql: str, **params: Any) -> Any:
    with get_engine(db).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def one(db: str, sql: str, **params: Any) -> Any:
    with get_engine(db).connect() as conn:
        return conn.execute(text(sql), params).one()


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def slow_site() -> WordPressSite:
    # Pages fetched one by one (REST refused), each answer late: a crawl long enough to be
    # caught in the middle.
    return WordPressSite.furatpost(generated=40, rest_status=401)


def finish(proc: subprocess.Popen[str], log: Path) -> tuple[int, str]:
    try:
        code = proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return code, log.read_text()


def test_two_crawls_of_one_site_never_overlap(make_database, tmp_path: Path):
    db = make_database()
    with Replica([slow_site()]) as replica:
        replica.faults.add("slow", delay=1)
        log = tmp_path / "first.log"
        with log.open("w") as out:
            first = start_crawl("furatpost", db, replica.proxy_url, home=tmp_path / "a", log=out)
        try:
            wait_until(
                lambda: scalar(db, "SELECT count(*) FROM crawl_runs WHERE status = 'running'"),
                "the first crawl's run",
            )
            # Another home (as another host would have): only the database can tell.
            second = run_crawl("furatpost", db, replica.proxy_url, home=tmp_path / "b")
            wait_until(lambda: scalar(db, "SELECT count(*) FROM articles"), "a first article")
        finally:
            first.send_signal(signal.SIGTERM)
            code, first_log = finish(first, log)

    assert second.returncode == 0, second.log_tail()
    assert second.status == "skipped"
    (line,) = [ln for ln in second.log.splitlines() if "holds its lock" in ln]
    first_run = scalar(db, "SELECT min(id) FROM crawl_runs")
    assert f"crawl run {first_run} on " in line and "skipped" in line
    assert "downloader/request_count" not in second.stats
    assert scalar(db, "SELECT count(*) FROM crawl_runs WHERE status = 'skipped'") == 1

    # SIGTERM mid-crawl: exit 143, an interrupted run, and every item it scraped stored.
    assert code == 143, first_log[-3000:]
    status, stats = one(db, "SELECT status, stats FROM crawl_runs WHERE id = :i", i=first_run)
    assert status == "interrupted"
    assert stats["item_scraped_count"] == stats["store/items"]
    assert scalar(db, "SELECT count(*) FROM articles") == stats["store/new"]


def test_lost_lock_stops_the_crawl_and_keeps_what_it_had(make_database, tmp_path: Path):
    db = make_database()
    with Replica([slow_site()]) as replica:
        replica.faults.add("slow", delay=1)
        log = tmp_path / "crawl.log"
        with log.open("w") as out:
            proc = start_crawl(
                "furatpost",
                db,
                replica.proxy_url,
                home=tmp_path,
                log=out,
                settings={"AKHBAR_LOCK_CHECK_SECONDS": 0.5},
            )
        try:
            wait_until(lambda: scalar(db, "SELECT count(*) FROM articles"), "a first article")
            terminated = scalar(
                db,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                # This test's database only: crawls of other tests run at the same time.
                "WHERE application_name LIKE 'akhbar crawl furatpost%' "
                "AND datname = current_database()",
            )
            assert terminated == 1
            code, output = finish(proc, log)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == 1, output[-3000:]
    assert "lost the site lock" in output
    status, reason, stats = one(db, "SELECT status, finish_reason, stats FROM crawl_runs")
    assert (status, reason) == ("failed", "lock_lost")
    assert stats["item_scraped_count"] == stats["store/items"] > 0


def test_unreachable_database_stops_the_crawl_before_any_fetch(tmp_path: Path):
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/akhbar"
    with Replica([WordPressSite.furatpost()]) as replica:
        done = scrapy_crawl("furatpost", home=tmp_path, db=down, proxy=replica.proxy_url)
        assert replica.requests == []
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    (line,) = [ln for ln in output.splitlines() if "database unreachable" in ln]
    assert "crawl stopped before fetching anything" in line
    assert "Traceback" not in output
    assert not list((tmp_path / "spool").glob("*.jsonl"))


def scrapy_crawl(
    *args: str, home: Path, db: str | None = None, proxy: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", *args],
        cwd=ROOT,
        env=crawl_env(db, proxy, home),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("furatpost", "-a", "since=yesterday"),
            "scrapy crawl: furatpost: -a since=yesterday: not a date; accepted: YYYY-MM-DD,",
        ),
        (
            ("furatpost", "-a", "sinse=2024-01-01"),
            "scrapy crawl: furatpost: unknown argument -a sinse; accepted: since (",
        ),
        (("furatpost", "-a", "refetch=maybe"), "scrapy crawl: furatpost: -a refetch=maybe: not"),
        (("nosuchsite",), "scrapy crawl: no spider named 'nosuchsite'; spiders: furatpost"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args, expected, tmp_path: Path):
    done = scrapy_crawl(*args, home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(expected), done.stderr
    assert done.stdout == ""

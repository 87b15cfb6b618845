"""crawl_runs: one row per crawl, with how it ended and what it counted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import scrapy
from sqlalchemy import text
from store_crawl import finish, run_crawl

from crawler.runs import exit_status, json_safe, run_status, spider_args, summary


def row(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).one()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_a_crawl_records_its_run(engine, database_url, tmp_path):
    # A run abandoned by a killed process on this host, still "running".
    with engine.begin() as conn:
        abandoned = conn.scalar(
            text(
                "INSERT INTO crawl_runs (spider, hostname, pid) VALUES ('old', :h, :p) RETURNING id"
            ),
            {"h": socket.gethostname(), "p": dead_pid()},
        )
    before = datetime.now(UTC)
    stats = run_crawl(tmp_path, database_url, args={"count": 30, "first": 5})
    run_id = stats["crawl_run/id"]

    run = row(engine, "SELECT * FROM crawl_runs WHERE id = :id", id=run_id)
    assert run.spider == "synthetic"
    assert (run.status, run.finish_reason) == ("finished", "finished")
    assert run.args == {"count": "30", "first": "5"}
    assert run.hostname == socket.gethostname()
    assert run.pid not in (None, os.getpid())
    assert before - timedelta(seconds=5) < run.started_at < run.finished_at <= datetime.now(UTC)
    assert run.stats["store/new"] == 30
    # issue 2's counters, always present (0 included) under summary/
    assert {k: v for k, v in run.stats.items() if k.startswith("summary/")} == {
        "summary/new": 30,
        "summary/revised": 0,
        "summary/unchanged": 0,
        "summary/removed": 0,
        "summary/dropped": 0,
        "summary/blocked": 0,
        "summary/errors": 0,
    }
    assert run.stats["item_scraped_count"] == 30
    assert run.stats["crawl_run/id"] == run_id
    assert datetime.fromisoformat(run.stats["start_time"]) <= run.finished_at
    assert isinstance(run.stats["elapsed_time_seconds"], float)
    linked = row(
        engine, "SELECT count(*) FROM article_revisions WHERE crawl_run_id = :id", id=run_id
    )[0]
    assert linked == 30

    old = row(engine, "SELECT status, finished_at FROM crawl_runs WHERE id = :id", id=abandoned)
    assert old.status == "interrupted" and old.finished_at is not None


@pytest.mark.slow
def test_ctrl_c_marks_the_run_interrupted_and_loses_nothing(engine, database_url, tmp_path):
    proc, stats_out = run_crawl(
        tmp_path,
        database_url,
        settings={"STORE_BATCH_SIZE": 200, "STORE_BATCH_SECONDS": 5},
        # Items from responses, as in production. (Scrapy 2.19 can hang on SIGINT while
        # start() itself yields items, with or without our pipelines.)
        args={"count": 5000, "http": 1},
        background=True,
    )
    deadline = time.monotonic() + 60
    # Mid-crawl: a first batch is stored, thousands of requests still to go.
    while row(engine, "SELECT count(*) FROM articles")[0] == 0:
        assert time.monotonic() < deadline, "the crawl never stored its first batch"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stats = finish(proc, stats_out, exit_code=130)

    run = row(engine, "SELECT status, finish_reason, stats FROM crawl_runs")
    assert (run.status, run.finish_reason) == ("interrupted", "shutdown")
    scraped = stats["item_scraped_count"]
    assert 0 < scraped < 5000
    # Items buffered for the next batch were flushed at close, not dropped.
    assert row(engine, "SELECT count(*) FROM articles")[0] == scraped
    assert run.stats["store/new"] == scraped


class _Spider(scrapy.Spider):
    name = "s"


@pytest.mark.parametrize(
    ("reason", "stats", "expected"),
    [
        ("finished", {}, "finished"),
        ("closespider_itemcount", {}, "finished"),
        ("finished", {"store/spooled_items": 10}, "finished"),  # spooled is not lost
        ("finished", {"store/errors": 1}, "failed"),
        ("finished", {"spider_exceptions/count": 2}, "failed"),
        ("closespider_errorcount", {}, "failed"),
        ("cancelled", {}, "failed"),
        ("shutdown", {"store/errors": 1}, "interrupted"),
        ("skipped: not due", {}, "skipped"),
        ("database_unreachable", {}, "failed"),
        ("lock_lost", {}, "failed"),
        ("finished", {"store/spooled_items": 10, "store/spooled_pending": 10}, "spooled"),
        ("finished", {"store/errors": 1, "store/spooled_pending": 10}, "failed"),
        ("finished", {"spider/incomplete/listing_failed": 1}, "partial"),
        (
            "finished",
            {"spider/incomplete/listing_failed": 1, "store/spooled_pending": 3},
            "spooled",
        ),
    ],
)
def test_run_status(reason, stats, expected):
    assert run_status(reason, stats, _Spider()) == expected


@pytest.mark.parametrize(
    ("status", "signum", "code"),
    [
        ("finished", None, 0),
        ("skipped", None, 0),
        ("failed", None, 1),
        ("partial", None, 3),
        ("spooled", None, 4),
        ("interrupted", signal.SIGINT, 130),
        ("interrupted", signal.SIGTERM, 143),
        ("interrupted", None, 130),
        (None, None, 1),
    ],
)
def test_exit_status(status, signum, code):
    assert exit_status(status, signum) == code


def test_spider_can_say_it_skipped():
    spider = _Spider(skip_reason="site down for maintenance")
    assert run_status("finished", {}, spider) == "skipped"


def test_summary_sums_the_detailed_counters():
    stats = {
        "store/unchanged": 4,
        "store/seen": 6,
        "item_dropped_count": 2,
        "spider/blocked": 1,
        "store/errors": 1,
        "spider_exceptions/count": 2,
        "spider/errors": 3,
    }
    assert summary(stats) == {
        "summary/new": 0,
        "summary/revised": 0,
        "summary/unchanged": 10,
        "summary/removed": 0,
        "summary/dropped": 2,
        "summary/blocked": 1,
        "summary/errors": 6,
    }


def test_stats_and_args_are_json_safe():
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert json_safe({"t": when, "d": timedelta(seconds=1.5), "n": [1, {"x": None}]}) == {
        "t": "2026-01-02T03:04:05+00:00",
        "d": 1.5,
        "n": [1, {"x": None}],
    }
    assert spider_args(_Spider(since="2026-01-01", limit="5")) == {
        "since": "2026-01-01",
        "limit": "5",
    }

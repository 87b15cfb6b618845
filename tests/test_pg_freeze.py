"""Issue 7.1: a database that stops answering is an outage, not a hang.

Between the crawl and PostgreSQL sits a TCP proxy (tests/tcp_proxy.py) that the test
freezes mid-crawl: it stops forwarding and keeps every socket open, as a stopped server
process or a stalled network would. No error ever reaches the crawl; only its own bounds
(``STORE_BATCH_TIMEOUT``) tell it the database is gone. The database behind the proxy is a
fresh one on the shared server, which is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from store_crawl import Gates, finish, run_crawl
from tcp_proxy import FreezableProxy

from crawler import spool

pytestmark = pytest.mark.slow

BATCH_TIMEOUT = 3
# Quick retries and a short bound, so the test does not wait the production ones.
FAST = {
    "STORE_BATCH_SIZE": 50,
    "STORE_BATCH_SECONDS": 0.5,
    "STORE_RETRY_TIMES": 1,
    "STORE_RETRY_DELAY": 0.2,
    "STORE_BATCH_TIMEOUT": BATCH_TIMEOUT,
}
TIMEOUT_LINE = f"no answer from the database in {BATCH_TIMEOUT} s"


@pytest.fixture
def fresh_url(make_database) -> str:
    return make_database()


@pytest.fixture
def proxy(fresh_url: str) -> Iterator[FreezableProxy]:
    port = make_url(fresh_url).port or 5432
    proxy = FreezableProxy(port, make_url(fresh_url).host or "127.0.0.1")
    yield proxy
    proxy.close()


def proxied(proxy: FreezableProxy, url: str) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def query(url: str, sql: str):
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).one()
    finally:
        engine.dispose()


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stored(url: str) -> int:
    return query(url, "SELECT count(*) FROM articles")[0]


def spooled(home: Path) -> int:
    return sum(len(spool.load(p).observations) for p in spool.pending(home / "spool"))


def crawl_log(stats_out: Path) -> str:
    path = stats_out.parent / f"crawl-{stats_out.stem}.log"
    return path.read_text() if path.exists() else ""


def assert_each_stored_once(url: str, n: int) -> None:
    articles, ids, revisions, max_rev = query(
        url,
        "SELECT (SELECT count(*) FROM articles), (SELECT count(DISTINCT external_id) FROM articles),"
        " (SELECT count(*) FROM article_revisions), (SELECT max(revision_count) FROM articles)",
    )
    assert (articles, ids, revisions, max_rev) == (n, n, n, 1)


def stopped(proc: subprocess.Popen, stats_out: Path, timeout: float, exit_code: int) -> dict:
    """finish(), but a crawl still running after ``timeout`` dumps its threads' stacks into
    its log (faulthandler, SIGUSR1) before it is killed and the test fails."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGUSR1)
        wait_for(lambda: "most recent call first" in crawl_log(stats_out), 10, "a stack dump")
        proc.kill()
        proc.wait()
        raise AssertionError(f"the crawl did not stop:\n{crawl_log(stats_out)[-20000:]}") from None
    return finish(proc, stats_out, exit_code=exit_code)


def replay(tmp_path: Path, url: str, home: Path) -> dict:
    """The next crawl, straight to the database: it replays the spool first."""
    return run_crawl(tmp_path, url, settings=FAST, args={"count": 0}, home=home)


def test_frozen_to_the_end_spools_and_the_next_crawl_stores_once(fresh_url, proxy, tmp_path):
    home = tmp_path / "home"
    gates = Gates(tmp_path / "gates")
    n = 400
    proc, stats_out = run_crawl(
        tmp_path,
        proxied(proxy, fresh_url),
        settings=FAST,
        args={"count": n, **gates.args(200)},
        home=home,
        background=True,
    )
    gates.wait(200)
    wait_for(lambda: stored(fresh_url) == 200, 60, "the first 200 items stored")
    proxy.freeze()
    gates.open(200)
    wait_for(lambda: TIMEOUT_LINE in crawl_log(stats_out), 60, "a warning that names the bound")
    # The crawl goes on, spools what it cannot store and ends: exit status 4.
    first = finish(proc, stats_out, timeout=180, exit_code=4)
    assert first["crawl_run/status"] == "spooled"
    assert first["store/spooled_pending"] >= n - 200
    assert spooled(home) >= n - 200
    assert stored(fresh_url) == 200
    log = crawl_log(stats_out)
    assert "observations are spooled" in log
    assert "its end is spooled" in log
    assert "neither stored nor spooled" not in log

    # The frozen link breaks: the server ends its sessions and releases the crawl's lock.
    # The spool is for the database as the crawl named it, so the replay goes the same way.
    proxy.drop()
    second = replay(tmp_path, proxied(proxy, fresh_url), home)
    assert second["store/replayed_items"] >= n - 200
    assert spool.pending(home / "spool") == []
    assert_each_stored_once(fresh_url, n)
    status, reason = query(
        fresh_url,
        f"SELECT status, finish_reason FROM crawl_runs WHERE id = {first['crawl_run/id']}",
    )
    assert (status, reason) == ("spooled", "finished")


def test_freeze_mid_crawl_then_thaw_is_replayed_by_the_crawl_itself(fresh_url, proxy, tmp_path):
    home = tmp_path / "home"
    gates = Gates(tmp_path / "gates")
    n = 400
    proc, stats_out = run_crawl(
        tmp_path,
        proxied(proxy, fresh_url),
        settings=FAST,
        args={"count": n, **gates.args(200, 300)},
        home=home,
        background=True,
    )
    gates.wait(200)
    wait_for(lambda: stored(fresh_url) == 200, 60, "the first 200 items stored")
    proxy.freeze()
    gates.open(200)
    gates.wait(300)
    # Items 200-299 meet the frozen database: each batch gives up after its bound.
    wait_for(lambda: spooled(home) == 100, 90, "items 200-299 spooled")
    assert TIMEOUT_LINE in crawl_log(stats_out)
    proxy.thaw()
    gates.open(300)
    stats = finish(proc, stats_out, timeout=180)
    assert stats["crawl_run/status"] == "finished"
    assert stats["store/spooled_items"] == 100
    assert "store/errors" not in stats
    assert spool.pending(home / "spool") == []
    assert_each_stored_once(fresh_url, n)


def test_sigint_stops_a_crawl_whose_database_froze(fresh_url, proxy, tmp_path):
    home = tmp_path / "home"
    gates = Gates(tmp_path / "gates")
    proc, stats_out = run_crawl(
        tmp_path,
        proxied(proxy, fresh_url),
        settings=FAST,
        # Slow enough to be still yielding when the signal comes.
        args={"count": 5000, "delay": 0.01, **gates.args(100)},
        home=home,
        background=True,
    )
    gates.wait(100)
    wait_for(lambda: stored(fresh_url) == 100, 60, "the first 100 items stored")
    proxy.freeze()
    gates.open(100)
    wait_for(lambda: TIMEOUT_LINE in crawl_log(stats_out), 60, "a warning that names the bound")
    os.kill(proc.pid, signal.SIGINT)
    # Within seconds (one batch bound, the run's end, the lock), not when the database
    # comes back: the proxy stays frozen.
    first = stopped(proc, stats_out, 60, exit_code=130)
    assert first["crawl_run/status"] == "interrupted"
    scraped = first["item_scraped_count"]
    assert scraped < 5000
    assert "neither stored nor spooled" not in crawl_log(stats_out)
    assert stored(fresh_url) + spooled(home) >= scraped

    proxy.drop()
    replay(tmp_path, proxied(proxy, fresh_url), home)
    assert spool.pending(home / "spool") == []
    # Every observation that left the pipelines is stored, each exactly once.
    assert_each_stored_once(fresh_url, scraped)


def test_sigint_does_not_wait_the_full_batch_bound(fresh_url, proxy, tmp_path):
    # The production bound (60 s per batch, 60 s for the run's end) is too long to wait
    # after Ctrl-C: an interrupted crawl gives each at most a few seconds.
    home = tmp_path / "home"
    gates = Gates(tmp_path / "gates")
    proc, stats_out = run_crawl(
        tmp_path,
        proxied(proxy, fresh_url),
        settings={**FAST, "STORE_BATCH_TIMEOUT": 60},
        args={"count": 5000, "delay": 0.01, **gates.args(100)},
        home=home,
        background=True,
    )
    gates.wait(100)
    wait_for(lambda: stored(fresh_url) == 100, 60, "the first 100 items stored")
    proxy.freeze()
    gates.open(100)
    wait_for(proxy.holding, 30, "the crawl waiting on the frozen database")
    os.kill(proc.pid, signal.SIGINT)
    first = stopped(proc, stats_out, 45, exit_code=130)
    scraped = first["item_scraped_count"]
    assert "neither stored nor spooled" not in crawl_log(stats_out)

    proxy.drop()
    replay(tmp_path, proxied(proxy, fresh_url), home)
    assert spool.pending(home / "spool") == []
    assert_each_stored_once(fresh_url, scraped)

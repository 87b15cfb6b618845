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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from store_crawl import Gates, finish, run_crawl
from tcp_proxy import FreezableProxy
from test_pg_outage import assert_each_stored_once, query, spooled, stored, wait_for

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


def crawl_log(stats_out: Path) -> str:
    path = stats_out.parent / f"crawl-{stats_out.stem}.log"
    return path.read_text() if path.exists() else ""


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


def freeze_after(
    tmp_path: Path, proxy: FreezableProxy, url: str, first: int, settings: dict, args: dict
) -> tuple[subprocess.Popen, Path, Path]:
    """A crawl through ``proxy`` whose first ``first`` items are stored before the link
    freezes; returns the process, its stats file and its AKHBAR_HOME."""
    home = tmp_path / "home"
    gates = Gates(tmp_path / "gates")
    proc, stats_out = run_crawl(
        tmp_path,
        proxied(proxy, url),
        settings=settings,
        args={**args, **gates.args(first)},
        home=home,
        background=True,
    )
    gates.wait(first)
    wait_for(lambda: stored(url) == first, 60, f"the first {first} items stored")
    proxy.freeze()
    gates.open(first)
    return proc, stats_out, home


def interrupt_then_replay(
    tmp_path: Path, proxy: FreezableProxy, url: str, settings: dict, waiting_for: Any
) -> dict:
    """Ctrl-C a crawl once the frozen link holds it up (``waiting_for(stats_out)``); the
    crawl must stop within seconds, before the database comes back; after the link breaks
    and the next crawl replays the spool, every observation that left the pipelines is
    stored exactly once. Returns the interrupted crawl's stats."""
    # Slow enough to be still yielding when the signal comes.
    args = {"count": 5000, "delay": 0.01}
    proc, stats_out, home = freeze_after(tmp_path, proxy, url, 100, settings, args)
    wait_for(lambda: waiting_for(stats_out), 60, "the crawl held up by the frozen database")
    os.kill(proc.pid, signal.SIGINT)
    first = stopped(proc, stats_out, 45, exit_code=130)
    assert first["crawl_run/status"] == "interrupted"
    scraped = first["item_scraped_count"]
    assert scraped < 5000
    assert "neither stored nor spooled" not in crawl_log(stats_out)
    assert stored(url) + spooled(home) >= scraped

    proxy.drop()
    replay(tmp_path, proxied(proxy, url), home)
    assert spool.pending(home / "spool") == []
    assert_each_stored_once(url, scraped)
    return first


def test_frozen_to_the_end_spools_and_the_next_crawl_stores_once(fresh_url, proxy, tmp_path):
    n = 400
    proc, stats_out, home = freeze_after(tmp_path, proxy, fresh_url, 200, FAST, {"count": n})
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
    # Interrupted after a batch already gave up on the database.
    interrupt_then_replay(
        tmp_path, proxy, fresh_url, FAST, lambda stats_out: TIMEOUT_LINE in crawl_log(stats_out)
    )


def test_sigint_does_not_wait_the_full_batch_bound(fresh_url, proxy, tmp_path):
    # The production bound (60 s per batch, 60 s for the run's end) is too long to wait
    # after Ctrl-C: an interrupted crawl gives each at most a few seconds.
    settings = {**FAST, "STORE_BATCH_TIMEOUT": 60}
    interrupt_then_replay(tmp_path, proxy, fresh_url, settings, lambda _: proxy.holding())

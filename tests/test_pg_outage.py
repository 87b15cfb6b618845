"""Issue 2 rule 10: nothing is lost when PostgreSQL goes away mid-crawl.

The server that is stopped is one this module owns (tests/pgserver_owned.py), on its own
port and data directory; the shared server on 5432 is never touched.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from pgserver_owned import OwnedPostgres, available
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from store_crawl import Gates, finish, run_crawl

from crawler import spool

pytestmark = pytest.mark.slow

# Quick retries so the test does not wait the production backoff (about 15 s).
FAST = {
    "STORE_BATCH_SIZE": 50,
    "STORE_BATCH_SECONDS": 0.5,
    "STORE_RETRY_TIMES": 2,
    "STORE_RETRY_DELAY": 0.2,
}


@pytest.fixture(scope="module")
def owned() -> Iterator[OwnedPostgres]:
    reason = available()
    if reason:
        pytest.skip(reason)
    server = OwnedPostgres()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def owned_url(owned: OwnedPostgres) -> str:
    if not owned.running():
        owned.start()
    return owned.create_database(f"outage_{secrets.token_hex(4)}")


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
    try:
        return query(url, "SELECT count(*) FROM articles")[0]
    except Exception:
        return 0  # schema not there yet


def spooled(home) -> int:
    return sum(len(spool.load(p).observations) for p in spool.pending(home / "spool"))


def assert_each_stored_once(url: str, n: int) -> None:
    articles, ids, revisions, max_rev = query(
        url,
        "SELECT (SELECT count(*) FROM articles), (SELECT count(DISTINCT external_id) FROM articles),"
        " (SELECT count(*) FROM article_revisions), (SELECT max(revision_count) FROM articles)",
    )
    assert (articles, ids, revisions, max_rev) == (n, n, n, 1)
    assert query(url, "SELECT count(*) FROM article_urls")[0] == 2 * n


def test_server_restarted_mid_crawl(owned, owned_url, tmp_path):
    home = tmp_path / "home"
    gates = Gates(tmp_path / "gates")
    n = 1000
    proc, stats_out = run_crawl(
        tmp_path,
        owned_url,
        settings=FAST,
        args={"count": n, **gates.args(300, 700)},
        home=home,
        background=True,
    )
    # Items 0-299 reach the database; 300-699 are yielded while it is down; it comes back
    # for 700-999.
    gates.wait(300)
    wait_for(lambda: stored(owned_url) == 300, 60, "the first 300 items stored")
    owned.stop()
    gates.open(300)
    gates.wait(700)
    wait_for(lambda: spooled(home) == 400, 60, "items 300-699 spooled")
    owned.start()
    gates.open(700)
    stats = finish(proc, stats_out)

    assert stats["store/retries"] >= 1
    assert stats["store/spooled_items"] == 400
    assert stats["store/replayed_items"] == 400
    assert stats["store/new"] == n
    assert "store/errors" not in stats
    assert spool.pending(home / "spool") == []
    assert_each_stored_once(owned_url, n)
    status, reason = query(owned_url, "SELECT status, finish_reason FROM crawl_runs")
    assert (status, reason) == ("finished", "finished")


def test_spool_replayed_by_next_crawl(owned, owned_url, tmp_path):
    home = tmp_path / "home"
    gates = Gates(tmp_path / "gates")
    n = 600
    proc, stats_out = run_crawl(
        tmp_path,
        owned_url,
        settings=FAST,
        args={"count": n, **gates.args(200)},
        home=home,
        background=True,
    )
    gates.wait(200)
    wait_for(lambda: stored(owned_url) == 200, 60, "the first 200 items stored")
    owned.stop()
    gates.open(200)
    # The crawl completes with the database down: exit status 4, and it says how much.
    first = finish(proc, stats_out, exit_code=4)
    assert first["store/spooled_items"] == 400
    assert first["store/spooled_pending"] == 400
    assert first["crawl_run/status"] == "spooled"
    assert spooled(home) == 400
    log = "".join(p.read_text() for p in tmp_path.glob("crawl-*.log"))
    assert "400 observations are spooled" in log

    owned.start()
    second = run_crawl(tmp_path, owned_url, settings=FAST, args={"count": 0}, home=home)
    assert second["store/replayed_items"] == 400
    assert second["store/new"] == 400
    assert spool.pending(home / "spool") == []
    assert_each_stored_once(owned_url, n)
    # The first run's end was spooled with its batches and written by the replay.
    status, reason, pending, finished = query(
        owned_url,
        "SELECT status, finish_reason, stats->>'store/spooled_pending', finished_at IS NOT NULL"
        f" FROM crawl_runs WHERE id = {first['crawl_run/id']}",
    )
    assert (status, reason, pending, finished) == ("spooled", "finished", "400", True)


def test_database_down_from_the_start(owned, owned_url, database_url, engine, tmp_path):
    # The crawl stops before it fetches anything: one clear line, exit status 1.
    home = tmp_path / "home"
    owned.stop()
    first = run_crawl(
        tmp_path, owned_url, settings=FAST, args={"count": 120}, home=home, exit_code=1
    )
    assert first["crawl_run/status"] == "failed"
    assert "downloader/request_count" not in first and "item_scraped_count" not in first
    assert spool.pending(home / "spool") == []
    log = "".join(p.read_text() for p in tmp_path.glob("crawl-*.log"))
    assert "database unreachable" in log and "crawl stopped before fetching anything" in log
    assert "Traceback" not in log


def test_batches_spooled_for_another_database_are_left_alone(
    owned, owned_url, database_url, tmp_path
):
    from store_crawl import synthetic_item

    from crawler.db.session import masked_url, normalize_url

    home = tmp_path / "home"
    spool.spool_batch(
        home / "spool", [synthetic_item(1)], database=masked_url(normalize_url(owned_url))
    )
    other = run_crawl(tmp_path, database_url, settings=FAST, args={"count": 5}, home=home)
    assert "store/replayed_items" not in other
    assert len(spool.pending(home / "spool")) == 1


def test_batch_neither_stored_nor_spooled_is_counted_and_logged(owned, owned_url, tmp_path):
    # The database goes away and the spool cannot be written (its path is a file): the
    # observations are lost to this crawl, which must say so, not pass in silence.
    home = tmp_path / "home"
    home.mkdir()
    (home / "spool").write_text("not a directory")
    gates = Gates(tmp_path / "gates")
    proc, stats_out = run_crawl(
        tmp_path,
        owned_url,
        settings={**FAST, "STORE_RETRY_TIMES": 0},
        args={"count": 5, **gates.args(1)},
        home=home,
        background=True,
    )
    gates.wait(1)
    wait_for(lambda: stored(owned_url) == 1, 60, "the first item stored")
    owned.stop()
    gates.open(1)
    stats = finish(proc, stats_out, exit_code=1)
    assert stats["store/errors"] == 4
    assert "store/spooled_items" not in stats
    log = "".join(p.read_text() for p in tmp_path.glob("crawl-*.log"))
    assert "4 observations neither stored nor spooled" in log

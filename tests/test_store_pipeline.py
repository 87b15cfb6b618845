"""The store pipeline inside real crawls, and the spool format it falls back on."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from store_crawl import run_crawl, synthetic_item

from crawler import spool
from crawler.cli import main as akhbar
from crawler.items import ArticleGone, ArticleItem, ArticleSeen, Fetch, SiteInfo

DAMASCUS = ZoneInfo("Asia/Damascus")


def scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.scalar(text(sql))


# -- in a crawl ---------------------------------------------------------------------------


@pytest.mark.slow
def test_batches_are_one_transaction_each(engine, database_url, tmp_path):
    n = 450
    stats = run_crawl(tmp_path, database_url, settings={"STORE_BATCH_SIZE": 200}, args={"count": n})
    assert stats["store/new"] == n
    assert stats["store/batches"] == math.ceil(n / 200)
    # Every transaction has its own xid: rows written in k transactions carry k xmins.
    assert scalar(engine, "SELECT count(*) FROM articles") == n
    assert scalar(engine, "SELECT count(DISTINCT xmin::text) FROM articles") == 3
    assert scalar(engine, "SELECT count(DISTINCT xmin::text) FROM article_revisions") == 3
    with engine.connect() as conn:
        site = conn.execute(text("SELECT slug, name, base_url FROM sites")).one()
    assert tuple(site) == ("synthetic", "أخبار تجريبية", "https://news.example/")
    run_id = stats["crawl_run/id"]
    assert scalar(engine, "SELECT count(*) FROM article_revisions WHERE crawl_run_id IS NULL") == 0
    assert scalar(engine, "SELECT min(crawl_run_id) = max(crawl_run_id) FROM article_revisions")
    assert scalar(engine, "SELECT max(crawl_run_id) FROM article_revisions") == run_id

    # The same articles again: nothing new, nothing revised, still one revision each.
    again = run_crawl(tmp_path, database_url, args={"count": n})
    assert again["store/unchanged"] == n
    assert "store/new" not in again and "store/revised" not in again
    assert scalar(engine, "SELECT count(*) FROM article_revisions") == n


@pytest.mark.slow
def test_seen_gone_and_other_items(engine, database_url, tmp_path):
    run_crawl(tmp_path, database_url, args={"count": 5})
    stats = run_crawl(
        tmp_path, database_url, args={"count": 0, "gone": "1,2", "seen": "3", "plain": 1}
    )
    assert stats["store/removed"] == 2
    assert stats["store/seen"] == 1
    assert stats["store/items"] == 3  # the plain dict is not an observation
    assert stats["item_scraped_count"] == 4  # ...but it passed through
    assert scalar(engine, "SELECT count(*) FROM articles WHERE removed_at IS NOT NULL") == 2


@pytest.mark.slow
def test_timer_flushes_a_partial_batch(engine, database_url, tmp_path):
    # Three items, then the spider pauses: they must reach the database before the
    # crawl ends, within STORE_BATCH_SECONDS, not only at close.
    stats = run_crawl(
        tmp_path,
        database_url,
        settings={"STORE_BATCH_SIZE": 200, "STORE_BATCH_SECONDS": 0.3},
        args={"count": 5, "pause_after": 3, "pause": 10},
    )
    assert stats["test/articles_after_pause"] == 3
    assert stats["store/batches"] == 2
    assert scalar(engine, "SELECT count(*) FROM articles") == 5


@pytest.mark.slow
def test_rejected_observation_does_not_sink_its_batch(engine, database_url, tmp_path):
    home = tmp_path / "home"
    stats = run_crawl(
        tmp_path,
        database_url,
        settings={"STORE_BATCH_SIZE": 10},
        args={"count": 10, "bad": 4},
        home=home,
        exit_code=1,  # a rejected observation makes the run failed
    )
    assert stats["store/errors"] == 1
    assert stats["store/new"] == 9
    assert scalar(engine, "SELECT count(*) FROM articles") == 9
    kept = spool.failed(home / "spool")
    assert len(kept) == 1
    assert spool.load(kept[0]).observations[0].external_id == "4"
    assert spool.pending(home / "spool") == []
    status = scalar(engine, f"SELECT status FROM crawl_runs WHERE id = {stats['crawl_run/id']}")
    assert status == "failed"


# -- spool format -------------------------------------------------------------------------


def rich_item() -> ArticleItem:
    fetched = datetime(2026, 3, 5, 14, 30, 15, 123456, tzinfo=DAMASCUS)
    return ArticleItem(
        site="furatpost",
        url="https://euphratespost.net/%d8%ae%d8%a8%d8%b1/?utm_source=rss",
        canonical_url="https://euphratespost.net/خبر/",
        fetched_at=fetched,
        title="عنوان ـ مع تطويل وَتشكيل",
        body_text="فقرة أولى\n\nفقرة ثانية \u200f",
        external_id="123",
        subtitle=None,
        body_html="<p>فقرة أولى</p>",
        authors=["admindiaa", "مراسل"],
        published_at=datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
        modified_at=None,
        tags=["دير الزور"],
        urls=["https://euphratespost.net/?p=123"],
        extractor="wp-rest",
        extractor_version="1.2",
        fetch=Fetch(
            url="https://euphratespost.net/خبر/",
            status=200,
            headers={"Content-Type": ["text/html; charset=utf-8"], "Set-Cookie": ["a=1", "b=2"]},
            body=bytes(range(256)) + "نص".encode(),
            fetched_at=fetched,
            requested_url="https://euphratespost.net/?p=123",
            request_headers={"User-Agent": ["akhbar/0.1"]},
            redirects=[{"url": "https://euphratespost.net/?p=123", "status": 301}],
            protocol="HTTP/1.1",
            ip_address="127.0.0.1",
        ),
    )


def test_spool_round_trip_is_lossless(tmp_path):
    observations = [
        rich_item(),
        ArticleSeen(
            site="furatpost", observed_at=datetime(2026, 1, 1, tzinfo=UTC), external_id="9"
        ),
        ArticleGone(
            site="furatpost",
            url="https://euphratespost.net/gone/",
            observed_at=datetime(2026, 1, 2, 3, 4, tzinfo=DAMASCUS),
            status=410,
            reason="http 410",
        ),
    ]
    site = SiteInfo("furatpost", "فرات بوست", "https://euphratespost.net/")
    path = spool.spool_batch(tmp_path, observations, site=site, crawl_run_id=7)
    assert spool.pending(tmp_path) == [path]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    batch = spool.load(path)
    assert batch.observations == observations
    assert batch.site == site and batch.crawl_run_id == 7
    loaded = batch.observations[0]
    assert loaded.fetched_at.tzinfo == DAMASCUS  # the zone, not only the offset
    assert loaded.fetched_at.utcoffset() == observations[0].fetched_at.utcoffset()
    assert loaded.fetch.body == observations[0].fetch.body


def test_a_fetch_shared_by_items_is_spooled_once_and_shared_again(tmp_path):
    """A REST list response behind many items: its body is in the file once, and the
    items read back share one Fetch (stored as one fetch row)."""
    first = rich_item()
    listing = first.fetch
    listing.body = b"[" + b"x" * 5000 + b"]"
    second = rich_item()
    second.url, second.external_id, second.fetch, second.fetch_entry = (
        "https://euphratespost.net/b/",
        "124",
        listing,
        "/1",
    )
    path = spool.spool_batch(tmp_path, [first, second])
    assert path.read_text().count('"$fetch"') == 1
    assert path.stat().st_size < 2 * 5000 * 4 / 3  # base64 of the body, once
    a, b = spool.load(path).observations
    assert a.fetch is b.fetch and a.fetch == listing and b.fetch_entry == "/1"


def test_a_version_1_spool_file_with_page_snapshots_still_replays(tmp_path):
    at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    header = {"format": "akhbar-spool", "version": 1, "count": 1, "site": None}
    gone = {
        "$type": "ArticleGone", "site": "furatpost", "url": "https://euphratespost.net/g/",
        "observed_at": {"$dt": at.isoformat()}, "status": 410, "reason": "http 410",
        "external_id": None,
        "snapshot": {
            "$type": "PageSnapshot", "url": "https://euphratespost.net/g/", "status": 410,
            "headers": {"Content-Type": "text/html"}, "body": {"$b64": "PGh0bWw+"},
            "fetched_at": {"$dt": at.isoformat()},
        },
    }  # fmt: skip
    path = tmp_path / "00000000000000000001-1-000001.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps(gone) + "\n")
    (loaded,) = spool.load(path).observations
    assert loaded.fetch.headers == {"Content-Type": ["text/html"]}
    assert (loaded.fetch.body, loaded.fetch.status, loaded.fetch.fetched_at) == (b"<html>", 410, at)


def test_spool_files_sort_in_creation_order(tmp_path):
    paths = [spool.spool_batch(tmp_path, [synthetic_item(i)]) for i in range(5)]
    assert spool.pending(tmp_path) == paths


def test_damaged_spool_file_is_refused(tmp_path):
    path = spool.spool_batch(tmp_path, [synthetic_item(1), synthetic_item(2)])
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # a batch cut short
    with pytest.raises(spool.SpoolFormatError):
        spool.load(path)


def test_claimed_file_is_skipped_by_a_second_replayer(tmp_path):
    path = spool.spool_batch(tmp_path, [synthetic_item(1)])
    with spool.claim(path) as first:
        assert first is not None
        with spool.claim(path) as second:
            assert second is None
        spool.remove(path)
    with spool.claim(path) as late:
        assert late is None


def test_spool_cli_status_and_replay(engine, database_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    directory = tmp_path / "spool"
    site = SiteInfo("synthetic", "أخبار تجريبية", "https://news.example/")
    spool.spool_batch(directory, [synthetic_item(i) for i in range(3)], site=site)
    spool.spool_batch(directory, [synthetic_item(i) for i in range(2, 6)], site=site)

    assert akhbar(["spool", "--dir", str(directory), "status"]) == 0
    assert "waiting: 2 batches, 7 observations (synthetic 7)" in capsys.readouterr().out

    assert akhbar(["spool", "--dir", str(directory), "replay"]) == 0
    assert "replayed 7 observations in 2 batches" in capsys.readouterr().out
    assert spool.pending(directory) == []
    # Item 2 was in both batches: one article, one revision.
    assert scalar(engine, "SELECT count(*) FROM articles") == 6
    assert scalar(engine, "SELECT count(*) FROM article_revisions") == 6


def test_replay_with_database_down_keeps_the_files(tmp_path, monkeypatch, capsys):
    from pgserver_owned import free_port

    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")
    directory = tmp_path / "spool"
    path = spool.spool_batch(directory, [synthetic_item(1)])
    assert akhbar(["spool", "--dir", str(directory), "replay"]) == 1
    assert spool.pending(directory) == [path]
    err = capsys.readouterr().err
    assert err.startswith("akhbar: database unreachable") and "1 batches still waiting" in err
    assert len(err.strip().splitlines()) == 1


def test_rejected_spooled_batch_is_quarantined(engine, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    directory = tmp_path / "spool"
    site = SiteInfo("synthetic", "أخبار تجريبية", "https://news.example/")
    bad = synthetic_item(2)
    bad.title = "nul\x00"
    spool.spool_batch(directory, [synthetic_item(1)], site=site)
    spool.spool_batch(directory, [bad], site=site)
    spool.spool_batch(directory, [synthetic_item(3)], site=site)
    assert akhbar(["spool", "--dir", str(directory), "replay"]) == 1
    # The bad batch no longer blocks the ones after it.
    assert spool.pending(directory) == []
    assert len(spool.failed(directory)) == 1
    assert scalar(engine, "SELECT count(*) FROM articles") == 2


def test_batches_for_another_database_are_left_alone(engine, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    directory = tmp_path / "spool"
    site = SiteInfo("synthetic", "أخبار تجريبية", "https://news.example/")
    elsewhere = "postgresql+psycopg://postgres@db.elsewhere:5432/archive"
    path = spool.spool_batch(directory, [synthetic_item(1)], site=site, database=elsewhere)
    assert akhbar(["spool", "--dir", str(directory), "replay"]) == 0
    assert spool.pending(directory) == [path]
    assert scalar(engine, "SELECT count(*) FROM articles") == 0
    assert akhbar(["spool", "--dir", str(directory), "replay", "--any-database"]) == 0
    assert spool.pending(directory) == []
    assert scalar(engine, "SELECT count(*) FROM articles") == 1


def test_replay_keeps_the_order_of_the_crawl(engine, database_url, tmp_path, monkeypatch):
    # Two versions of one article in two batches: replayed in order they are two revisions;
    # out of order the older one would be stale and the edit lost from history.
    monkeypatch.setenv("DATABASE_URL", database_url)
    directory = tmp_path / "spool"
    site = SiteInfo("synthetic", "أخبار تجريبية", "https://news.example/")
    spool.spool_batch(directory, [synthetic_item(1, version=0)], site=site)
    spool.spool_batch(directory, [synthetic_item(1, version=1)], site=site)
    assert akhbar(["spool", "--dir", str(directory), "replay"]) == 0
    assert scalar(engine, "SELECT revision_count FROM articles") == 2
    assert "تحديث رقم 1" in scalar(
        engine,
        "SELECT r.body_text FROM articles a JOIN article_revisions r"
        " ON r.id = a.current_revision_id",
    )


def test_unreadable_spool_file_is_quarantined(engine, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    directory = tmp_path / "spool"
    site = SiteInfo("synthetic", "أخبار تجريبية", "https://news.example/")
    damaged = spool.spool_batch(directory, [synthetic_item(1)], site=site)
    damaged.write_bytes(damaged.read_bytes()[:-40])  # cut short, e.g. by a full disk
    spool.spool_batch(directory, [synthetic_item(2)], site=site)
    assert akhbar(["spool", "--dir", str(directory), "replay"]) == 1
    assert spool.pending(directory) == []
    assert [p.name for p in spool.failed(directory)] == [damaged.name]
    assert scalar(engine, "SELECT count(*) FROM articles") == 1

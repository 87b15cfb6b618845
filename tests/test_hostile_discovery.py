"""Hostile discovery: real ``scrapy crawl furatpost`` processes against a replica that lies.

One test per case of issue 7 (foreign links, unbounded discovery, partial crawls reported as
finished, robots.txt refusal) and per discovery bound. Each asserts what is stored, what is
counted, the run's status, that the process ends within its time bound (the subprocess
timeout) and that its memory stays under 500 MB. Bounds are set low through their
``AKHBAR_<NAME>`` settings where a real default would only make the test slow; the defaults
are documented in docs/crawl-stats.md ("Discovery bounds").

The parsers' bounds are checked on bytes first, without a crawl.
"""

from __future__ import annotations

import gzip
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from crawl_harness import CrawlResult, run_crawl, start_crawl
from sqlalchemy import text

from crawler.db.session import get_engine
from crawler.discovery import Sitemaps, WordPressRest
from crawler.discovery.parse import feeds, sitemaps
from crawler.replica.faults import BILLION_LAUGHS
from crawler.replica.server import Replica
from crawler.replica.wordpress import WordPressSite

HOST = "https://euphratespost.net"
GENERATED = 150  # with the 12 stored posts: 162 articles, two REST pages of 100
TOTAL = 162
MAX_RSS_KB = 500 * 1024
TIME_BOUND = 120.0  # seconds a hostile crawl may take on a loaded 2-core machine
ARTICLE_PAGES = re.escape(HOST) + r"/%"  # article permalinks (percent-encoded Arabic slugs)
REST_LISTING = r"/wp-json/wp/v2/posts\?(?!.*include=)"
NO_PAGES = {"KEEP_ARTICLE_PAGES": False}  # REST-extracted items need no page fetches here


def site(**options: Any) -> WordPressSite:
    return WordPressSite.furatpost(generated=GENERATED, **options)


def crawl(db: str, replica: Replica, home: Path, **kwargs: Any) -> CrawlResult:
    """A crawl that must end within ``TIME_BOUND`` and stay under ``MAX_RSS_KB``."""
    replica.requests.clear()
    result = run_crawl("furatpost", db, replica.proxy_url, home=home, timeout=TIME_BOUND, **kwargs)
    assert result.max_rss_kb is not None and result.max_rss_kb < MAX_RSS_KB, result.max_rss_kb
    return result


def scalar(db: str, sql: str, **params: Any) -> Any:
    with get_engine(db).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def stored(db: str) -> int:
    return scalar(db, "SELECT count(*) FROM articles")


def removed(db: str) -> int:
    return scalar(db, "SELECT count(*) FROM articles WHERE removed_at IS NOT NULL")


def foreign_urls(db: str) -> int:
    return scalar(
        db,
        "SELECT (SELECT count(*) FROM articles WHERE canonical_url NOT LIKE :own)"
        " + (SELECT count(*) FROM article_urls WHERE url NOT LIKE :own)",
        own=HOST + "/%",
    )


def partial(result: CrawlResult, reason: str) -> None:
    assert result.returncode == 3, result.log_tail()
    assert result.status == "partial", result.log_tail()
    assert result.stat(f"spider/incomplete/{reason}") >= 1, result.stats


# --- the parsers' bounds, on bytes ----------------------------------------------------------


def gzip_of_spaces(size: int) -> bytes:
    head = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    return gzip.compress(head + b" " * size + b"</urlset>", compresslevel=9)


def test_gzip_sitemap_inflates_only_to_its_bound():
    bomb = gzip_of_spaces(8 * 1024 * 1024)
    with pytest.raises(sitemaps.BodyTooLarge):
        sitemaps.parse_sitemap(bomb, max_bytes=1024 * 1024)
    assert sitemaps.parse_sitemap(bomb, max_bytes=16 * 1024 * 1024).entries == ()


def test_billion_laughs_marks_the_sitemap_damaged_and_a_bare_ampersand_does_not():
    urls = "".join(f"<url><loc>{HOST}/{n}</loc></url>" for n in range(3))
    body = f'<?xml version="1.0"?>{BILLION_LAUGHS}<urlset>{urls}</urlset>'
    bombed = body.replace("/1</loc>", "/1&lol9;</loc>").encode()
    damaged = sitemaps.parse_sitemap(bombed)
    assert damaged.damage and "ERR_RESOURCE_LIMIT" in damaged.damage
    assert len(damaged.entries) < 3  # what libxml2 dropped after the limit
    for harmless in ("/?a=1&b=2", "/?a=1& b=2", "/&nbsp;"):
        kept = sitemaps.parse_sitemap(body.replace("/1</loc>", f"{harmless}</loc>").encode())
        assert kept.damage is None and len(kept.entries) == 3, harmless
    cut_off = sitemaps.parse_sitemap(body.encode()[:-20])
    assert cut_off.damage is not None


def test_entry_bounds_cut_and_count():
    urls = "".join(f"<url><loc>{HOST}/{n}</loc></url>" for n in range(10))
    sitemap = sitemaps.parse_sitemap(f"<urlset>{urls}</urlset>".encode(), max_entries=4)
    assert len(sitemap.entries) == 4 and sitemap.cut == 6
    items = "".join(f"<item><link>{HOST}/{n}</link></item>" for n in range(10))
    feed = feeds.read_feed(f"<rss><channel>{items}</channel></rss>".encode(), max_entries=3)
    assert len(feed.entries) == 3 and feed.cut == 7 and feed.damage is None


# --- REST -------------------------------------------------------------------------------------


def test_a_billion_claimed_rest_pages_are_asked_a_window_at_a_time(make_database, tmp_path):
    db = make_database()
    with Replica([site()]) as replica:
        replica.faults.add("total_pages", r"/wp-json/wp/v2/posts\?")
        result = crawl(db, replica, tmp_path, settings=NO_PAGES)
        listing_requests = replica.count(REST_LISTING)
    # The site claims more pages than the bound: the listing is not trusted as complete.
    partial(result, "max_rest_pages")
    assert result.stat("spider/bound/max_rest_pages") == 1
    assert stored(db) == TOTAL
    # Pages 1 and 2, then at most one window past the real end (400 stops the walk).
    assert listing_requests <= 2 + WordPressRest().rest_window, listing_requests
    assert result.stat("spider/rest/past_last_page") >= 1
    assert "bound max_rest_pages=2000 reached" in result.log


def test_a_crawl_told_of_a_billion_pages_stops_on_ctrl_c(make_database, tmp_path):
    db = make_database()
    with Replica([site()]) as replica:
        # Page 1 claims a billion pages; the pages after it answer late, so the crawl is
        # caught with its window in flight.
        replica.faults.add("slow", r"/wp-json/wp/v2/posts\?.*\bpage=(?!1\b)\d+", delay=3)
        replica.faults.add("total_pages", r"/wp-json/wp/v2/posts\?")
        log = tmp_path / "crawl.log"
        with log.open("w") as out:
            proc = start_crawl(
                "furatpost", db, replica.proxy_url, home=tmp_path, log=out, settings=NO_PAGES
            )
        try:
            deadline = time.monotonic() + TIME_BOUND
            while "REST lists" not in log.read_text():
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the crawl never read REST page 1"
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=TIME_BOUND)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == 130, log.read_text()[-3000:]
    assert scalar(db, "SELECT status FROM crawl_runs") == "interrupted"
    assert replica.count(REST_LISTING) <= 1 + WordPressRest().rest_window


def test_the_rest_page_bound(make_database, tmp_path):
    db = make_database()
    with Replica([site()]) as replica:
        settings = {**NO_PAGES, "AKHBAR_MAX_REST_PAGES": 1}
        result = crawl(db, replica, tmp_path, settings=settings)
        assert replica.count(REST_LISTING) == 1
    partial(result, "max_rest_pages")
    assert stored(db) == 100


def test_a_malformed_rest_page_2_makes_the_crawl_partial(make_database, tmp_path):
    db = make_database()
    with Replica([site()]) as replica:
        replica.faults.add("bad_json", r"/wp-json/wp/v2/posts\?.*\bpage=2\b")
        result = crawl(db, replica, tmp_path, settings=NO_PAGES)
    partial(result, "rest_page_failed")
    assert result.stat("spider/rest/failed_pages") == 1
    assert "REST page 2 unreadable (HTTP 200" in result.log
    assert stored(db) == 100


def test_a_rest_post_linking_another_site_is_counted_and_dropped(make_database, tmp_path):
    db = make_database()
    target = WordPressSite.furatpost().posts
    foreign_id = sorted(target)[0]
    with Replica([site()]) as replica:
        fault = replica.faults.add("foreign_link", r"/wp-json/", ids=[foreign_id])
        first = crawl(db, replica, tmp_path, settings=NO_PAGES)
        assert first.ok, first.log_tail()
        assert first.stat("spider/foreign/rest") == 1
        assert stored(db) == TOTAL - 1 and foreign_urls(db) == 0
        # A clean recrawl finds the post under its own URL.
        replica.faults.clear()
        assert fault.hits >= 1
        second = crawl(db, replica, tmp_path, settings=NO_PAGES)
    assert second.ok, second.log_tail()
    assert stored(db) == TOTAL and foreign_urls(db) == 0
    assert scalar(db, "SELECT count(*) FROM articles WHERE external_id = :e", e=str(foreign_id))


# --- sitemaps (the REST API refused) ----------------------------------------------------------


def test_a_foreign_canonical_on_a_page_falls_back_to_the_fetched_url(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        replica.faults.add("foreign_link", ARTICLE_PAGES)
        result = crawl(db, replica, tmp_path)
    assert result.ok, result.log_tail()
    assert result.stat("spider/foreign/canonical") == TOTAL
    assert stored(db) == TOTAL and foreign_urls(db) == 0


def test_a_declared_sitemap_that_does_not_parse_makes_the_crawl_partial(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        replica.faults.add("empty", r"/sitemap_index\.xml$")  # the one robots.txt names
        result = crawl(db, replica, tmp_path)
    partial(result, "sitemap_unreadable")
    assert "declared sitemap https://euphratespost.net/sitemap_index.xml unreadable" in result.log
    assert stored(db) == TOTAL  # the HTML listings, the last resort


def test_an_endless_chain_of_sitemap_indexes_stops_at_the_depth_bound(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        replica.faults.add("sitemap_chain", r"/(sitemap_index|chain[-\d]*)\.xml$")
        result = crawl(db, replica, tmp_path)
        chain = replica.count(r"/(sitemap_index|chain[-\d]*)\.xml$")
    partial(result, "max_sitemap_depth")
    assert chain <= Sitemaps().max_sitemap_depth, chain
    assert stored(db) == TOTAL  # the real post sitemap each index also lists


def test_a_fanning_chain_of_sitemap_indexes_stops_at_the_count_bound(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        replica.faults.add("sitemap_chain", r"/(sitemap_index|chain[-\d]*)\.xml$", fanout=10)
        settings = {"AKHBAR_MAX_SITEMAPS": 15, "AKHBAR_MAX_SITEMAP_DEPTH": 100}
        result = crawl(db, replica, tmp_path, settings=settings)
        sitemap_requests = replica.count(r"\.xml$")
    partial(result, "max_sitemaps")
    assert sitemap_requests <= 15, sitemap_requests
    assert stored(db) == TOTAL


def test_an_index_of_200000_children_is_read_only_to_its_bound(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        replica.faults.add("sitemap_children", r"/sitemap_index\.xml$")
        result = crawl(db, replica, tmp_path, settings={"AKHBAR_MAX_SITEMAP_CHILDREN": 5})
        children = replica.count(r"/post-sitemap\d*\.xml$")
    partial(result, "max_sitemap_children")
    assert result.stat("spider/sitemap/entries_cut") == 200_000 - 5
    assert children == 5
    assert stored(db) == TOTAL


def test_the_url_set_bound(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        result = crawl(db, replica, tmp_path, settings={"AKHBAR_MAX_SITEMAP_URLS": 50})
    partial(result, "max_sitemap_urls")
    assert result.stat("spider/sitemap/entries") == 50
    assert result.stat("spider/sitemap/entries_cut") >= TOTAL - 50  # Yoast lists the home too
    assert stored(db) < TOTAL


def test_a_gzip_bomb_without_content_encoding_inflates_only_to_its_bound(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        replica.faults.add("gzip_bomb", r"/post-sitemap\.xml$", size=256 * 1024 * 1024)
        result = crawl(db, replica, tmp_path)
    partial(result, "max_decompressed_bytes")
    assert result.stat("spider/sitemap/too_large") == 1
    assert not result.stat("spider/sitemap/entries")
    # No sitemap listed anything: the HTML listings (the last resort) find the articles.
    assert result.stat("spider/listing/pages") >= 1 and stored(db) == TOTAL


def test_a_declared_gzip_bomb_stops_at_download_maxsize(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        replica.faults.add(
            "gzip_bomb", r"/sitemap_index\.xml$", size=256 * 1024 * 1024, declared=True
        )
        result = crawl(db, replica, tmp_path)
    partial(result, "download_maxsize")
    assert result.stat("spider/listing/too_large") == 1
    assert stored(db) == TOTAL  # the HTML listings, the last resort


def test_a_billion_laughs_sitemap_is_incomplete_and_removes_nothing(make_database, tmp_path):
    db = make_database()
    target = site()
    with Replica([target]) as replica:
        first = crawl(db, replica, tmp_path, settings=NO_PAGES)
        assert first.ok and stored(db) == TOTAL, first.log_tail()
        target.rest_status = 403  # the next crawl reads the sitemaps
        replica.faults.add("entity_bomb", r"/post-sitemap\.xml$")
        second = crawl(db, replica, tmp_path)
    partial(second, "sitemap_damaged")
    assert 0 < second.stat("spider/sitemap/entries") < TOTAL
    assert "ERR_RESOURCE_LIMIT" in second.log
    assert second.stat("spider/deletion/skipped") == 1
    assert not second.stat("spider/deletion/checked")
    assert removed(db) == 0


def test_a_redirect_ping_pong_on_articles_counts_errors_not_partial(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        replica.faults.add("ping_pong", ARTICLE_PAGES)
        result = crawl(db, replica, tmp_path, settings={"REDIRECT_MAX_TIMES": 3})
    assert result.returncode == 0 and result.status == "finished", result.log_tail()
    assert result.stat("spider/redirect_loop") == TOTAL
    assert result.stat("spider/errors") >= TOTAL
    assert stored(db) == 0


# --- feeds ------------------------------------------------------------------------------------


def test_the_feed_entry_bound(make_database, tmp_path):
    db = make_database()
    with Replica([site(rest_status=403)]) as replica:
        result = crawl(db, replica, tmp_path, settings={"AKHBAR_MAX_FEED_ENTRIES": 3})
    partial(result, "max_feed_entries")
    assert result.stat("spider/feed/entries") == 3
    assert stored(db) == TOTAL  # the sitemaps list every article


# --- robots.txt -------------------------------------------------------------------------------


def test_robots_txt_disallowing_everything_is_its_own_failure(make_database, tmp_path):
    db = make_database()
    target = site()
    with Replica([target]) as replica:
        first = crawl(db, replica, tmp_path, settings=NO_PAGES)
        assert first.ok, first.log_tail()
        target.robots_extra = ["Disallow: /"]
        second = crawl(db, replica, tmp_path, settings=NO_PAGES)
        assert replica.count(ARTICLE_PAGES) == 0
    assert second.returncode == 1 and second.status == "failed", second.log_tail()
    assert second.stats["finish_reason"] == "robots_forbidden"
    assert "robots.txt of https://euphratespost.net/ disallows" in second.log
    assert "nothing crawled" in second.log and "the site is unreachable" not in second.log
    assert not second.stat("spider/rest/unreachable")
    assert second.stat("spider/robots_forbidden") >= 1
    assert stored(db) == TOTAL and removed(db) == 0

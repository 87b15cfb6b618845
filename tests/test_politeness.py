"""Politeness per site (crawler/politeness.py): the declaration reaching Scrapy's settings,
robots.txt fetched once and obeyed, Crawl-delay kept between requests (AutoThrottle on), a
declared outbound proxy. Crawls are real ``scrapy crawl`` processes through the replica;
request spacing is measured on the replica's side (``Replica.arrivals``)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from crawl_harness import CrawlResult, run_crawl
from politeness_spiders import PROXY_ENV
from scrapy.crawler import Crawler
from scrapy.settings import Settings
from sqlalchemy import text
from tcp_proxy import FreezableProxy

from crawler.db.session import get_engine
from crawler.politeness import Politeness, robots_body
from crawler.replica.server import Replica
from crawler.replica.wordpress import WordPressSite
from crawler.spiders.furatpost import FuratPostSpider

ROBOTS = r"/robots\.txt$"
NO_PAGES = {"KEEP_ARTICLE_PAGES": False}


class SlowSite(FuratPostSpider):
    name = "slowsite"
    politeness = Politeness(delay=4.0, concurrency=1)


def crawler_settings(spidercls: type, **cmdline: Any) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for key, value in cmdline.items():
        settings.set(key, value, priority="cmdline")
    return Crawler(spidercls, settings).settings


# --- the declaration -----------------------------------------------------------------------


def test_declared_delay_and_concurrency_reach_the_crawler_and_cmdline_wins():
    declared = crawler_settings(SlowSite)
    assert declared.getfloat("DOWNLOAD_DELAY") == 4.0
    assert declared.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    overridden = crawler_settings(SlowSite, DOWNLOAD_DELAY=0, CONCURRENT_REQUESTS_PER_DOMAIN=8)
    assert overridden.getfloat("DOWNLOAD_DELAY") == 0
    assert overridden.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 8
    # The default declaration is the project's polite default.
    assert FuratPostSpider.politeness == Politeness(delay=1.0, concurrency=2, proxy_env=None)
    default = crawler_settings(FuratPostSpider)
    assert default.getfloat("DOWNLOAD_DELAY") == 1.0
    assert default.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2
    middlewares = default.getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert middlewares["crawler.politeness.PolitenessMiddleware"]
    assert default.getdict("EXTENSIONS")["scrapy.extensions.throttle.AutoThrottle"] is None


def test_declaration_is_checked():
    with pytest.raises(ValueError, match="concurrency"):
        Politeness(concurrency=0)
    with pytest.raises(ValueError, match="delay"):
        Politeness(delay=-1)
    with pytest.raises(ValueError, match="proxy_env"):
        Politeness(proxy_env="not a name")
    declared = Politeness(proxy_env="SITE_PROXY")
    assert declared.proxy_url({}) is None and Politeness().proxy_url({"X": "y"}) is None
    url = "http://user:s3cret@10.0.0.5:3128"
    assert declared.proxy_url({"SITE_PROXY": f" {url} "}) == url
    with pytest.raises(ValueError, match=r"\$SITE_PROXY is not a proxy URL") as bad:
        declared.proxy_url({"SITE_PROXY": "user:s3cret@10.0.0.5"})
    assert "s3cret" not in str(bad.value)  # the value may hold credentials


def test_robots_txt_is_read_up_to_its_bound():
    body = b"User-agent: *\nDisallow: /a/\n" + b"# padding\n" * 100
    assert robots_body(body, len(body)) == (body, False)
    head, cut = robots_body(body + b"Disallow: /b/\n", len(body) + 5)
    assert cut and head == body  # whole lines only: the rule past the bound is not read


# --- crawls --------------------------------------------------------------------------------


def gaps(replica: Replica) -> list[float]:
    times = [t for t, _, url in replica.arrivals if url.startswith(replica.site().base)]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def stored_ids(db: str) -> set[int]:
    with get_engine(db).connect() as conn:
        return {int(r[0]) for r in conn.execute(text("SELECT external_id FROM articles"))}


def crawl(db: str, replica: Replica, home: Any, **kwargs: Any) -> CrawlResult:
    replica.requests.clear()
    replica.arrivals.clear()
    result = run_crawl(
        kwargs.pop("spider", "furatpost"), db, replica.proxy_url, home=home, **kwargs
    )
    assert result.ok, result.log_tail()
    return result


@pytest.mark.slow
def test_robots_txt_once_obeyed_and_its_sitemaps_read(make_database, tmp_path):
    db = make_database()
    site = WordPressSite.furatpost(rest_status=403)  # discovery through robots.txt Sitemap lines
    refused = sorted(site.posts)[0]
    refused_path = urlsplit(site.permalink(refused)).path
    # A Crawl-delay past the bound: capped (here at 0.2 s) and counted.
    site.robots_extra = [f"Disallow: {refused_path}", "Crawl-delay: 3600"]
    with Replica([site]) as replica:
        result = crawl(db, replica, tmp_path, settings={"AKHBAR_MAX_CRAWL_DELAY": 0.2})
        assert replica.count(ROBOTS) == 1  # the spider's Sitemap lines and the rules: one fetch
        assert result.stat("robotstxt/request_count") == 1
        assert result.stat("politeness/robots_shared") == 1
        assert replica.count(r"/sitemap_index\.xml$") == 1 and replica.count(r"/post-sitemap")
        assert result.stat("spider/sitemap/read") == 2
        assert replica.count(re.escape(refused_path)) == 0  # Disallow obeyed
        assert result.stat("robotstxt/forbidden") == 1
        assert stored_ids(db) == set(site.posts) - {refused}
        assert result.stats["politeness/crawl_delay"] == 0.2
        assert result.stat("politeness/crawl_delay_capped") == 1
        assert min(gaps(replica)) >= 0.2 - 0.05, gaps(replica)


@pytest.mark.slow
def test_crawl_delay_holds_under_autothrottle(make_database, tmp_path):
    db = make_database()
    site = WordPressSite.furatpost(include_data=False, generated=4, rest_status=403)
    site.robots_extra = ["Crawl-delay: 1"]
    # No DOWNLOAD_DELAY and AutoThrottle on from 0 s: only the Crawl-delay spaces requests.
    settings = {"AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 0}
    with Replica([site]) as replica:
        result = crawl(db, replica, tmp_path, settings=settings)
        spacing = gaps(replica)
    assert len(spacing) >= 7, spacing  # robots, feed, REST, two sitemaps, four articles
    assert min(spacing) >= 1.0 - 0.1, spacing
    assert result.stats["politeness/crawl_delay"] == 1.0
    assert len(stored_ids(db)) == 4


@pytest.mark.slow
def test_robots_txt_unavailable_is_counted_and_allows(make_database, tmp_path):
    db = make_database()
    site = WordPressSite.furatpost()
    with Replica([site]) as replica:
        replica.faults.add("503", ROBOTS)
        result = crawl(db, replica, tmp_path, settings=NO_PAGES)
        assert replica.count(ROBOTS) == 4  # one fetch and its three retries, no more
    assert result.stat("politeness/robots_unavailable") == 1
    assert "robots.txt unavailable (HTTP 503)" in result.log
    assert stored_ids(db) == set(site.posts)


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["404", "503"])
def test_sitemaps_without_robots_txt_fall_back_to_the_well_known_names(
    fault, make_database, tmp_path
):
    """REST refused and robots.txt missing or failing: no Sitemap lines, so the
    well-known names; a complete listing, not a partial run."""
    db = make_database()
    site = WordPressSite.furatpost(rest_status=403)
    with Replica([site]) as replica:
        replica.faults.add(fault, ROBOTS)
        result = crawl(db, replica, tmp_path, settings=NO_PAGES)
        assert replica.count(r"/sitemap_index\.xml$") == 1
    assert result.status == "finished", result.log_tail()
    assert result.stat("spider/sitemap/robots_unavailable") == 1
    assert not [key for key in result.stats if key.startswith("spider/incomplete/")]
    assert stored_ids(db) == set(site.posts)


@pytest.mark.slow
def test_declared_proxy_carries_every_request(make_database, tmp_path, monkeypatch):
    db = make_database()
    spider = {"spider": "furatpost_proxied"}
    modules = {**NO_PAGES, "SPIDER_MODULES": "tests.politeness_spiders"}
    with Replica([WordPressSite.furatpost()]) as replica:
        proxy = FreezableProxy(replica.port)  # in front of the replica: counts connections
        try:
            monkeypatch.setenv(PROXY_ENV, f"http://archivist:s3cret@127.0.0.1:{proxy.port}")
            via = crawl(db, replica, tmp_path, settings=modules, **spider)
            assert proxy.connections >= 1 and proxy.connections == replica.tunnels
            assert via.stat("politeness/proxied") == via.stat("downloader/request_count")
            assert f"every request through the proxy in ${PROXY_ENV} (127.0.0.1:" in via.log
            assert "s3cret" not in via.log and "s3cret" not in json.dumps(via.stats)

            monkeypatch.delenv(PROXY_ENV)
            tunnels, connections = replica.tunnels, proxy.connections
            direct = crawl(db, replica, tmp_path, settings=modules, **spider)
            assert f"${PROXY_ENV} is not set; crawling directly" in direct.log
            assert proxy.connections == connections and replica.tunnels > tunnels
            assert not direct.stat("politeness/proxied")

            # A proxy URL that is not one: nothing is fetched (never direct instead).
            monkeypatch.setenv(PROXY_ENV, "archivist:s3cret@127.0.0.1")
            replica.requests.clear()
            bad = run_crawl(
                "furatpost_proxied", db, replica.proxy_url, home=tmp_path, settings=modules
            )
            assert bad.returncode == 1 and bad.status == "failed", bad.log_tail()
            assert bad.stats["finish_reason"] == "proxy_invalid"
            assert f"${PROXY_ENV} is not a proxy URL like http://host:port" in bad.log
            assert replica.requests == [] and "s3cret" not in bad.log
        finally:
            proxy.close()

"""Page extraction in worker processes (crawler.extract.workers) gives what inline extraction
gives, carries NotAnArticle's reason across, and a killed worker loses no page."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import time
from datetime import UTC, datetime

import scrapy
from scrapy.http import HtmlResponse

from crawler.discovery.run import Discovery
from crawler.errors import NotAnArticle
from crawler.extract.workers import BrokenPool, ExtractPool, travels_by_reference
from crawler.replica.wordpress import WordPressSite
from crawler.spiders.furatpost import FuratPostSpider

FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOT_FOUND = b"<html><head><title>Page not found</title></head><body><h1>404</h1></body></html>"


def spider_and_pages(n: int = 3):
    from scrapy.utils.test import get_crawler

    spider = get_crawler(FuratPostSpider)._create_spider()
    spider.discovery = Discovery(spider, spider.sources, spider.known_index([]))
    site = WordPressSite.furatpost(n, include_data=False)
    pages = []
    for article in site.published()[:n]:
        url = site.permalink(article.id)
        pages.append(
            HtmlResponse(
                url,
                body=site.render_article(article.id).encode(),
                headers={"Content-Type": "text/html; charset=UTF-8"},
                request=scrapy.Request(url),
            )
        )
    return spider, pages


def test_not_an_article_pickles_with_its_reason_and_detail():
    exc = pickle.loads(pickle.dumps(NotAnArticle("too_large", "17 bytes")))
    assert (exc.reason, exc.detail, str(exc)) == ("too_large", "17 bytes", "too_large: 17 bytes")
    assert travels_by_reference(FuratPostSpider)
    assert not travels_by_reference(type("Local", (FuratPostSpider,), {"name": "local"}))


def test_the_pool_extracts_what_inline_extraction_does():
    _, pages = spider_and_pages()
    args = [(r.body, r.url, FETCHED, "text/html; charset=UTF-8") for r in pages]

    async def run() -> tuple[list, BaseException]:
        pool = ExtractPool(1)
        try:
            got = await asyncio.gather(*(pool.run(FuratPostSpider.extract_html, *a) for a in args))
            try:
                await pool.run(FuratPostSpider.extract_html, NOT_FOUND, pages[0].url, FETCHED, None)
            except NotAnArticle as exc:
                return got, exc
            raise AssertionError("a 404 page extracted")
        finally:
            pool.shutdown()

    got, refused = asyncio.run(run())
    assert [g.fields() for g in got] == [FuratPostSpider.extract_html(*a).fields() for a in args]
    assert refused.reason == "error_page"


def test_a_killed_worker_falls_back_to_inline_extraction_counted():
    spider, pages = spider_and_pages()

    async def run() -> tuple[list, list]:
        spider.extract_pool = ExtractPool(1)
        try:
            first = await spider.parse_article(pages[0])
            (pid,) = spider.extract_pool.pids()
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while not spider.extract_pool.broken and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # waits for the event: the pool sees the EOF
            assert spider.extract_pool.broken
            rest = [spider.parse_article(r) for r in pages[1:]]
            return first, rest
        finally:
            spider.extract_pool.shutdown()

    first, rest = asyncio.run(run())
    assert [i.url for i in first] == [pages[0].url]
    # A broken pool is not used again: later pages are extracted inline at once.
    assert [[i.url for i in items] for items in rest] == [[r.url] for r in pages[1:]]
    stats = spider.crawler.stats.get_stats()
    assert stats["spider/articles/page"] == 3
    assert "spider/errors" not in stats


def test_a_page_waiting_when_the_worker_dies_is_extracted_inline():
    spider, pages = spider_and_pages(1)

    async def run() -> list:
        spider.extract_pool = ExtractPool(1)
        try:
            (pid,) = spider.extract_pool.pids()
            os.kill(pid, signal.SIGKILL)  # before (or while) the page is sent
            return await spider.parse_article(pages[0])
        finally:
            spider.extract_pool.shutdown()

    items = asyncio.run(run())
    assert [i.url for i in items] == [pages[0].url]
    stats = spider.crawler.stats.get_stats()
    assert stats["spider/extract/pool_broken"] == 1
    assert stats["spider/articles/page"] == 1


def test_a_shut_down_pool_refuses_calls():
    async def run() -> None:
        pool = ExtractPool(1)
        pool.shutdown()
        try:
            await pool.run(
                FuratPostSpider.extract_html, NOT_FOUND, "https://x.test/", FETCHED, None
            )
        except BrokenPool:
            return
        raise AssertionError("a shut-down pool ran a call")

    asyncio.run(run())

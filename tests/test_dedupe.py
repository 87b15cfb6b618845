"""In-crawl dedupe: one article reached under several URLs is stored once, every URL kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import text
from store_crawl import run_crawl, synthetic_item

from crawler.items import ArticleGone, ArticleSeen
from pipelines.dedupe import DedupePipeline

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def pipeline():
    return DedupePipeline.from_crawler(get_crawler())


def stat(pipeline, key):
    return pipeline.stats.get_value(key)


def test_first_passes_exact_repeat_is_dropped(pipeline):
    item = synthetic_item(1)
    assert pipeline.process_item(item) is item
    with pytest.raises(DropItem):
        pipeline.process_item(synthetic_item(1))
    assert stat(pipeline, "dedupe/dropped") == 1


def test_repeat_with_a_new_url_passes_and_counts_the_urls(pipeline):
    pipeline.process_item(synthetic_item(1))
    shortlink = replace(synthetic_item(1), url="https://news.example/?p=1&utm_source=rss", urls=[])
    assert pipeline.process_item(shortlink) is shortlink
    assert stat(pipeline, "dedupe/merged_urls") == 1
    assert stat(pipeline, "dedupe/content_differs") is None
    with pytest.raises(DropItem):  # now that URL is known too
        pipeline.process_item(replace(shortlink))


def test_same_url_spelled_differently_without_post_id(pipeline):
    # No external id: identity by url_key (encoding case, trailing slash, tracking params).
    first = replace(synthetic_item(1), external_id=None, urls=[])
    pipeline.process_item(first)
    other = replace(first, url=first.url.lower().rstrip("/"), canonical_url="")
    assert pipeline.process_item(other) is other  # a new raw spelling: kept for article_urls
    assert stat(pipeline, "dedupe/merged_urls") == 1
    with pytest.raises(DropItem):
        pipeline.process_item(replace(first))


def test_different_post_ids_sharing_a_url_are_not_merged(pipeline):
    a = synthetic_item(1)
    b = replace(synthetic_item(2), urls=[a.url])
    pipeline.process_item(a)
    assert pipeline.process_item(b) is b
    assert stat(pipeline, "dedupe/merged_urls") is None


def test_different_content_under_a_new_url_is_counted(pipeline):
    pipeline.process_item(synthetic_item(1))
    amp = replace(synthetic_item(1, version=2), url="https://news.example/1/amp/", urls=[])
    assert pipeline.process_item(amp) is amp
    assert stat(pipeline, "dedupe/content_differs") == 1


def test_seen_and_gone_repeats_are_dropped(pipeline):
    seen = ArticleSeen(site="s", observed_at=NOW, external_id="7")
    gone = ArticleGone(site="s", url="https://x.example/a/", observed_at=NOW, status=404, reason="")
    pipeline.process_item(seen)
    pipeline.process_item(gone)
    for again in (replace(seen), replace(gone, url="https://x.example/a")):
        with pytest.raises(DropItem):
            pipeline.process_item(again)
    assert stat(pipeline, "dedupe/dropped") == 2


def test_other_items_pass_untouched(pipeline):
    item = {"anything": 1}
    assert pipeline.process_item(item) is item
    assert pipeline.process_item(item) is item


@pytest.mark.slow
def test_in_a_crawl_duplicates_make_one_article_with_every_url(engine, database_url, tmp_path):
    # Each of the first 4 articles is yielded three times: once more exactly, once under
    # a feed URL with utm_source.
    stats = run_crawl(tmp_path, database_url, args={"count": 10, "duplicates": 4})
    assert stats["dedupe/dropped"] == 4
    assert stats["dedupe/merged_urls"] == 4
    assert stats["store/new"] == 10
    with engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_revisions),"
                " (SELECT count(*) FROM article_urls),"
                " (SELECT count(*) FROM article_urls WHERE url LIKE '%utm_source=rss')"
            )
        ).one()
    assert tuple(counts) == (10, 10, 10 * 2 + 4, 4)

from datetime import UTC, datetime, timedelta

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.extract.page import ArticlePage
from crawler.items import ArticleGone, ArticleItem, ArticleSeen
from pipelines.clean import CleanPipeline
from pipelines.validate import ValidatePipeline

FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BODY = "سقط عشرات القتلى من قوات النظام والميليشيات المتحالفة معها بعد هجمات جوية شنها طيران التحالف الدولي."


class SiteSpider(Spider):
    name = "site"
    outlet_name = "فرات بوست"
    page = ArticlePage.declare(site_names=("Euphrates Post",))


def crawler_for(settings=None):
    crawler = get_crawler(SiteSpider, settings or {})
    crawler.spider = crawler._create_spider()
    return crawler


def article(**kw):
    fields = dict(
        site="site",
        url="https://euphratespost.net/a/",
        canonical_url="https://euphratespost.net/a/",
        fetched_at=FETCHED,
        title="عنوان الخبر",
        body_text=BODY,
    )
    fields.update(kw)
    return ArticleItem(**fields)


def test_clean_tidies_and_dedupes_and_counts():
    crawler = crawler_for()
    pipe = CleanPipeline.from_crawler(crawler)
    item = pipe.process_item(
        article(
            title="  عنوان\u00a0الخبر  – فرات بوست ",
            subtitle="   ",
            section=" أخبار ",
            body_text="  فقرة أولى  \n\n\n\n  فقرة  ثانية ",
            authors=["admindiaa", " admindiaa ", "", "محمد الحسن", "محمّد الحسن"],
            tags=["دير الزور", "دير الزور", "  ", "الرقة"],
        )
    )
    assert item.title == "عنوان الخبر"
    assert item.subtitle is None and item.section == "أخبار"
    assert item.body_text == "فقرة أولى\n\nفقرة ثانية"
    assert item.authors == ["admindiaa", "محمد الحسن"]
    assert item.tags == ["دير الزور", "الرقة"]
    stats = crawler.stats.get_stats()
    assert stats["clean/items"] == 1
    assert stats["clean/title_suffix_stripped"] == 1
    assert stats["clean/authors_removed"] == 3
    assert stats["clean/tags_removed"] == 2


def test_clean_uses_profile_site_names_and_keeps_other_suffixes():
    pipe = CleanPipeline.from_crawler(crawler_for())
    assert pipe.process_item(article(title="Title | Euphrates Post")).title == "Title"
    assert pipe.process_item(article(title="حلب - دمشق")).title == "حلب - دمشق"


def test_clean_passes_other_observations():
    pipe = CleanPipeline.from_crawler(crawler_for())
    seen = ArticleSeen(site="site", observed_at=FETCHED, external_id="1")
    assert pipe.process_item(seen) is seen


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"title": "  "}, "missing_title"),
        ({"body_text": "قصير"}, "short_body"),
        ({"body_text": ""}, "short_body"),
        ({"title": "Just a moment..."}, "challenge"),
        (
            {"body_text": "Checking your browser before accessing euphratespost.net. " * 3},
            "challenge",
        ),
        ({"published_at": datetime(2024, 5, 1, 9, 0)}, "naive_datetime"),
    ],
)
def test_validate_drops_non_articles(changes, reason):
    crawler = crawler_for()
    pipe = ValidatePipeline.from_crawler(crawler)
    with pytest.raises(DropItem, match=reason):
        pipe.process_item(article(**changes))
    assert crawler.stats.get_value(f"validate/dropped/{reason}") == 1
    assert crawler.stats.get_value("validate/passed") is None


def test_validate_passes_articles_within_tolerance():
    crawler = crawler_for()
    pipe = ValidatePipeline.from_crawler(crawler)
    # Sites whose clock or timezone is off by hours are still articles.
    item = article(published_at=FETCHED + timedelta(hours=5), modified_at=FETCHED)
    assert pipe.process_item(item) is item
    assert crawler.stats.get_value("validate/passed") == 1


def test_validate_settings():
    crawler = crawler_for({"VALIDATE_MIN_BODY_CHARS": 5, "VALIDATE_FUTURE_TOLERANCE_HOURS": 1})
    pipe = ValidatePipeline.from_crawler(crawler)
    assert pipe.process_item(article(body_text="خبر عاجل")).body_text == "خبر عاجل"
    item = article(published_at=FETCHED + timedelta(hours=2))
    assert pipe.process_item(item) is item
    assert crawler.stats.get_value("validate/future_published") == 1


def test_validate_keeps_an_article_dated_in_the_future_and_says_so(caplog):
    crawler = crawler_for()
    pipe = ValidatePipeline.from_crawler(crawler)
    item = article(published_at=FETCHED + timedelta(days=3))
    assert pipe.process_item(item) is item  # what the site declares, never lost
    assert crawler.stats.get_value("validate/future_published") == 1
    assert crawler.stats.get_value("validate/passed") == 1
    assert "published in the future" in caplog.text


def test_validate_passes_seen_and_gone():
    pipe = ValidatePipeline.from_crawler(crawler_for())
    gone = ArticleGone(
        site="site",
        url="https://euphratespost.net/a/",
        observed_at=FETCHED,
        status=410,
        reason="http 410",
    )
    seen = ArticleSeen(site="site", observed_at=FETCHED)
    assert pipe.process_item(gone) is gone
    assert pipe.process_item(seen) is seen


def test_validate_counts_dates_and_authors_of_passing_articles():
    crawler = crawler_for()
    pipe = ValidatePipeline.from_crawler(crawler)
    pipe.open_spider()
    # Set at open, so a run that passed nothing still says it counted (akhbar status).
    assert crawler.stats.get_value("validate/has/published_at") == 0
    pipe.process_item(article(published_at=FETCHED, authors=["admindiaa"]))
    pipe.process_item(article(published_at=FETCHED))
    pipe.process_item(article())
    with pytest.raises(DropItem):
        pipe.process_item(article(title="", published_at=FETCHED, authors=["x"]))
    assert crawler.stats.get_value("validate/passed") == 3
    assert crawler.stats.get_value("validate/has/published_at") == 2
    assert crawler.stats.get_value("validate/has/authors") == 1

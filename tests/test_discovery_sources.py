"""Each discovery source kind, on bytes and in real crawls into PostgreSQL.

The pure parts first (the decision, editions, feed encodings, listing links against
``<base href>``, Google News dates); then ``scrapy crawl`` processes against the replica:
the plain outlet (crawler/replica/plain.py: listings with a numbers-only pager and
``<base href>``, windows-1256 feeds, a sitemap, an English edition) and Furat Post on core
WordPress sitemaps. Each crawl test checks the incremental crawl (nothing unchanged fetched)
and deletions (checked after a complete listing, never after an incomplete one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from crawl_harness import CrawlResult, run_crawl
from sqlalchemy import text

from crawler.db.session import new_engine
from crawler.discovery import Candidate, Edition, KnownIndex, decide
from crawler.discovery.editions import edition_of
from crawler.discovery.parse import feeds, listings, sitemaps
from crawler.items import KnownArticle
from crawler.replica.plain import HOST, NEWS_SITEMAP, PER_PAGE, SPIDER_MODULES, PlainSite
from crawler.replica.server import Replica
from crawler.replica.wordpress import WordPressSite

SITE = f"https://{HOST}"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def known(article_id: int, url: str, modified: datetime | None = T0) -> KnownArticle:
    return KnownArticle(article_id, None, url, modified, T0 + timedelta(days=1), None)


# --- the decision, without Scrapy -----------------------------------------------------------


def test_decide_observes_fetches_and_checks_deletions():
    a, b, gone = known(1, f"{SITE}/a/"), known(2, f"{SITE}/b/"), known(3, f"{SITE}/c/")
    index = KnownIndex([a, b, gone])
    listed = [
        Candidate(f"{SITE}/a/", lastmod=T0),  # unchanged
        Candidate(f"{SITE}/b/", lastmod=T0 + timedelta(days=3)),  # changed
        Candidate(f"{SITE}/new/"),  # new
    ]
    plan = decide(listed, index, complete=True)
    assert [k for _, k in plan.unchanged] == [a]
    assert plan.fetch == [(listed[1], b), (listed[2], None)]
    assert plan.deletion_checks == [gone] and not plan.deletions_skipped
    # An incomplete listing, or a bounded one, checks nothing.
    assert decide(listed, index, complete=False).deletion_checks == []
    assert decide(listed, index, complete=False).deletions_skipped
    bounded = decide(listed, index, complete=True, since=T0 + timedelta(days=2))
    # b is that recent; the undated new one may be: both listed, a not.
    assert bounded.deletion_checks == [] and bounded.listed == 2
    # refetch: everything listed is fetched again; deletions are still checked.
    again = decide(listed, index, refetch=True, complete=True)
    assert len(again.fetch) == 3 and again.deletion_checks == [gone]
    # Articles a source listed without a candidate (REST entries) are not missing.
    assert decide([], index, complete=True, listed_ids=[1, 2, 3]).deletion_checks == []


def test_editions_declare_what_is_crawled_and_in_which_language():
    arabic_only = (Edition("ar", "/"),)
    both = (Edition("ar", "/"), Edition("en", "/en/"))
    assert edition_of(f"{SITE}/news/article/7/", arabic_only).language == "ar"
    assert edition_of(f"{SITE}/en/news/article/7/", arabic_only) is None
    assert edition_of(f"{SITE}/ru/", arabic_only) is None
    assert edition_of(f"{SITE}/pt-br/x/", arabic_only) is None
    assert edition_of(f"{SITE}/en/news/article/7/", both).language == "en"
    assert edition_of(f"{SITE}/ru/news/", both) is None
    assert edition_of(f"{SITE}/%D8%AE%D8%A8%D8%B1/", both).language == "ar"
    assert edition_of(f"{SITE}/english/", both).language == "ar"  # a section, not a code


# --- feeds in windows-1256 ------------------------------------------------------------------

TITLE = "خبر عاجل من الرقة"
LINK = f"{SITE}/news/article/7/خبر-7/"


def rss_1256(declared: bool) -> bytes:
    declaration = ' encoding="windows-1256"' if declared else ""
    return (
        f'<?xml version="1.0"{declaration}?><rss><channel><item><title>{TITLE}</title>'
        f"<link>{LINK}</link></item></channel></rss>"
    ).encode("cp1256")


def test_feed_encoding_from_the_header_the_declaration_or_the_site():
    header = "application/rss+xml; charset=windows-1256"
    (entry,) = feeds.read_feed(rss_1256(False), content_type=header).entries
    assert (entry.title, entry.link) == (TITLE, LINK)
    (entry,) = feeds.read_feed(rss_1256(True)).entries  # the XML declaration alone
    assert (entry.title, entry.link) == (TITLE, LINK)
    # A header naming UTF-8 for windows-1256 bytes garbles; the site's declaration mends it.
    wrong = "application/rss+xml; charset=UTF-8"
    assert feeds.read_feed(rss_1256(False), content_type=wrong).entries[0].title != TITLE
    (entry,) = feeds.read_feed(rss_1256(False), encoding="windows-1256", content_type=wrong).entries
    assert entry.title == TITLE
    assert feeds.http_charset('text/xml; charset="Windows-1256"') == "cp1256"
    assert feeds.http_charset("text/xml; charset=no-such-codec") is None


# --- listings: <base href> and a card's date ------------------------------------------------


def test_listing_links_resolve_against_base_href_with_their_card_dates():
    page = PlainSite().listing(2).body.decode()
    links = listings.article_links(
        page, f"{SITE}/news/articles/2", [HOST], link_css="a.headline", date_css=".date"
    )
    assert links[0] == (f"{SITE}/news/article/7/خبر-7/", datetime(2024, 5, 1, 16, 0, tzinfo=UTC))
    assert all("/news/articles/news/" not in url for url, _ in links)
    assert len(links) == PER_PAGE
    # Without <base href> the same relative link is relative to the page.
    bare = page.replace('<base href="/">', "")
    url, _ = listings.article_links(bare, f"{SITE}/news/articles/2", [HOST], link_css="a.headline")[
        0
    ]
    assert url == f"{SITE}/news/articles/news/article/7/خبر-7/"
    # A numbers-only pager has no next link: only a URL template pages through it.
    assert listings.next_page(page, f"{SITE}/news/articles/2") is None


def test_google_news_sitemap_publication_dates():
    body = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>'
        f"<loc>{SITE}/a/</loc><news:news><news:publication_date>2024-05-01T15:00:00+03:00"
        "</news:publication_date></news:news></url></urlset>"
    ).encode()
    (entry,) = sitemaps.parse_sitemap(body).entries
    assert entry.published == T0 and entry.lastmod is None


# --- crawls of the plain outlet ---------------------------------------------------------------


def crawl(spider: str, db: str, replica: Replica, home: Path, **kwargs: Any) -> CrawlResult:
    replica.requests.clear()
    settings = {"SPIDER_MODULES": SPIDER_MODULES, **kwargs.pop("settings", {})}
    return run_crawl(spider, db, replica.proxy_url, home=home, settings=settings, **kwargs)


def rows(db: str, sql: str, **params: Any) -> list[Any]:
    # An engine of its own, closed after: the shared server has other suites' connections.
    engine = new_engine(db, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def stored_urls(db: str) -> set[str]:
    return {r[0] for r in rows(db, "SELECT canonical_url FROM articles")}


def removed(db: str) -> set[str]:
    return {
        r[0] for r in rows(db, "SELECT canonical_url FROM articles WHERE removed_at IS NOT NULL")
    }


def article_fetches(replica: Replica, status: int | None = 200) -> int:
    return replica.count(r"/news/article/", status=status)


@pytest.mark.slow
def test_listing_numbers_only_pager_base_href_incremental_and_deletions(make_database, tmp_path):
    db = make_database()
    site = PlainSite()
    arabic = [a.id for a in site.arabic()]
    with Replica([site]) as replica:
        first = crawl("plain_listing", db, replica, tmp_path)
        assert first.ok and first.status == "finished", first.log_tail()
        assert stored_urls(db) == {site.url(i) for i in arabic}
        assert replica.count(r"/news/articles/news/") == 0  # <base href> respected
        pages = -(-len(arabic) // PER_PAGE)
        assert first.stat("spider/listing/pages") == pages
        assert replica.count(rf"/news/articles/{pages + 1}$", status=404) == 1  # the end
        assert first.stats.get("spider/discovery") == "listing"

        # Nothing changed: each known article is asked conditionally and answers 304.
        second = crawl("plain_listing", db, replica, tmp_path)
        assert second.ok, second.log_tail()
        assert article_fetches(replica) == 0
        assert second.stat("spider/not_modified") == len(arabic)
        assert second.stat("store/new") == 0 and second.stat("store/revised") == 0

        # The walk reached its last page: an article missing from it is checked, and gone.
        site.delete(arabic[4])
        third = crawl("plain_listing", db, replica, tmp_path)
        assert third.ok, third.log_tail()
        assert third.stat("spider/deletion/checked") == 1 and third.stat("spider/gone/404") == 1
        assert removed(db) == {site.url(arabic[4])}

        # A walk cut short by its bound vouches for nothing: partial, nothing removed.
        site.delete(arabic[0])
        cut = crawl(
            "plain_listing", db, replica, tmp_path, settings={"AKHBAR_MAX_LISTING_PAGES": 1}
        )
        assert cut.returncode == 3 and cut.status == "partial", cut.log_tail()
        assert cut.stat("spider/bound/max_listing_pages") == 1
        assert cut.stat("spider/deletion/checked") == 0 and cut.stat("spider/deletion/skipped") == 1
        assert removed(db) == {site.url(arabic[4])}


@pytest.mark.slow
def test_home_pager_stops_at_a_page_of_known_articles(make_database, tmp_path):
    db = make_database()
    site = PlainSite()
    with Replica([site]) as replica:
        first = crawl("plain_pager", db, replica, tmp_path)
        assert first.ok, first.log_tail()
        assert stored_urls(db) == {site.url(a.id) for a in site.arabic()}
        assert replica.count(r"/\?page=2$") == 1 and replica.count(r"/\?page=4$", status=404) == 1
        second = crawl("plain_pager", db, replica, tmp_path)
        assert second.ok and second.status == "finished", second.log_tail()
        assert second.stat("spider/listing/pages") == 1  # page 1 named only known articles
        assert article_fetches(replica) == 0
        # Stopping early is no failure, but the walk did not see every article.
        assert second.stat("spider/deletion/skipped") == 1


@pytest.mark.slow
def test_windows_1256_feeds(make_database, tmp_path):
    db = make_database()
    site = PlainSite()
    with Replica([site]) as replica:
        result = crawl("plain_feeds", db, replica, tmp_path)
        assert result.ok, result.log_tail()
        # Each feed decoded right (header, XML declaration, the site's override): the raw
        # Arabic slugs of its links lead to the articles, none to a 404.
        assert stored_urls(db) == {site.url(a.id) for a in site.arabic()}
        assert result.stat("spider/feed/entries") == len(site.arabic())
        assert result.stat("spider/not_article/http_404") == 0
        tracked = rows(
            db,
            "SELECT count(DISTINCT article_id) FROM article_urls WHERE url LIKE '%utm_source=rss'",
        )
        assert tracked[0][0] == len(site.arabic())  # the feed's spelling is kept
        assert result.stat("spider/deletion/checked") == 0  # feeds vouch for nothing


@pytest.mark.slow
def test_a_google_news_sitemap_lends_recent_articles_and_vouches_for_nothing(
    make_database, tmp_path
):
    db = make_database()
    site = PlainSite()
    newest = [a.id for a in site.arabic()[:NEWS_SITEMAP]]
    with Replica([site]) as replica:
        first = crawl("plain_news", db, replica, tmp_path)
        assert first.ok, first.log_tail()
        assert stored_urls(db) == {site.url(i) for i in newest}
        site.delete(newest[0])  # gone from the news sitemap, and from the site
        second = crawl("plain_news", db, replica, tmp_path)
        assert second.ok, second.log_tail()
        # Its publication dates are no lastmod: the rest are asked conditionally (304).
        assert second.stat("spider/not_modified") == NEWS_SITEMAP - 1
        assert second.stat("spider/deletion/checked") == 0 and removed(db) == set()


@pytest.mark.slow
def test_sitemap_editions_incremental_and_deletions(make_database, tmp_path):
    db = make_database()
    site = PlainSite()
    arabic = [a.id for a in site.arabic()]
    with Replica([site]) as replica:
        first = crawl("plain_sitemap", db, replica, tmp_path)
        assert first.ok, first.log_tail()
        assert stored_urls(db) == {site.url(i) for i in arabic}
        assert replica.count(r"/en/") == 0 and first.stat("spider/edition/undeclared") == 2

        second = crawl("plain_sitemap", db, replica, tmp_path)
        assert second.ok, second.log_tail()
        assert replica.count(r"/news/article/") == 0  # lastmod: nothing fetched at all
        assert second.stat("spider/unchanged") == len(arabic)

        site.delete(arabic[1])
        site.edit(arabic[2], "فقرة أولى جديدة بعد تعديل الخبر من قبل الموقع في ريف دير الزور.")
        third = crawl("plain_sitemap", db, replica, tmp_path)
        assert third.ok, third.log_tail()
        assert third.stat("spider/fetch/changed") == 1 and third.stat("store/revised") == 1
        assert third.stat("spider/deletion/checked") == 1
        assert removed(db) == {site.url(arabic[1])}

        # A declared English edition is crawled, its articles tagged with its language.
        both = crawl("plain_editions", db, replica, tmp_path)
        assert both.ok, both.log_tail()
        english = rows(
            db,
            "SELECT a.canonical_url, r.language FROM articles a JOIN article_revisions r"
            " ON r.id = a.current_revision_id JOIN sites s ON s.id = a.site_id"
            " WHERE s.slug = 'plain_editions' AND a.canonical_url LIKE :en",
            en=f"{SITE}/en/%",
        )
        assert sorted(english) == [(site.url(1001), "en"), (site.url(1002), "en")]


@pytest.mark.slow
def test_an_edit_stamped_no_later_than_our_last_check_is_still_fetched(make_database, tmp_path):
    """The site's clock is behind ours, or the edit came in the same second as our check:
    its Last-Modified is not after our check. If-Modified-Since carries the stored page's
    own Last-Modified, so the page answers 200, not a 304 that would lose the edit."""
    db = make_database()
    site = PlainSite()
    edited = site.arabic()[3].id
    with Replica([site]) as replica:
        first = crawl("plain_sitemap", db, replica, tmp_path)
        assert first.ok, first.log_tail()
        (checked,) = rows(
            db, "SELECT last_checked_at FROM articles WHERE canonical_url = :u", u=site.url(edited)
        )[0]
        site.edit(edited, "فقرة أولى جديدة: الموقع عدّل الخبر في الثانية نفسها التي فحصناه فيها.")
        site.articles[edited].modified = checked.replace(microsecond=0)
        second = crawl("plain_sitemap", db, replica, tmp_path)
        assert second.ok, second.log_tail()
    assert second.stat("spider/fetch/changed") == 1
    assert second.stat("spider/not_modified") == 0
    assert second.stat("store/revised") == 1


@pytest.mark.slow
def test_core_wordpress_sitemaps_incremental_and_deletions(make_database, tmp_path):
    db = make_database()
    site = WordPressSite.furatpost(rest_status=403, sitemaps="core")
    with Replica([site]) as replica:
        replica.requests.clear()
        first = run_crawl("furatpost", db, replica.proxy_url, home=tmp_path)
        assert first.ok, first.log_tail()
        assert first.stats.get("spider/discovery") == "sitemaps"
        assert replica.count(r"/wp-sitemap-posts-post-1\.xml") == 1
        assert rows(db, "SELECT count(*) FROM articles")[0][0] == len(site.posts)

        replica.requests.clear()
        second = run_crawl("furatpost", db, replica.proxy_url, home=tmp_path)
        assert second.ok, second.log_tail()
        assert second.stat("spider/unchanged") == len(site.posts)
        assert replica.count(r"euphratespost\.net/%") == 0  # no article page fetched

        gone = sorted(site.posts)[3]
        site.delete(gone, status=410)
        third = run_crawl("furatpost", db, replica.proxy_url, home=tmp_path)
        assert third.ok, third.log_tail()
        assert third.stat("spider/deletion/checked") == 1 and third.stat("spider/gone/410") == 1
        found = rows(db, "SELECT external_id FROM articles WHERE removed_at IS NOT NULL")
        assert [r[0] for r in found] == [str(gone)]


def test_each_source_declares_what_it_can_vouch_for():
    """Which sources may justify deletion checks, give a modified date, or only lend."""
    from crawler.discovery import Feed, Listing, NewsSitemap, Sitemaps, WordPressRest

    abilities = {
        kind.__name__: (kind.authoritative, kind.gives_lastmod, kind.lends)
        for kind in (WordPressRest, Sitemaps, NewsSitemap, Feed, Listing)
    }
    assert abilities == {
        "WordPressRest": (True, True, False),
        "Sitemaps": (True, True, False),
        "NewsSitemap": (False, False, True),
        "Feed": (False, True, True),
        "Listing": (True, False, False),
    }

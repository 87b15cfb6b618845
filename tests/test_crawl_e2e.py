"""End to end: real ``scrapy crawl furatpost`` processes against the replica, into PostgreSQL.

Each test owns a fresh migrated database and a replica; scenarios are combined so the whole
file runs a handful of crawls (a few seconds each). What the site answered is checked on the
replica's request log; what the archive holds, with SQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from crawl_harness import CrawlResult, run_crawl
from sqlalchemy import text

from crawler.db.session import get_engine
from crawler.replica.server import Replica
from crawler.replica.themes import furatpost as furatpost_theme
from crawler.replica.wordpress import WordPressSite

pytestmark = pytest.mark.slow

SEED_ID = 31842
HOST = "https://euphratespost.net"
JUNK = (
    "admindiaa",
    "قد يع",
    "دع تعليق",
    "توافق على حفظ",
    "الكوكيز",
    "Privacy",
    "اقرأ أيضاً",
    "مواد ذات صلة",
    "شارك المقال",
)


def crawl(db: str, replica: Replica, home: Path, **kwargs: Any) -> CrawlResult:
    replica.requests.clear()
    replica.sent.clear()
    result = run_crawl("furatpost", db, replica.proxy_url, home=home, **kwargs)
    assert result.ok, result.log_tail()
    return result


def rows(db: str, sql: str, **params: Any) -> list[Any]:
    with get_engine(db).connect() as conn:
        return list(conn.execute(text(sql), params))


def article(db: str, external_id: int) -> Any:
    found = rows(
        db,
        "SELECT a.id, a.canonical_url, a.removed_at, a.revision_count, r.title, r.body_text, "
        "r.authors FROM articles a JOIN article_revisions r ON r.id = a.current_revision_id "
        "WHERE a.external_id = :e",
        e=str(external_id),
    )
    assert len(found) == 1, f"{len(found)} articles with external id {external_id}"
    return found[0]


def urls_of(db: str, article_id: int) -> set[str]:
    return {
        r[0] for r in rows(db, "SELECT url FROM article_urls WHERE article_id = :a", a=article_id)
    }


def page_requests(replica: Replica, site: WordPressSite) -> list[str]:
    """Article page URLs the crawl asked for (not REST, feeds, sitemaps, robots.txt)."""
    return [
        url
        for _, url, _ in replica.requests
        if url.startswith(HOST + "/%") or "/?p=" in url or url.rstrip("/") == HOST
    ]


def assert_fetches_reextract(db: str) -> int:
    """Every revision's fetch (and entry pointer), re-extracted, gives the revision's fields."""
    from crawler.extract.snapshot import EVIDENCE_SQL
    from crawler.items import REVISION_FIELDS
    from crawler.spiders import reextract

    revisions = {r.id: r for r in rows(db, "SELECT * FROM article_revisions")}
    found = rows(db, EVIDENCE_SQL)
    for evidence in found:
        site, again = reextract(evidence)
        assert site == "furatpost"
        rev = revisions[evidence.revision_id]
        for name in REVISION_FIELDS:
            assert getattr(again, name) == getattr(rev, name), (evidence.url, name)
    return len(found)


def stored_body(db: str, fetch_id: int) -> bytes:
    from crawler.extract.snapshot import stored_body as decompress

    (row,) = rows(
        db,
        "SELECT b.body, b.compression FROM fetches f JOIN response_bodies b ON b.id = f.body_id"
        " WHERE f.id = :f",
        f=fetch_id,
    )
    return decompress(bytes(row.body), row.compression)


def assert_fetches_are_what_was_sent(db: str, replica: Replica, revision_ids: list[int]) -> None:
    """The fetches behind these revisions hold, byte for byte, the bodies the replica sent
    for the URLs they name (REST list responses and article pages alike)."""
    fetch_ids = rows(
        db,
        "SELECT fetch_id, page_fetch_id FROM article_revisions WHERE id = ANY(:ids)",
        ids=revision_ids,
    )
    wanted = {i for r in fetch_ids for i in r if i is not None}
    for fetch in rows(db, "SELECT * FROM fetches WHERE id = ANY(:ids)", ids=sorted(wanted)):
        sent = [s for s in replica.sent if s.url == fetch.requested_url]
        assert sent, fetch.requested_url
        assert stored_body(db, fetch.id) == sent[-1].body, fetch.requested_url
        assert fetch.status == sent[-1].status and not fetch.synthetic


def body_of(site: WordPressSite, post_id: int) -> str:
    """The body as published: the credit line, then the paragraphs."""
    return site.get(post_id).body_text


def fault_url(site: WordPressSite, post_id: int) -> str:
    return re.escape(site.permalink(post_id)) + "$"


def test_rest_first_crawl_recrawl_edit_delete_retitle(make_database, tmp_path):
    db = make_database()
    site = WordPressSite.furatpost()
    ids = sorted(site.posts)
    with Replica([site], keep_responses=True) as replica:
        # 1. First crawl: the whole archive through the REST API, and each article's page
        # once, kept beside its revision.
        first = crawl(db, replica, tmp_path)
        assert first.stat("spider/articles/rest") == len(ids)
        assert sorted(page_requests(replica, site)) == sorted(site.permalink(i) for i in ids)
        assert first.stat("spider/page_fetch/kept") == len(ids)
        count = rows(db, "SELECT count(*), count(DISTINCT external_id) FROM articles")[0]
        assert tuple(count) == (len(ids), len(ids))
        seed = article(db, SEED_ID)
        assert seed.body_text == body_of(site, SEED_ID)
        assert len(seed.body_text.split("\n\n")) == 8
        assert seed.authors == ["admindiaa"]
        for junk in JUNK:
            assert junk not in seed.body_text
        all_urls = [r[0] for r in rows(db, "SELECT url FROM article_urls")]
        all_urls += [r[0] for r in rows(db, "SELECT canonical_url FROM articles")]
        all_urls += [u for r in rows(db, "SELECT url, requested_url FROM fetches") for u in r]
        assert all(u.startswith(HOST + "/") for u in all_urls), all_urls
        assert not any("127.0.0.1" in u for u in all_urls)
        assert f"{HOST}/?p={SEED_ID}" in urls_of(db, seed.id)
        # Feed links carry utm_ parameters: kept as URLs of the same article.
        newest = max(ids, key=lambda i: site.get(i).modified_gmt)
        assert any("utm_source=rss" in u for u in urls_of(db, article(db, newest).id))
        # Each revision's fetch is the REST list response, stored once, byte for byte as
        # the replica sent it, with a pointer to its entry; its page fetch is the page.
        revs = rows(
            db,
            "SELECT r.id, r.fetch_entry, f.url, f.method, f.request_headers, p.url AS page"
            " FROM article_revisions r JOIN fetches f ON f.id = r.fetch_id"
            " JOIN fetches p ON p.id = r.page_fetch_id",
        )
        assert len(revs) == len(ids)
        assert {r.url for r in revs} == {s.url for s in replica.sent_to(r"/wp-json/")}
        assert rows(db, "SELECT count(*) FROM fetches WHERE url ~ '/wp-json/'")[0][0] == 1
        assert sorted(r.fetch_entry for r in revs) == sorted(f"/{i}" for i in range(len(ids)))
        assert {r.page for r in revs} == {site.permalink(i) for i in ids}
        assert {r.method for r in revs} == {"GET"}
        assert all(r.request_headers["User-Agent"][0].startswith("akhbar/") for r in revs)
        assert_fetches_are_what_was_sent(db, replica, [r.id for r in revs])
        # ... and re-extracts to the revision.
        assert assert_fetches_reextract(db) == len(ids)

        # 2. Unchanged recrawl: the cheap id listing only; no revision, no page refetched.
        second = crawl(db, replica, tmp_path)
        assert second.stat("spider/unchanged") == len(ids)
        assert page_requests(replica, site) == []
        assert second.stat("spider/page_fetch/kept") == 0
        assert replica.count(r"_embed") == 0
        assert rows(db, "SELECT count(*) FROM article_revisions")[0][0] == len(ids)
        assert second.stat("store/new") == 0 and second.stat("store/revised") == 0

        # 3. The world changes: an edit, a new post, two deletions, two soft deletions,
        # a retitle with a new slug.
        edited = "فقرة معدلة: أعلن التحالف الدولي أن الهجوم استهدف مواقع النظام فقط."
        site.edit(SEED_ID, 2, edited)
        new = site.add(
            {
                "title": "خبر جديد عن افتتاح مدرسة في مدينة الميادين بريف دير الزور",
                "author": "admindiaa",
                "paragraphs": [
                    "افتتحت مديرية التربية مدرسة جديدة في مدينة الميادين بعد ترميمها بالكامل.",
                    "وقال مدير المدرسة إن المدرسة تستقبل أكثر من خمسمئة طالب وطالبة هذا العام.",
                ],
                "categories": ["أخبار"],
            }
        )
        gone_404, gone_410, soft_home, soft_200, retitled = ids[0], ids[2], ids[3], ids[4], ids[5]
        before = {i: article(db, i) for i in (gone_404, gone_410, soft_home, soft_200, retitled)}
        old_url = site.permalink(retitled)
        site.delete(gone_404, 404)
        site.delete(gone_410, 410)
        site.soft_delete(soft_home, "home_redirect")
        site.soft_delete(soft_200, "not_found_200")
        site.retitle(retitled, "عنوان جديد لتقرير مخيم الهول", "عنوان-جديد-لتقرير-مخيم-الهول")
        # Deleted too, but their confirmation meets a challenge or a lasting 503: kept.
        challenged, unavailable = ids[6], ids[7]
        site.delete(challenged, 404)
        site.delete(unavailable, 410)
        replica.faults.add("challenge", fault_url(site, challenged), status=403)
        replica.faults.add("503", fault_url(site, unavailable), retry_after=0)
        third = crawl(db, replica, tmp_path)

        seed = article(db, SEED_ID)
        assert seed.revision_count == 2
        assert edited in seed.body_text and len(seed.body_text.split("\n\n")) == 8
        first_rev = rows(
            db,
            "SELECT body_text FROM article_revisions WHERE article_id = :a AND revision_no = 1",
            a=seed.id,
        )[0][0]
        assert edited not in first_rev
        assert article(db, new.id).body_text == body_of(site, new.id)

        for post_id, reason in (
            (gone_404, "http 404"),
            (gone_410, "http 410"),
            (soft_home, "soft 404"),
            (soft_200, "soft 404"),
        ):
            assert article(db, post_id).removed_at is not None, post_id
            events = rows(
                db,
                "SELECT kind, reason FROM article_events WHERE article_id = :a AND kind = 'removed'",
                a=before[post_id].id,
            )
            assert len(events) == 1 and events[0].reason.startswith(reason), events
        assert third.stat("spider/deletion/checked") == 6
        assert third.stat("spider/deletion/inconclusive") == 2
        assert third.stat("spider/blocked") == 1
        assert article(db, challenged).removed_at is None
        assert article(db, unavailable).removed_at is None
        assert third.stat("spider/gone/404") == 1 and third.stat("spider/gone/410") == 1
        assert third.stat("spider/gone/soft404") == 2

        moved = article(db, retitled)
        assert moved.id == before[retitled].id and moved.removed_at is None
        assert moved.title == "عنوان جديد لتقرير مخيم الهول" and moved.revision_count == 2
        assert {old_url, site.permalink(retitled)} <= urls_of(db, moved.id)
        # Pages fetched: the confirmations (and the home page a soft deletion redirected
        # to), and the page of each new or changed post, whose content came from one REST
        # request.
        pages = {u for u in page_requests(replica, site) if u.rstrip("/") != HOST}
        missing = (gone_404, gone_410, soft_home, soft_200, challenged, unavailable)
        changed = (SEED_ID, new.id, retitled)
        assert pages == {site.permalink(i) for i in (*missing, *changed)}
        assert replica.count(r"include=") == 1
        assert third.stat("spider/page_fetch/kept") == len(changed)
        latest = rows(
            db, "SELECT id, page_fetch_id FROM article_revisions WHERE crawl_run_id = :run",
            run=third.run_id,
        )  # fmt: skip
        assert len(latest) == len(changed) and all(r.page_fetch_id for r in latest)
        assert_fetches_are_what_was_sent(db, replica, [r.id for r in latest])
        assert assert_fetches_reextract(db) == len(ids) + len(changed)

        # 4. Once the site answers again, the two are confirmed gone; nothing else moves.
        replica.faults.clear()
        fourth = crawl(db, replica, tmp_path)
        assert article(db, challenged).removed_at is not None
        assert article(db, unavailable).removed_at is not None
        assert fourth.stat("spider/deletion/checked") == 2
        assert fourth.stat("store/new") == 0 and fourth.stat("store/revised") == 0


def test_fallback_sitemaps_faults_since(make_database, tmp_path):
    db = make_database()
    site = WordPressSite.furatpost(rest_status=403)
    ids = sorted(site.posts)
    others = [i for i in ids if i != SEED_ID]
    unavailable, slow, reset, truncated, cp1256, challenged, empty = others[:7]
    with Replica([site]) as replica:
        faults = replica.faults
        faults.add("503", fault_url(site, unavailable), count=1, retry_after=2)
        faults.add("429", r"post-sitemap\.xml$", count=1, retry_after=1)
        faults.add("slow", fault_url(site, slow), count=1, delay=1.0)
        faults.add("reset", fault_url(site, reset), count=1)
        faults.add("truncate", fault_url(site, truncated), count=1)
        faults.add("cp1256", fault_url(site, cp1256))
        faults.add("challenge", fault_url(site, challenged), status=403)
        faults.add("empty", fault_url(site, empty))

        first = crawl(db, replica, tmp_path)
        assert first.stats.get("spider/discovery") == "sitemaps"
        assert first.stat("spider/rest/refused") == 1
        stored = {int(r[0]) for r in rows(db, "SELECT external_id FROM articles")}
        assert stored == set(ids) - {challenged, empty}
        assert first.stat("spider/blocked") == 1
        assert first.stat("spider/not_article/empty_page") == 1
        assert first.stat("retry/retry_after") >= 2
        assert first.stat("retry/count") >= 4
        # Retry-After was waited for (the crawl itself takes well under a second otherwise).
        assert first.stats["elapsed_time_seconds"] >= 2
        for post_id in (unavailable, slow, reset, truncated, cp1256):
            got = article(db, post_id)
            assert got.title == site.get(post_id).title, post_id
            assert got.body_text == body_of(site, post_id), post_id
        seed = article(db, SEED_ID)  # from its page this time, not REST
        assert seed.body_text == body_of(site, SEED_ID) and seed.authors == ["admindiaa"]
        # Stored pages (the windows-1256 one included) re-extract to their revisions.
        assert assert_fetches_reextract(db) == len(stored)

        # Recrawl: sitemap lastmod says unchanged, so no page is refetched; the two pages that
        # failed come now; a retitle's old URL redirects to the new slug: the same article.
        faults.clear()
        retitled = ids[0]  # not in the feed (its ?p=ID would tie the new slug to the post)
        old_url = site.permalink(retitled)
        site.retitle(retitled, "موسم القمح في الحسكة: تقديرات جديدة", "موسم-القمح-تقديرات-جديدة")
        second = crawl(db, replica, tmp_path)
        pages = page_requests(replica, site)
        for post_id in set(ids) - {challenged, empty, retitled}:
            assert site.permalink(post_id) not in pages
        assert site.permalink(challenged) in pages and site.permalink(empty) in pages
        assert second.stat("spider/unchanged") == len(ids) - 3
        assert {int(r[0]) for r in rows(db, "SELECT external_id FROM articles")} == set(ids)
        moved = article(db, retitled)
        assert moved.removed_at is None and moved.title == "موسم القمح في الحسكة: تقديرات جديدة"
        assert {old_url, site.permalink(retitled)} <= urls_of(db, moved.id)
        assert rows(db, "SELECT count(*) FROM article_events WHERE kind = 'removed'")[0][0] == 0
        assert second.stat("spider/redirected") == 1  # the old URL's confirmation
        # Whichever of the new slug (sitemap) and the old URL's redirect came first, the
        # move is recorded once.
        moves = rows(db, "SELECT detail FROM article_events WHERE kind = 'redirected'")
        assert [m.detail for m in moves] == [{"from": old_url, "to": site.permalink(retitled)}]

        # -a since= bounds the crawl: only what changed since then, and no deletion checks.
        new = site.add(
            {
                "title": "الدفاع المدني يخمد حريقاً في سوق مدينة الرقة الشعبي",
                "author": "editor",
                "paragraphs": [
                    "أخمدت فرق الدفاع المدني حريقاً اندلع صباح اليوم في السوق الشعبي وسط الرقة.",
                    "ولم تسجل إصابات بشرية بحسب الفرق، فيما تضررت عدة محال تجارية بشكل كبير.",
                ],
            }
        )
        since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        third = crawl(db, replica, tmp_path, args={"since": since})
        assert page_requests(replica, site) == [site.permalink(new.id)]
        assert third.stat("spider/deletion/skipped") == 1
        assert article(db, new.id).body_text == body_of(site, new.id)


def test_gzip_bodies_pages_off_then_an_unchanged_recrawl_at_scale(make_database, tmp_path):
    """Bodies travel gzip-encoded: each fetch keeps the decoded entity byte for byte and the
    Content-Encoding it came with. ``KEEP_ARTICLE_PAGES`` off: no page fetched. Then, with
    pages on, an unchanged recrawl fetches no page: at most 0.05 requests per article."""
    import gzip

    db = make_database()
    site = WordPressSite.furatpost(generated=300, include_data=False)
    n = len(site.posts)
    with Replica([site], keep_responses=True, content_encoding="gzip") as replica:
        first = crawl(db, replica, tmp_path, settings={"KEEP_ARTICLE_PAGES": False})
        assert first.stat("spider/articles/rest") == n
        assert page_requests(replica, site) == [] and first.stat("spider/page_fetch/kept") == 0
        revs = rows(db, "SELECT fetch_id, fetch_entry, page_fetch_id FROM article_revisions")
        assert len(revs) == n and all(r.page_fetch_id is None for r in revs)
        listings = rows(db, "SELECT * FROM fetches ORDER BY id")
        sent = replica.sent_to(r"/wp-json/wp/v2/posts")
        assert len(listings) == len(sent) == 3  # one fetch per REST response, 100 posts each
        assert {r.fetch_id for r in revs} == {f.id for f in listings}
        for fetch in listings:
            (answer,) = [s for s in sent if s.url == fetch.requested_url]
            body = stored_body(db, fetch.id)
            assert body == answer.body == gzip.decompress(answer.wire_body)
            assert fetch.response_headers["Content-Encoding"] == ["gzip"]
            assert "gzip" in fetch.request_headers["Accept-Encoding"][0]
            assert fetch.protocol == "HTTP/1.1" and fetch.method == "GET"
        assert assert_fetches_reextract(db) == n

        second = crawl(db, replica, tmp_path)  # article pages on (the default)
        assert second.stat("spider/unchanged") == n and page_requests(replica, site) == []
        assert second.stats["downloader/request_count"] / n <= 0.05


def test_listing_fallback_when_rest_and_sitemaps_refused(make_database, tmp_path):
    db = make_database()
    site = WordPressSite.furatpost(rest_status=404)
    site.robots_extra = ["Disallow: /sitemap_index.xml", "Disallow: /post-sitemap"]
    with Replica([site]) as replica:
        result = crawl(db, replica, tmp_path)
        assert replica.count(r"sitemap") == 0  # robots.txt is obeyed
        # A 404 at /wp-json/ is tried once more as /?rest_route= (plain permalinks).
        assert replica.count(r"/wp-json/wp/v2/posts") == 1 == replica.count(r"rest_route=")
        assert result.stat("spider/listing/pages") >= 2  # the home page and its page 2
        stored = {int(r[0]) for r in rows(db, "SELECT external_id FROM articles")}
        assert stored == set(site.posts)
        assert result.stat("spider/deletion/checked") == 0

        # Listings carry no lastmod: known articles are refetched conditionally (304), and
        # a listing page naming only known articles ends the walk.
        again = crawl(db, replica, tmp_path)
        assert again.stat("spider/listing/pages") == 1
        per_page = furatpost_theme.PER_PAGE  # page 1 of the home listing (the feed is a subset)
        assert again.stat("spider/not_modified") == per_page == replica.count(r"", status=304)
        assert again.stat("store/revised") == 0 and again.stat("store/new") == 0

        # -a since= bounds a listing crawl too: the cards' dates say what is older.
        new = site.add(
            {
                "title": "افتتاح جسر مؤقت فوق نهر الفرات قرب مدينة دير الزور",
                "paragraphs": [
                    "افتتحت السلطات المحلية جسراً مؤقتاً فوق نهر الفرات لتسهيل حركة الأهالي.",
                    "وقال مسؤولون إن الجسر يخدم آلاف السكان في القرى الواقعة على الضفتين.",
                ],
            }
        )
        since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        bounded = crawl(db, replica, tmp_path, args={"since": since})
        assert page_requests(replica, site) == [HOST + "/", site.permalink(new.id)]
        assert bounded.stat("spider/not_modified") == 0 and bounded.stat("store/new") == 1


def test_demo_offline_into_its_own_embedded_database(tmp_path):
    import os
    import subprocess
    import sys

    user_home = tmp_path / "user-archive"  # must stay untouched
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("DATABASE_URL", None)
    env["AKHBAR_HOME"] = str(user_home)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    n = len(WordPressSite.furatpost().posts)
    assert f"{n} new, 0 revised" in out
    assert f"0 new, 1 revised, {n - 1} unchanged" in out
    assert f"{n} articles, {n + 1} revisions" in out
    assert "+وأكد مسؤول في التحالف الدولي" in out
    # Terminal times: Damascus with the offset, UTC beside (docs/output.md).
    clock = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+03:00 \((\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC\)"
    assert re.search(rf"observed {clock} and {clock}:", out), out
    assert not user_home.exists()


def test_an_unreachable_site_is_a_failed_crawl_not_an_empty_one(make_database, tmp_path):
    db = make_database()
    site = WordPressSite.furatpost()
    with Replica([site]) as replica:
        replica.faults.add("reset")  # every connection dies before an answer
        result = run_crawl("furatpost", db, replica.proxy_url, home=tmp_path)
    assert result.status == "failed", result.log_tail()
    assert result.stats["finish_reason"] == "site_unreachable"
    assert result.stat("spider/rest/unreachable") == 1 and not result.stat("spider/rest/refused")
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 0

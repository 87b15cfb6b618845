"""Revision semantics of crawler.db.revisions (issue 2, rules 1-7), on real PostgreSQL.

Rule 8 (concurrency) lives in test_revisions_concurrency.py.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import zstandard
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from crawler.db.revisions import (
    LOCK_BUCKETS,
    RecordStats,
    SiteInfo,
    ensure_site,
    known_articles,
    record,
)
from crawler.db.schedule import next_check_at, recheck_interval
from crawler.extract.urls import url_key
from crawler.items import ArticleGone, ArticleItem, ArticleSeen, Fetch, Observation

SITE = "furatpost"
BASE = "https://euphratespost.net"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BODY = "قال مصدر محلي إن القوات دخلت المدينة عام 2024.\n\nوأفاد الأهالي بأن الطريق مغلق."
SLUG = "دخول-القوات-المدينة"
URL = f"{BASE}/2026/03/{SLUG}/"


def item(at: datetime = T0, *, ext: str | None = "101", url: str = URL, **fields) -> ArticleItem:
    values = {
        "title": "القوات تدخل المدينة",
        "body_text": BODY,
        "authors": ["admindiaa"],
        "published_at": T0 - timedelta(hours=2),
        "section": "أخبار",
        "tags": ["دير الزور"],
        "canonical_url": url,
        "extractor": "test",
        "extractor_version": "1",
    }
    values.update(fields)
    return ArticleItem(site=SITE, url=url, fetched_at=at, external_id=ext, **values)


def fetch(body: bytes, at: datetime = T0, url: str = URL) -> Fetch:
    return Fetch(
        url=url, status=200, headers={"Content-Type": ["text/html"]}, body=body, fetched_at=at
    )


def rec(engine: Engine, *observations: Observation, run: int | None = None) -> RecordStats:
    with engine.begin() as conn:
        return record(conn, list(observations), crawl_run_id=run)


def rows(engine: Engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def revisions(engine: Engine) -> list:
    return rows(
        engine,
        "SELECT article_id, revision_no, title, body_text, content_hash, observed_at"
        " FROM article_revisions ORDER BY article_id, revision_no",
    )


def the_article(engine: Engine):
    (article,) = rows(engine, "SELECT * FROM articles")
    return article


def events(engine: Engine) -> list[tuple[str, dict]]:
    return [(r.kind, r.detail) for r in rows(engine, "SELECT * FROM article_events ORDER BY id")]


def dump(engine: Engine) -> dict[str, list]:
    tables = ["articles", "article_urls", "article_revisions", "article_events", "fetches"]
    tables.append("response_bodies")
    return {t: rows(engine, f"SELECT * FROM {t} ORDER BY id") for t in tables}


@pytest.fixture(autouse=True)
def site(engine: Engine) -> int:
    with engine.begin() as conn:
        return ensure_site(conn, SiteInfo(SITE, "فرات بوست", BASE + "/"))


# --- rule 1 ------------------------------------------------------------------------------


def test_first_observation_stores_article_urls_and_revision_1(engine):
    with engine.begin() as conn:
        run = conn.execute(
            text("INSERT INTO crawl_runs (spider) VALUES ('furatpost') RETURNING id")
        ).scalar_one()
    short = f"{BASE}/?p=101"
    feed = f"{URL}?utm_source=rss&utm_medium=feed"
    page = b"<html><body>" + BODY.encode() + b"</body></html>"
    stats = rec(engine, item(urls=[short, feed], fetch=fetch(page)), run=run)

    assert stats == RecordStats(new=1)
    a = the_article(engine)
    assert (a.external_id, a.canonical_url, a.revision_count) == ("101", URL, 1)
    assert a.first_seen_at == a.last_seen_at == a.last_checked_at == a.last_changed_at == T0
    assert a.removed_at is None
    urls = rows(engine, "SELECT url, url_key, article_id FROM article_urls ORDER BY url")
    assert sorted(u.url for u in urls) == sorted([URL, short, feed])  # exactly as seen
    assert all(u.url_key == url_key(u.url) and u.article_id == a.id for u in urls)
    (rev,) = rows(engine, "SELECT * FROM article_revisions")
    assert (rev.revision_no, rev.title, rev.body_text, rev.crawl_run_id) == (
        1,
        "القوات تدخل المدينة",
        BODY,
        run,
    )
    assert a.current_revision_id == rev.id
    (got,) = rows(engine, "SELECT * FROM fetches")
    assert rev.fetch_id == got.id and rev.fetch_entry is None and rev.page_fetch_id is None
    assert (got.url, got.requested_url, got.status, got.crawl_run_id) == (URL, URL, 200, run)
    assert got.response_headers == {"Content-Type": ["text/html"]} and not got.synthetic
    (body,) = rows(engine, "SELECT * FROM response_bodies")
    assert got.body_id == body.id
    assert body.sha256 == hashlib.sha256(page).digest() and body.size == len(page)
    assert zstandard.ZstdDecompressor().decompress(body.body) == page
    assert events(engine) == []  # a new article's own URLs are not "added"


# --- rule 2 ------------------------------------------------------------------------------


def test_same_content_moves_seen_and_checked_only(engine):
    rec(engine, item(T0))
    stats = rec(engine, item(T0 + timedelta(hours=3)))
    assert stats == RecordStats(unchanged=1)
    a = the_article(engine)
    assert a.revision_count == 1 and len(revisions(engine)) == 1
    assert a.last_seen_at == a.last_checked_at == T0 + timedelta(hours=3)
    assert a.first_seen_at == a.last_changed_at == T0
    (url,) = rows(engine, "SELECT * FROM article_urls")
    assert (url.first_seen_at, url.last_seen_at) == (T0, T0 + timedelta(hours=3))


def test_same_content_with_a_new_url_adds_it_with_an_event(engine):
    rec(engine, item(T0))
    amp = f"{URL}amp/"
    stats = rec(engine, item(T0 + timedelta(hours=1), urls=[amp]))
    assert stats == RecordStats(unchanged=1, urls_added=1)
    assert len(revisions(engine)) == 1
    assert events(engine) == [("url_added", {"url": amp})]
    assert {r.url for r in rows(engine, "SELECT url FROM article_urls")} == {URL, amp}


def test_article_seen_moves_timestamps_and_never_backwards(engine):
    rec(engine, item(T0))
    assert rec(engine, ArticleSeen(SITE, T0 + timedelta(days=1), external_id="101")) == RecordStats(
        seen=1
    )
    a = the_article(engine)
    assert a.last_seen_at == a.last_checked_at == T0 + timedelta(days=1)
    # An older sighting (a replayed spool, a slow process) never moves them back.
    assert rec(engine, ArticleSeen(SITE, T0 + timedelta(hours=1), url=URL)) == RecordStats(stale=1)
    a = the_article(engine)
    assert a.last_seen_at == a.last_checked_at == T0 + timedelta(days=1)


def test_seen_or_gone_of_an_unknown_article_writes_nothing(engine):
    stats = rec(
        engine,
        ArticleSeen(SITE, T0, external_id="999"),
        ArticleGone(SITE, f"{BASE}/nothing/", T0, 404, "http 404"),
    )
    assert stats == RecordStats(unknown=2)
    assert all(not v for v in dump(engine).values())


# --- rule 3 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"title": "القوات تدخل المدينة فجراً"},
        {"subtitle": "تقرير ميداني"},
        {"body_text": BODY + "\n\nفقرة جديدة."},
        {"authors": ["admindiaa", "مراسل"]},
        {"published_at": T0 - timedelta(hours=5)},
        {"section": "تقارير"},
        {"tags": ["دير الزور", "الرقة"]},
    ],
    ids=lambda c: next(iter(c)),
)
def test_changed_content_field_makes_revision_n_plus_1(engine, change):
    rec(engine, item(T0))
    before = rows(engine, "SELECT * FROM article_revisions")
    stats = rec(engine, item(T0 + timedelta(hours=1), **change))
    assert stats == RecordStats(revised=1)
    revs = rows(engine, "SELECT * FROM article_revisions ORDER BY revision_no")
    assert [r.revision_no for r in revs] == [1, 2]
    assert revs[:1] == before  # revision 1 untouched
    a = the_article(engine)
    assert (a.revision_count, a.current_revision_id) == (2, revs[1].id)
    assert a.last_changed_at == T0 + timedelta(hours=1)
    for name, value in change.items():
        assert getattr(revs[1], name) == value


@pytest.mark.parametrize(
    "change",
    [
        {"image_url": f"{BASE}/wp-content/uploads/other.jpg"},
        {"body_html": "<p>anything</p>"},
        {"modified_at": T0 + timedelta(hours=1)},
        {"extractor_version": "2"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_other_fields_never_make_a_revision(engine, change):
    rec(engine, item(T0))
    assert rec(engine, item(T0 + timedelta(hours=1), **change)) == RecordStats(unchanged=1)
    assert len(revisions(engine)) == 1


def test_revisions_are_append_only_in_the_database(engine):
    rec(engine, item(T0))
    for sql in ("UPDATE article_revisions SET title = 'x'", "DELETE FROM article_revisions"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert revisions(engine)[0].title == "القوات تدخل المدينة"


# --- rule 4 ------------------------------------------------------------------------------

COSMETIC = {
    "whitespace": BODY.replace(" ", "  \u00a0").replace("\n\n", "\n \n\n"),
    "unicode form": BODY.replace("إن", "\u0627\u0655ن"),  # decomposed hamza below
    "tatweel": BODY.replace("القوات", "القـــوات"),
    "tashkeel": BODY.replace("قال", "قَالَ"),
    "zero-width": BODY.replace("مصدر", "م\u200bصد\u200cر\ufeff"),
    "bidi marks": "\u200f" + BODY.replace("2024", "\u202a2024\u202c"),
    "entities": BODY.replace("قال", "&#1602;ال").replace("الطريق", "ال&#x637;ريق"),
    "markup": BODY.replace("القوات", "<strong>القوات</strong>"),
}


@pytest.mark.parametrize("kind", sorted(COSMETIC))
def test_cosmetic_difference_makes_no_revision(engine, kind):
    assert COSMETIC[kind] != BODY
    rec(engine, item(T0))
    assert rec(engine, item(T0 + timedelta(hours=1), body_text=COSMETIC[kind])) == RecordStats(
        unchanged=1
    )
    assert len(revisions(engine)) == 1


REAL_CHANGES = {
    "hamza": BODY.replace("إن", "ان"),
    "digit": BODY.replace("2024", "2025"),
    "arabic-indic digit": BODY.replace("2024", "٢٠٢٤"),
    "letter": BODY.replace("مغلق", "مغلقة"),
    "word": BODY.replace("القوات", "القوات الحكومية"),
}


@pytest.mark.parametrize("kind", sorted(REAL_CHANGES))
def test_real_textual_change_makes_a_revision(engine, kind):
    rec(engine, item(T0))
    assert rec(engine, item(T0 + timedelta(hours=1), body_text=REAL_CHANGES[kind])) == RecordStats(
        revised=1
    )
    assert [r.revision_no for r in revisions(engine)] == [1, 2]


# --- rule 5 ------------------------------------------------------------------------------


@pytest.mark.parametrize("one_batch", [False, True], ids=["three batches", "one batch"])
def test_change_and_revert_are_three_revisions(engine, one_batch):
    a, b = item(T0), item(T0 + timedelta(hours=1), title="عنوان معدل")
    a2 = item(T0 + timedelta(hours=2))
    if one_batch:
        assert rec(engine, a, b, a2) == RecordStats(new=1, revised=2)
    else:
        rec(engine, a), rec(engine, b), rec(engine, a2)
    revs = revisions(engine)
    assert [r.revision_no for r in revs] == [1, 2, 3]
    assert revs[0].content_hash == revs[2].content_hash != revs[1].content_hash
    assert the_article(engine).revision_count == 3


def test_batch_is_applied_in_observed_order(engine):
    later, earlier = item(T0 + timedelta(hours=1), title="الثاني"), item(T0, title="الأول")
    assert rec(engine, later, earlier) == RecordStats(new=1, revised=1)
    assert [r.title for r in revisions(engine)] == ["الأول", "الثاني"]
    assert the_article(engine).first_seen_at == T0


# --- rule 6 ------------------------------------------------------------------------------


def test_gone_removes_once_and_comes_back_restored(engine):
    rec(engine, item(T0), item(T0 + timedelta(hours=1), title="عنوان معدل"))
    page = b"<html>404</html>"
    gone = ArticleGone(SITE, URL, T0 + timedelta(hours=2), 410, "http 410", fetch=fetch(page))
    assert rec(engine, gone) == RecordStats(removed=1)
    a = the_article(engine)
    assert a.removed_at == T0 + timedelta(hours=2) and a.revision_count == 2
    assert len(revisions(engine)) == 2  # revisions stay
    (ev,) = rows(engine, "SELECT * FROM article_events")
    assert (ev.kind, ev.reason, ev.detail["status"]) == ("removed", "http 410", 410)
    assert ev.fetch_id is not None

    again = ArticleGone(SITE, URL, T0 + timedelta(hours=3), 404, "http 404")
    assert rec(engine, again) == RecordStats()  # still gone: no second event
    assert [k for k, _ in events(engine)] == ["removed"]
    assert the_article(engine).removed_at == T0 + timedelta(hours=2)

    assert rec(engine, item(T0 + timedelta(hours=4), title="عنوان معدل")) == RecordStats(
        restored=1, unchanged=1
    )
    a = the_article(engine)
    assert a.removed_at is None and a.revision_count == 2
    assert [k for k, _ in events(engine)] == ["removed", "restored"]


def test_seen_restores_a_removed_article_and_soft_404_removes(engine):
    rec(engine, item(T0))
    rec(
        engine,
        ArticleGone(SITE, URL, T0 + timedelta(hours=1), 200, "soft 404: redirected to home page"),
    )
    assert the_article(engine).removed_at is not None
    assert rec(
        engine, ArticleSeen(SITE, T0 + timedelta(hours=2), external_id="101")
    ) == RecordStats(seen=1, restored=1)
    assert the_article(engine).removed_at is None
    assert [k for k, _ in events(engine)] == ["removed", "restored"]


def test_only_404_410_or_soft_404_remove(engine):
    rec(engine, item(T0))
    with pytest.raises(ValueError, match="403"):
        rec(engine, ArticleGone(SITE, URL, T0 + timedelta(hours=1), 403, "http 403"))
    assert the_article(engine).removed_at is None and events(engine) == []


# --- rule 7 ------------------------------------------------------------------------------


def test_recording_the_same_batch_twice_changes_nothing(engine):
    batch = [
        item(T0, fetch=fetch(b"<html>v1</html>")),
        item(T0 + timedelta(hours=1), title="عنوان معدل", urls=[f"{BASE}/?p=101"]),
        ArticleSeen(SITE, T0 + timedelta(hours=2), external_id="101"),
        ArticleGone(SITE, URL, T0 + timedelta(hours=3), 404, "http 404"),
        item(T0 + timedelta(hours=4), fetch=fetch(b"<html>v1 again</html>")),
    ]
    first = rec(engine, *batch)
    assert first == RecordStats(new=1, revised=2, seen=1, removed=1, restored=1, urls_added=1)
    before = dump(engine)
    second = rec(engine, *batch)
    assert (
        second.new == second.revised == second.removed == second.restored == second.urls_added == 0
    )
    assert dump(engine) == before


def test_stale_observation_makes_no_revision_but_keeps_new_urls(engine):
    rec(engine, item(T0 + timedelta(hours=2)))
    old_url = f"{BASE}/?p=101"
    stale = item(T0, title="نسخة أقدم", urls=[old_url])
    assert rec(engine, stale) == RecordStats(stale=1, urls_added=1)
    assert len(revisions(engine)) == 1
    a = the_article(engine)
    assert a.last_checked_at == a.last_changed_at == T0 + timedelta(hours=2)
    assert old_url in {r.url for r in rows(engine, "SELECT url FROM article_urls")}


# --- identity: URLs, external ids, retitles --------------------------------------------


def test_many_spellings_of_one_url_are_one_article(engine):
    spellings = [
        URL,  # raw Arabic slug
        f"{BASE}/2026/03/{quote(SLUG).lower()}/",  # lower-case percent-encoding
        f"{BASE}/2026/03/{quote(SLUG)}/",  # upper-case percent-encoding
        f"{BASE}/2026/03/{SLUG}/?utm_source=facebook&utm_campaign=x",
        f"{BASE}/2026/03/{SLUG}",  # no trailing slash
        f"https://www.euphratespost.net/2026/03/{SLUG}/#comments",
    ]
    assert len(set(spellings)) == len(spellings)
    for i, u in enumerate(spellings):
        rec(engine, item(T0 + timedelta(minutes=i), ext=None, url=u))
    the_article(engine)  # exactly one
    assert len(revisions(engine)) == 1
    stored = rows(engine, "SELECT url, url_key FROM article_urls")
    assert {r.url for r in stored} == set(spellings)
    assert len({r.url_key for r in stored}) == 1


def test_shortlink_and_external_id_reach_the_article(engine):
    rec(engine, item(T0, urls=[f"{BASE}/?p=101"]))
    stats = rec(
        engine,
        ArticleSeen(SITE, T0 + timedelta(hours=1), url=f"{BASE}/?p=101&utm_source=rss"),
        item(T0 + timedelta(hours=2), ext="101", url=f"{BASE}/?p=101"),
    )
    assert stats == RecordStats(seen=1, unchanged=1, urls_added=1)
    assert the_article(engine).last_seen_at == T0 + timedelta(hours=2)


def test_external_id_attaches_to_article_known_by_url_only(engine):
    rec(engine, item(T0, ext=None))
    assert the_article(engine).external_id is None
    assert rec(engine, item(T0 + timedelta(hours=1), ext="101")) == RecordStats(unchanged=1)
    assert the_article(engine).external_id == "101"


def test_url_of_an_article_with_another_external_id_is_another_article(engine):
    rec(engine, item(T0, ext="101"))
    assert rec(engine, item(T0 + timedelta(hours=1), ext="202")) == RecordStats(new=1)
    owners = rows(
        engine, "SELECT a.external_id FROM article_urls u JOIN articles a ON a.id = u.article_id"
    )
    assert [o.external_id for o in owners] == ["101"]  # the URL stays with its article


def test_retitle_continues_the_article_and_moves_canonical(engine):
    rec(engine, item(T0))
    new_url = f"{BASE}/2026/03/عنوان-جديد/"
    stats = rec(engine, item(T0 + timedelta(hours=1), url=new_url, urls=[URL], title="عنوان جديد"))
    assert stats == RecordStats(revised=1, urls_added=1)
    a = the_article(engine)
    assert (a.canonical_url, a.revision_count) == (new_url, 2)
    assert events(engine) == [
        ("url_added", {"url": new_url}),
        ("canonical_changed", {"from": URL, "to": new_url}),
    ]


def test_redirect_from_an_old_url_is_an_event_once(engine):
    rec(engine, item(T0))
    new_url = f"{BASE}/2026/03/عنوان-جديد/"
    moved = item(T0 + timedelta(hours=1), url=new_url, redirected_from=[URL])
    assert rec(engine, moved) == RecordStats(unchanged=1, urls_added=1, redirected=1)
    assert events(engine) == [
        ("url_added", {"url": new_url}),
        ("redirected", {"from": URL, "to": new_url}),
        ("canonical_changed", {"from": URL, "to": new_url}),
    ]
    # Through the same redirect again, or the whole batch replayed: nothing new.
    again = item(T0 + timedelta(hours=2), url=new_url, redirected_from=[URL])
    assert rec(engine, again) == RecordStats(unchanged=1)
    assert rec(engine, moved) == RecordStats(stale=1)
    assert len(events(engine)) == 3
    # A redirect within one identity (http to https, no trailing slash) is no move.
    plain = item(
        T0 + timedelta(hours=3),
        url=new_url,
        redirected_from=["http://euphratespost.net/2026/03/عنوان-جديد"],
    )
    assert rec(engine, plain).redirected == 0
    # A first sighting through a redirect is a new article, not a move.
    short = item(T0, ext="202", url=f"{BASE}/b/", redirected_from=[f"{BASE}/?p=202"])
    assert rec(engine, short) == RecordStats(new=1)
    assert [k for k, _ in events(engine)].count("redirected") == 1


def test_redirect_to_a_url_already_known_is_still_a_move(engine):
    # The new slug reached the archive first (from a sitemap); the old URL's redirect,
    # confirmed later, is the move all the same.
    rec(engine, item(T0))
    new_url = f"{BASE}/2026/03/عنوان-جديد/"
    rec(engine, item(T0 + timedelta(hours=1), url=new_url))
    stats = rec(engine, item(T0 + timedelta(hours=2), url=new_url, redirected_from=[URL]))
    assert stats == RecordStats(unchanged=1, redirected=1)
    assert ("redirected", {"from": URL, "to": new_url}) in events(engine)


def test_two_observations_of_one_new_article_in_one_batch(engine):
    stats = rec(
        engine,
        item(T0, ext=None),
        item(T0 + timedelta(minutes=5), ext="101", urls=[f"{BASE}/?p=101"]),
    )
    assert stats == RecordStats(new=1, unchanged=1, urls_added=1)
    a = the_article(engine)
    assert a.external_id == "101" and a.last_seen_at == T0 + timedelta(minutes=5)


# --- fetches and bodies -----------------------------------------------------------------


def test_each_fetch_is_a_row_and_each_body_is_stored_once(engine):
    page = "<html>نفس الصفحة</html>".encode()
    rec(
        engine,
        item(T0, ext="1", url=f"{BASE}/a/", fetch=fetch(page, url=f"{BASE}/a/")),
        item(T0, ext="2", url=f"{BASE}/b/", fetch=fetch(page, url=f"{BASE}/b/")),
    )
    rec(engine, item(T0, ext="3", url=f"{BASE}/c/", fetch=fetch(page, url=f"{BASE}/c/")))
    (body,) = rows(engine, "SELECT id, sha256 FROM response_bodies")
    assert body.sha256 == hashlib.sha256(page).digest()
    fetches = rows(engine, "SELECT id, url, body_id FROM fetches ORDER BY id")
    assert [(f.url, f.body_id) for f in fetches] == [
        (f"{BASE}/{x}/", body.id) for x in ("a", "b", "c")
    ]
    linked = rows(engine, "SELECT fetch_id FROM article_revisions ORDER BY article_id")
    assert [r.fetch_id for r in linked] == [f.id for f in fetches]


def test_a_list_response_shared_by_revisions_is_one_fetch_with_a_pointer_each(engine):
    """A REST list response behind many revisions: one fetch row and one body, whichever
    batch its items land in, and each revision points at its own entry."""
    listing = b'[{"id": 1}, {"id": 2}, {"id": 3}]'
    shared = fetch(listing, url=f"{BASE}/wp-json/wp/v2/posts?page=1")
    shared.request_headers = {"Accept-Encoding": ["gzip, deflate, br, zstd"]}
    items = [
        item(T0, ext=str(i + 1), url=f"{BASE}/{i}/", fetch=shared, fetch_entry=f"/{i}")
        for i in range(3)
    ]
    rec(engine, *items[:2])
    rec(engine, items[2])  # the same response, a later batch
    (f,) = rows(engine, "SELECT * FROM fetches")
    assert f.request_headers == {"Accept-Encoding": ["gzip, deflate, br, zstd"]}
    assert f.method == "GET" and str(f.record_id) == shared.record_id
    assert len(rows(engine, "SELECT id FROM response_bodies")) == 1
    revs = rows(engine, "SELECT fetch_id, fetch_entry FROM article_revisions ORDER BY id")
    assert [(r.fetch_id, r.fetch_entry) for r in revs] == [(f.id, "/0"), (f.id, "/1"), (f.id, "/2")]


def test_a_page_fetch_is_kept_beside_the_fetch_extracted_from(engine):
    listing = fetch(b'[{"id": 101}]', url=f"{BASE}/wp-json/wp/v2/posts")
    page = fetch(b"<html>the page</html>")
    rec(engine, item(T0, fetch=listing, fetch_entry="/0", page_fetch=page))
    (rev,) = rows(engine, "SELECT * FROM article_revisions")
    by_id = {f.id: f for f in rows(engine, "SELECT * FROM fetches")}
    assert by_id[rev.fetch_id].url == listing.url and rev.fetch_entry == "/0"
    assert by_id[rev.page_fetch_id].url == URL


def test_a_fetch_without_a_canonical_record_id_is_refused(engine):
    bad = fetch(b"<html></html>")
    bad.record_id = "not-a-uuid"
    with pytest.raises(ValueError, match="record_id"):
        rec(engine, item(T0, fetch=bad))
    assert rows(engine, "SELECT id FROM fetches") == []


# --- bookkeeping: cadence, known_articles, sites ---------------------------------------


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (timedelta(hours=23), timedelta(hours=1)),
        (timedelta(days=1, hours=1), timedelta(hours=6)),  # .seconds would say 1 h
        (timedelta(days=10), timedelta(days=1)),
        (timedelta(days=100), timedelta(days=7)),
        (timedelta(days=800), timedelta(days=30)),
    ],
)
def test_recheck_interval_decays_with_age(age, interval):
    assert recheck_interval(age) == interval


def test_next_check_at_follows_publication_age(engine):
    rec(
        engine,
        item(T0, ext="1", url=f"{BASE}/a/"),
        item(T0, ext="2", url=f"{BASE}/b/", published_at=T0 - timedelta(days=800)),
    )
    got = {
        r.external_id: r.next_check_at
        for r in rows(engine, "SELECT external_id, next_check_at FROM articles")
    }
    assert got == {"1": T0 + timedelta(hours=1), "2": T0 + timedelta(days=30)}
    assert next_check_at(T0, None, T0 - timedelta(days=3)) == T0 + timedelta(hours=6)


def test_known_articles_lists_the_site(engine):
    short, feed = f"{BASE}/?p=101", f"{URL}?utm_source=rss"
    rec(
        engine,
        item(T0, modified_at=T0 - timedelta(hours=1), urls=[short, feed]),
        item(T0, ext="2", url=f"{BASE}/b/"),
    )
    rec(engine, ArticleGone(SITE, f"{BASE}/b/", T0 + timedelta(hours=1), 404, "http 404"))
    with engine.connect() as conn:
        known = known_articles(conn, SITE)
        assert known_articles(conn, "nosuchsite") == []
    assert [(k.external_id, k.modified_at, k.removed_at) for k in known] == [
        ("101", T0 - timedelta(hours=1), None),
        ("2", None, T0 + timedelta(hours=1)),
    ]
    # Every URL it was seen under, as identity keys (the feed link is the permalink's key).
    assert known[0].url_keys == tuple(sorted({url_key(URL), url_key(short)}))
    assert known[1].url_keys == (url_key(f"{BASE}/b/"),)


def test_ensure_site_is_idempotent_and_updates(engine, site):
    with engine.begin() as conn:
        assert ensure_site(conn, SiteInfo(SITE, "فرات بوست", BASE + "/")) == site
        assert ensure_site(conn, SiteInfo(SITE, "الفرات", "https://euphratespost.net/")) == site
    (row,) = rows(engine, "SELECT name, base_url FROM sites")
    assert tuple(row) == ("الفرات", "https://euphratespost.net/")


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(ValueError, match="naive"):
        rec(engine, item(datetime(2026, 3, 1, 9, 0)))


def test_naive_published_at_is_refused_before_writing(engine):
    with pytest.raises(ValueError, match="published_at"):
        rec(
            engine, item(T0, ext="1", url=f"{BASE}/a/"), item(T0, published_at=datetime(2026, 3, 1))
        )
    assert rows(engine, "SELECT id FROM articles") == []


def test_unknown_site_is_created_from_the_item(engine):
    other = ArticleItem(
        site="enabbaladi",
        url="https://www.enabbaladi.net/123/",
        canonical_url="https://www.enabbaladi.net/123/",
        fetched_at=T0,
        title="خبر",
        body_text="نص",
    )
    assert rec(engine, other) == RecordStats(new=1)
    (row,) = rows(engine, "SELECT name, base_url FROM sites WHERE slug = 'enabbaladi'")
    assert tuple(row) == ("enabbaladi", "https://www.enabbaladi.net/")


def test_a_batch_takes_a_bounded_number_of_advisory_locks(engine):
    # Every advisory lock uses a slot of the server's shared lock table: a lock per URL
    # would exhaust it with a few concurrent writers.
    batch = [
        item(T0, ext=str(i), url=f"{BASE}/a-{i}/", urls=[f"{BASE}/?p={i}"]) for i in range(300)
    ]
    with engine.begin() as conn:
        record(conn, batch)
        held = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
        ).scalar_one()
    assert 0 < held <= LOCK_BUCKETS
    assert len(rows(engine, "SELECT id FROM articles")) == 300


def test_known_articles_carry_the_page_etag_only_for_a_page_fetch(engine):
    page = Fetch(URL, 200, {"Etag": ['"31842-1717"']}, b"<html>page</html>", T0)
    rest_url = f"{BASE}/wp-json/wp/v2/posts"
    rest = Fetch(rest_url, 200, {"Etag": ['"listing"']}, b'[{"id": 2}, {"id": 4}]', T0)
    page_d = Fetch(f"{BASE}/d/", 200, {"Etag": ['"4-page"']}, b"<html>d</html>", T0)
    rec(
        engine,
        item(T0, fetch=page),
        item(T0, ext="2", url=f"{BASE}/b/", fetch=rest, fetch_entry="/0"),
        item(T0, ext="3", url=f"{BASE}/c/"),
        item(T0, ext="4", url=f"{BASE}/d/", fetch=rest, fetch_entry="/1", page_fetch=page_d),
    )
    with engine.connect() as conn:
        etags = {k.external_id: k.etag for k in known_articles(conn, SITE)}
    assert etags == {"101": '"31842-1717"', "2": None, "3": None, "4": '"4-page"'}


def test_a_bumped_site_version_makes_a_reextraction_not_an_edit(engine):
    """Revisions record which extractor made them: after one site bumps its page's
    site_version, its next revision is counted as a re-extraction; another site's edit
    under an unchanged extractor stays an edit."""
    from crawler.extract.page import WordPressPage, extract_article
    from crawler.replica.wordpress import WordPressSite

    other = "othersite"
    with engine.begin() as conn:
        ensure_site(conn, SiteInfo(other, "موقع آخر", "https://other.example/"))
    site = WordPressSite.furatpost()
    post = site.published()[0]
    html, url = site.render_article(post.id), site.permalink(post.id)
    v1 = WordPressPage.declare(site_version=1)
    # Version 2 of the declaration reads the page differently (the credit line goes).
    v2 = WordPressPage.declare(site_version=2, byline_patterns=(r"فرات\s*بوست\s*/.{0,30}",))
    first = extract_article(html, url, T0, v1)
    again = extract_article(html, url, T0 + timedelta(hours=1), v2)
    assert first.body_text != again.body_text  # only the extractor changed, not the page
    assert (first.extractor, first.extractor_version) == ("akhbar.page/wordpress", "3.1/1")
    assert again.extractor_version == "3.1/2"

    def of(extracted, site_name, **fields):
        got = extracted.to_item(site_name)
        for name, value in fields.items():
            setattr(got, name, value)
        return got

    other_url = "https://other.example/a/"
    assert rec(
        engine,
        of(first, SITE),
        of(first, other, url=other_url, canonical_url=other_url, urls=[]),
    ) == RecordStats(new=2)
    later = T0 + timedelta(hours=1)
    edited = first.body_text + "\n\nتحديث: فقرة أضافها الموقع."
    stats = rec(
        engine,
        of(again, SITE),
        of(
            first,
            other,
            url=other_url,
            canonical_url=other_url,
            urls=[],
            fetched_at=later,
            body_text=edited,
        ),
    )
    assert stats == RecordStats(reextracted=1, revised=1)
    got = rows(
        engine,
        "SELECT s.slug, r.revision_no, r.extractor_version FROM article_revisions r"
        " JOIN articles a ON a.id = r.article_id JOIN sites s ON s.id = a.site_id"
        " ORDER BY s.slug, r.revision_no",
    )
    assert [tuple(r) for r in got] == [
        (SITE, 1, "3.1/1"),
        (SITE, 2, "3.1/2"),
        (other, 1, "3.1/1"),
        (other, 2, "3.1/1"),
    ]

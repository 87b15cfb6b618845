"""Hostile input to extraction and ``akhbar extract``: NUL and lone surrogates, undeclared
encodings, deep nesting, broken and oversized files. Each case ends in a stored article or
a one-line reason, never a traceback or a silently shortened text."""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from golden import FIXTURES, load_case, page_for_spider

from crawler.errors import NotAnArticle
from crawler.extract.html import MAX_PAGE_BYTES
from crawler.extract.page import decode_html, extract_article
from crawler.extract.snapshot import extract_snapshot
from crawler.extract.wordpress import extract_rest_post
from crawler.replica.wordpress import WordPressSite

FETCHED = datetime(2026, 11, 25, tzinfo=UTC)
URL = "https://euphratespost.net/archives/31842"
REST_URL = "https://euphratespost.net/wp-json/wp/v2/posts/31842"


def furatpost() -> WordPressSite:
    return WordPressSite.furatpost()


# --- akhbar extract on unreadable input: one line, exit 3 (2: not an article) ----------------


def akhbar_extract(path: Path, url: str = URL, *, memory_limit: int | None = None):
    """``akhbar extract`` in its own process (optionally under an address-space limit)."""

    def limit() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "extract", str(path), "--url", url],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
        check=False,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr


def gzipped_page() -> bytes:
    return gzip.compress(furatpost().render_article(31842).encode("utf-8"))


def test_extract_a_corrupt_gzip_is_unreadable(tmp_path):
    data = bytearray(gzipped_page())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # a damaged block inside
    path = tmp_path / "corrupt.html.gz"
    path.write_bytes(bytes(data))
    assert_one_line(akhbar_extract(path), 3, "cannot read")


def test_extract_a_truncated_gzip_is_unreadable(tmp_path):
    data = gzipped_page()
    path = tmp_path / "truncated.html.gz"
    path.write_bytes(data[: len(data) // 2])
    assert_one_line(akhbar_extract(path), 3, "cannot read")


def test_extract_a_gzip_bomb_stops_at_the_bound_in_bounded_memory(tmp_path):
    """1 GiB of zeros in 1 MB of gzip, read under a 768 MiB address-space limit: it is
    decompressed only up to ``MAX_PAGE_BYTES``."""
    path = tmp_path / "bomb.html.gz"
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    with path.open("wb") as out:
        for _ in range(1024):
            out.write(compressor.compress(zeros))
        out.write(compressor.flush())
    assert path.stat().st_size < 2 * 1024 * 1024
    result = akhbar_extract(path, memory_limit=768 * 1024 * 1024)
    assert_one_line(result, 3, "larger than", f"{MAX_PAGE_BYTES // (1024 * 1024)} MiB")


def test_extract_binary_junk_is_unreadable(tmp_path):
    path = tmp_path / "junk.html"
    path.write_bytes(os.urandom(64 * 1024))
    assert_one_line(akhbar_extract(path), 3, "cannot read", "undecodable")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p.update(content="<p>نص</p>"), id="content-a-string"),
        pytest.param(lambda p: p.update(content=["<p>نص</p>"]), id="content-a-list"),
        pytest.param(lambda p: p.update(content={"rendered": 7}), id="rendered-a-number"),
        pytest.param(lambda p: p.update(_embedded=[1, 2]), id="embedded-a-list"),
        pytest.param(lambda p: p.update(title=None, link=5), id="link-a-number"),
    ],
)
def test_extract_a_rest_post_of_the_wrong_shape_is_not_an_article(tmp_path, change):
    post = furatpost().rest_post(31842)
    change(post)
    path = tmp_path / "post.json"
    path.write_text(json.dumps(post, ensure_ascii=False), encoding="utf-8")
    result = akhbar_extract(path, REST_URL)
    if result.returncode == 0:  # a wrong member that is not needed is treated as missing
        assert json.loads(result.stdout)["external_id"] == "31842"
    else:
        assert_one_line(result, 2, "not an article")


def test_extract_rest_json_that_is_not_utf8_is_not_an_article(tmp_path):
    post = json.dumps(furatpost().rest_post(31842), ensure_ascii=False)
    path = tmp_path / "post.json"
    path.write_bytes(post.encode("cp1256", errors="replace"))
    assert_one_line(akhbar_extract(path, REST_URL), 2, "not an article")


def test_rest_post_shapes_during_crawls_are_reasons_not_errors():
    post = furatpost().rest_post(31842)
    for wrong in ([post], "post", {**post, "content": "<p>x</p>"}):
        with pytest.raises(NotAnArticle) as caught:
            extract_rest_post(wrong, FETCHED)  # type: ignore[arg-type]
        assert caught.value.reason == "malformed"


# --- NUL and lone surrogates: repaired, counted, never the article lost ----------------------

NUL_TITLE = "انقطاع\x00 المياه عن \ud800حي الجورة"
NUL_PARAGRAPHS = [
    "قال سكان في حي الجورة إن المياه\x00 مقطوعة منذ أسبوع عن معظم المنازل في الحي.",
    "وأضافوا أن الصهاريج الخاصة رفعت أسعارها \udc80إلى الضعف خلال الأيام الأخيرة.",
]


def repaired(text: str) -> str:
    return text.replace("\x00", "").replace("\ud800", "\ufffd").replace("\udc80", "\ufffd")


def test_rest_post_with_nul_and_lone_surrogates_keeps_every_paragraph():
    site = furatpost()
    post = site.rest_post(31842)
    post["title"]["rendered"] = NUL_TITLE
    post["content"]["rendered"] = "".join(f"<p>{p}</p>" for p in NUL_PARAGRAPHS)
    got = extract_rest_post(post, FETCHED)
    assert got.title == repaired(NUL_TITLE)
    assert got.body_text == "\n\n".join(repaired(p) for p in NUL_PARAGRAPHS)
    assert got.text_repairs == {"nul_removed": 2, "surrogates_replaced": 2}


def test_page_with_nul_and_a_surrogate_escape_in_json_ld():
    page = furatpost().render_article(31842)
    page = page.replace("</p>", "\x00</p>", 1)
    page = page.replace('"headline": "', '"headline": "\\ud800', 1)  # JSON-LD wins the title
    got = extract_article(page.encode("utf-8"), URL, FETCHED)
    assert "\x00" not in got.body_text and got.title.startswith("\ufffd")
    assert got.body_text == furatpost().get(31842).body_text
    assert got.text_repairs == {"nul_removed": 1, "surrogates_replaced": 1}


def test_a_url_with_nul_or_a_lone_surrogate_has_the_key_of_its_stored_form():
    from crawler.extract.text import storable
    from crawler.extract.urls import url_key

    for url in ("https://euphratespost.net/a\ud800b/", "https://euphratespost.net/a\x00b/"):
        assert url_key(url) == url_key(storable(url))
    assert url_key("https://euphratespost.net/a\ud800b/") == "euphratespost.net/a%EF%BF%BDb"


# --- encodings: the declaration, else detection; never mojibake ------------------------------


def cp1256_undeclared(site: WordPressSite, post_id: int) -> bytes:
    from crawler.replica.faults import Fault, transform
    from crawler.replica.messages import Response

    page = Response(200, site.render_article(post_id).encode(), [("Content-Type", "text/html")])
    return transform(Fault("cp1256", params={"declare": "none"}), page).body


def test_undeclared_windows_1256_pages_are_detected():
    """Every page of a 300-post replica, in windows-1256 declared nowhere (Scrapy's guess
    gets about two thirds of these wrong), decodes to its own text, as its stored
    snapshot does."""
    site = WordPressSite.furatpost(generated=300, include_data=False)
    for post_id in sorted(site.posts):
        body = cp1256_undeclared(site, post_id)
        assert b"charset" not in body.lower()
        got = extract_article(body, site.permalink(post_id), FETCHED, content_type="text/html")
        assert got.title == site.get(post_id).title, post_id
        assert got.body_text == site.get(post_id).body_text, post_id
        again = extract_snapshot(
            body,
            site.permalink(post_id),
            FETCHED,
            page_for_spider("furatpost"),
            headers={"Content-Type": "text/html"},
        )
        assert again.body_text == got.body_text


def test_a_declaration_the_bytes_contradict_is_not_believed():
    site = furatpost()
    text = site.render_article(31842)
    declared_utf8 = text.encode("cp1256", errors="xmlcharrefreplace")  # keeps <meta UTF-8>
    assert decode_html(declared_utf8, content_type="text/html; charset=utf-8") == text
    # A stray byte in a UTF-8 page does not make it windows-1256.
    stray = text.encode("utf-8").replace(b"</p>", b"\xff</p>", 1)
    assert decode_html(stray, content_type="text/html; charset=utf-8").count("\ufffd") == 1


def test_bytes_that_are_no_text_are_rejected_with_a_reason():
    with pytest.raises(NotAnArticle) as caught:
        extract_article(os.urandom(32 * 1024), URL, FETCHED)
    assert caught.value.reason == "undecodable"


# --- deep nesting: parsed whole, bounded -----------------------------------------------------


def nested(page: str, depth: int = 300) -> str:
    head, body_tag, rest = page.partition("<body")
    tag_end = rest.index(">") + 1
    return head + body_tag + rest[:tag_end] + "<span>" * depth + rest[tag_end:]


@pytest.mark.parametrize("name", ["2018-05-24_31842", "2019-01-16_33410"])
def test_a_page_inside_300_unclosed_spans_extracts_every_paragraph(name):
    """Golden cases with 300 unclosed ``<span>``s opened before the body (libxml2's default
    limit is about 256 levels: the body was cut to nothing)."""
    case = load_case(FIXTURES / "furatpost" / f"{name}.json")
    page = nested(case.html().decode("utf-8"))
    got = extract_article(page, case.url, case.fetched_at, page_for_spider(case.spider))
    assert got.body_text == case.expected["body_text"]
    assert got.title == case.expected["title"]


def test_rest_content_inside_300_unclosed_spans_keeps_every_paragraph():
    site = furatpost()
    post = site.rest_post(31842)
    post["content"]["rendered"] = "<span>" * 300 + post["content"]["rendered"]
    got = extract_rest_post(post, FETCHED)
    assert got.body_text == site.get(31842).body_text


def test_nesting_past_what_the_extractor_walks_is_a_reason_not_a_crash():
    page = nested(furatpost().render_article(31842), depth=20_000)
    with pytest.raises(NotAnArticle) as caught:
        extract_article(page, URL, FETCHED)
    assert caught.value.reason == "too_deep"


def test_a_page_over_the_size_bound_is_rejected():
    with pytest.raises(NotAnArticle) as caught:
        extract_article(b" " * (MAX_PAGE_BYTES + 1), URL, FETCHED)
    assert caught.value.reason == "too_large"


# --- real crawls against the replica, into PostgreSQL ---------------------------------------


def crawl(db: str, replica, home: Path, **kwargs):
    from crawl_harness import run_crawl

    result = run_crawl("furatpost", db, replica.proxy_url, home=home, **kwargs)
    assert result.ok, result.log_tail()
    # The bound for every hostile case: the crawl process stays under 500 MB.
    assert result.max_rss_kb is not None and result.max_rss_kb < 500 * 1024, result.max_rss_kb
    return result


def stored(db: str) -> dict[int, tuple[str, str]]:
    """``{external id: (title, body_text)}`` of every article's current revision."""
    from sqlalchemy import text

    from crawler.db.session import get_engine

    with get_engine(db).connect() as conn:
        found = conn.execute(
            text(
                "SELECT a.external_id, r.title, r.body_text FROM articles a"
                " JOIN article_revisions r ON r.id = a.current_revision_id"
            )
        )
        return {int(r.external_id): (r.title, r.body_text) for r in found}


def reextracted(db: str) -> dict[int, tuple[str, str]]:
    """The same, re-extracted from each revision's stored fetch."""
    from sqlalchemy import text

    from crawler.db.session import get_engine
    from crawler.extract.snapshot import EVIDENCE_SQL
    from crawler.spiders import reextract

    with get_engine(db).connect() as conn:
        evidence = list(conn.execute(text(EVIDENCE_SQL)))
    out: dict[int, tuple[str, str]] = {}
    for row in evidence:
        _, again = reextract(row)
        out[int(again.external_id)] = (again.title, again.body_text)
    return out


@pytest.mark.slow
def test_a_crawled_rest_post_with_nul_and_lone_surrogates_is_stored_repaired(
    make_database, tmp_path
):
    from crawler.replica.server import Replica

    db = make_database()
    site = furatpost()
    post = site.add({"title": NUL_TITLE, "slug": "water-cut", "paragraphs": NUL_PARAGRAPHS})
    with Replica([site]) as replica:
        result = crawl(db, replica, tmp_path, settings={"KEEP_ARTICLE_PAGES": False})
    assert result.stat("spider/articles/rest") == len(site.posts)
    assert result.stat("errors") == 0 and result.stat("spider/errors") == 0
    articles = stored(db)
    assert set(articles) == set(site.posts)
    assert articles[post.id] == (
        repaired(NUL_TITLE),
        "\n\n".join(repaired(p) for p in NUL_PARAGRAPHS),
    )
    # Counted in the post as sent (its title is in it more than once: Yoast repeats it).
    sent = json.dumps(site.rest_post(post.id))
    assert result.stat("clean/nul_removed") == sent.count("\\u0000") >= 2
    assert result.stat("clean/surrogates_replaced") == sent.count("\\ud") >= 2


@pytest.mark.slow
def test_an_undeclared_windows_1256_site_with_deep_pages_crawled_end_to_end(
    make_database, tmp_path
):
    """REST refused, so every article comes from its page: windows-1256 declared nowhere,
    and three pages inside 300 unclosed ``<span>``s. Every stored body is the site's text,
    and each stored fetch re-extracts to exactly what was stored."""
    import re

    from crawler.replica.server import Replica

    db = make_database()
    site = WordPressSite.furatpost(rest_status=403, generated=50)
    deep = sorted(site.posts)[:3]
    with Replica([site]) as replica:
        for post_id in deep:
            replica.faults.add("deep", re.escape(site.permalink(post_id)) + "$", depth=300)
        replica.faults.add("cp1256", declare="none")  # every other HTML answer
        result = crawl(db, replica, tmp_path)
    assert result.stats.get("spider/discovery") == "sitemaps"
    assert result.stat("spider/not_article/empty_body") == 0
    expected = {
        post_id: (site.get(post_id).title, site.get(post_id).body_text) for post_id in site.posts
    }
    assert stored(db) == expected
    assert reextracted(db) == expected

"""Extraction: golden cases (one test per case and field) and focused page/REST tests."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import lxml.html
import pytest
from golden import Case, derive, discover, page_for_spider

from crawler.errors import NotAnArticle
from crawler.extract.html import sanitize_html
from crawler.extract.page import FIELDS, WordPressPage, extract_article
from crawler.extract.text import content_hash
from crawler.extract.wordpress import extract_rest_post
from crawler.items import HASHED_FIELDS

CASES = discover()
FETCHED = datetime(2026, 11, 25, tzinfo=UTC)


@cache
def _answer(case_id: str) -> dict:
    case = next(c for c in CASES if c.id == case_id)
    return derive(case.html(), case.url, case.fetched_at, case.spider)


def answer(case: Case) -> dict:
    return _answer(case.id)


def _field_params():
    for case in CASES:
        if case.expected is None:
            yield pytest.param(case, "not_an_article", id=f"{case.id}:not_an_article")
        else:
            for name in FIELDS:
                yield pytest.param(case, name, id=f"{case.id}:{name}")


def test_golden_cases_exist():
    assert any(c.spider == "furatpost" and c.expected for c in CASES)
    assert any(c.not_an_article for c in CASES)


@pytest.mark.parametrize(("case", "name"), list(_field_params()))
def test_golden_field(case, name):
    got = answer(case)
    if name == "not_an_article":
        assert got.get("not_an_article") == case.not_an_article
        return
    assert "expected" in got, f"not an article: {got.get('not_an_article')}"
    assert got["expected"][name] == case.expected.get(name)


# --- the seed article -------------------------------------------------------------------


def seed_case() -> Case:
    return next(c for c in CASES if c.name.endswith("_31842"))


def test_seed_body_is_exactly_its_eight_paragraphs():
    case = seed_case()
    article = extract_article(case.html(), case.url, case.fetched_at, page_for_spider("furatpost"))
    paragraphs = article.body_text.split("\n\n")
    assert len(paragraphs) == 8
    assert paragraphs[0].startswith("سقط عشرات القتلى")
    assert paragraphs[-1].endswith("لتجنب ضربات جديدة للتحالف.")
    for junk in (
        "admindiaa",
        "قد يعجبك",
        "قد يعحبك",
        "دع تعليقاً",
        "توافق",
        "الكوكيز",
        "Privacy",
        "شارك",
    ):
        assert junk not in article.body_text
    assert article.authors == ["admindiaa"]
    assert "<script" not in article.body_html and "figcaption" not in article.body_html


def test_structured_data_missing_falls_back_to_theme_markup():
    case = seed_case()
    html = case.html().decode()
    html = re.sub(r'<script type="application/ld\+json".*?</script>', "", html, flags=re.S)
    html = re.sub(r"<meta (?:property|name)=\"(?:og|article|author|twitter)[^>]*>", "", html)
    got = extract_article(html, case.url, case.fetched_at, page_for_spider("furatpost")).fields()
    for name in FIELDS:
        assert got[name] == case.expected[name], name


def test_a_one_sentence_breaking_news_post_is_an_article():
    from crawler.replica.wordpress import WordPressSite

    site = WordPressSite.furatpost()
    sentence = "مقتل ثلاثة مدنيين بقصف على ريف دير الزور الشرقي."
    post = site.add({"title": "عاجل | قصف على ريف دير الزور", "paragraphs": [sentence]})
    profile = page_for_spider("furatpost")
    page = extract_article(site.render_article(post.id), site.permalink(post.id), FETCHED, profile)
    rest = extract_rest_post(site.rest_post(post.id), FETCHED, profile)
    assert page.body_text == rest.body_text == sentence


# --- WordPress REST ---------------------------------------------------------------------


def test_rest_and_page_give_the_same_revision_fields():
    from crawler.replica.wordpress import WordPressSite

    # The REST entries and pages the replica serves: its articles and generated ones, with
    # bylines, "اقرأ أيضاً"/"مواد ذات صلة" blocks and captioned images inside the content.
    site = WordPressSite.furatpost(generated=40)
    profile = page_for_spider("furatpost")
    for article in site.published():
        page = extract_article(
            site.render_article(article.id), site.permalink(article.id), FETCHED, profile
        )
        rest = extract_rest_post(site.rest_post(article.id), FETCHED, profile)
        assert rest.external_id == page.external_id == str(article.id)
        # The credit line the content opens with ("فرات بوست / أخبار") is body.
        assert rest.body_text == page.body_text == article.body_text
        for name in ("title", "authors", "section", "tags", "image_url", "canonical_url"):
            assert getattr(rest, name) == getattr(page, name), (article.id, name)
        assert rest.published_at == page.published_at and rest.modified_at == page.modified_at
        assert rest.published_at.utcoffset().total_seconds() == 0
        assert content_hash(**{k: getattr(rest, k) for k in HASHED_FIELDS}) == content_hash(
            **{k: getattr(page, k) for k in HASHED_FIELDS}
        )
        assert f"https://{site.host}/?p={article.id}" in rest.urls


def test_rest_local_dates_and_rejections():
    post = {
        "id": 7,
        "status": "publish",
        "link": "https://example.org/x/",
        "date": "2020-01-15T10:00:00",
        "date_gmt": "0000-00-00T00:00:00",
        "title": {"rendered": "عنوان &#8211; فرعي"},
        "content": {
            "rendered": "<p>"
            + "نص الخبر " * 20
            + "</p><p><strong>اقرأ أيضاً: </strong><a href='/y/'>خبر</a></p>"
        },
    }
    got = extract_rest_post(post, FETCHED)
    assert got.title == "عنوان – فرعي"
    assert got.published_at.isoformat() == "2020-01-15T10:00:00+02:00"
    assert "اقرأ" not in got.body_text and got.external_id == "7"
    with pytest.raises(NotAnArticle, match="not_published"):
        extract_rest_post({**post, "status": "draft"}, FETCHED)
    with pytest.raises(NotAnArticle, match="empty_body"):
        extract_rest_post({**post, "content": {"rendered": ""}}, FETCHED)


# --- hand-written pages -------------------------------------------------------------------

# The credit line wp_page's content opens with: body, by the body rule.
CREDIT = "عنب بلدي – خاص"
PARAGRAPHS = [
    "قالت مصادر محلية إن دورية عسكرية انتشرت صباح اليوم في أحياء مدينة الرقة الشمالية.",
    "وأضافت المصادر أن الدورية أقامت حواجز مؤقتة وفتشت عدداً من المنازل قبل أن تنسحب.",
    "ولم تصدر أي جهة رسمية تعليقاً على ما جرى حتى ساعة إعداد هذا الخبر.",
]


def wp_page(
    extra_head: str = "",
    body_class: str = "single single-post postid-555",
    content: str | None = None,
) -> str:
    if content is None:
        content = f"""
<p><strong>{CREDIT}</strong></p>
<p>{PARAGRAPHS[0]}</p>
<p><strong>اقرأ أيضاً:</strong> <a href="/other/">خبر آخر عن الرقة</a></p>
<figure class="wp-caption"><img src="/img/raqqa.jpg" alt="الرقة"><figcaption class="wp-caption-text">صورة أرشيفية</figcaption></figure>
<p onclick="evil()"><a href="javascript:alert(1)">{PARAGRAPHS[1]}</a><script>track()</script></p>
<p>مواد ذات صلة:</p>
<ul><li><a href="/a/">مادة أولى</a></li><li><a href="/b/">مادة ثانية</a></li></ul>
<div>{PARAGRAPHS[2]}</div>
<div class="sharedaddy"><h3>شارك هذا:</h3><a href="https://facebook.com/x">Facebook</a></div>
<div id="jp-relatedposts"><h3>ذات صلة</h3><p>مقال آخر تماماً لا علاقة له بالموضوع.</p></div>"""
    return f"""<!DOCTYPE html><html lang="ar-SY"><head><meta charset="utf-8">
<title>دورية في الرقة – عنب بلدي</title>
<meta property="og:site_name" content="عنب بلدي">
<link rel="canonical" href="/archives/555"><link rel="shortlink" href="https://example.net/?p=555">{extra_head}
</head><body class="{body_class}">
<nav><a href="/">الرئيسية</a></nav>
<article><h1 class="entry-title">دورية في الرقة</h1>
<span class="author vcard"><a rel="author" href="/author/x/">by سامر الأحمد</a></span>
<time class="entry-date published" datetime="2021-03-04T09:15:00">4 آذار 2021</time>
<div class="entry-content">{content}</div>
<div class="tags-links"><a rel="tag" href="/tag/raqqa/">الرقة</a></div>
</article>
<aside class="widget widget_tag_cloud"><div class="tagcloud"><a rel="tag" href="/tag/x/">سحابة</a></div></aside>
<div id="cookie-law-info-bar">هذا الموقع يستخدم ما يسمى الكوكيز</div>
</body></html>"""


def test_wordpress_page_without_structured_data():
    got = extract_article(wp_page(), "https://example.net/archives/555?utm_source=rss", FETCHED)
    assert got.title == "دورية في الرقة"
    assert got.body_text == "\n\n".join([CREDIT, *PARAGRAPHS])
    assert got.authors == ["سامر الأحمد"]
    assert got.published_at.isoformat() == "2021-03-04T09:15:00+02:00"
    assert got.tags == ["الرقة"]
    assert got.canonical_url == "https://example.net/archives/555"
    assert got.external_id == "555"
    assert got.language == "ar"
    assert got.image_url == "https://example.net/img/raqqa.jpg"
    assert "https://example.net/?p=555" in got.urls
    assert "https://example.net/archives/555?utm_source=rss" in got.urls


def test_body_html_is_sanitized():
    html = extract_article(wp_page(), "https://example.net/archives/555", FETCHED).body_html
    frag = lxml.html.fragment_fromstring(html, create_parent="div")
    assert {el.tag for el in frag.iter()} <= {"div", "p", "img", "figure", "a", "strong"}
    assert not any(set(el.attrib) - {"href", "src", "alt"} for el in frag.iter())
    assert '<img src="https://example.net/img/raqqa.jpg" alt="الرقة">' in html
    assert "javascript:" not in html and "track()" not in html and "صورة أرشيفية" not in html


def test_sanitize_html_keeps_safe_subset():
    got = sanitize_html(
        '<h1>عنوان</h1><table><tr><td colspan="2" style="x">خلية</td></tr></table>'
        '<span class="x"><em>مائل</em></span><iframe src="https://evil"></iframe><a href="/p" target="_blank">رابط</a>',
        "https://example.net/dir/",
    )
    assert got == (
        '<h2>عنوان</h2><table><tr><td colspan="2">خلية</td></tr></table>'
        '<em>مائل</em><a href="https://example.net/p">رابط</a>'
    )


def test_jsonld_graph_wins_and_profile_selector_overrides():
    ld = """<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
      {"@type":"NewsArticle","@id":"#a","headline":"عنوان من البيانات","datePublished":"2022-06-01T08:00:00+03:00",
       "author":{"@id":"#p"},"articleSection":["سياسة","أخبار"],"keywords":"الرقة، دير الزور",
       "image":{"@id":"#img"}},
      {"@type":"Person","@id":"#p","name":"رنا"},{"@type":"ImageObject","@id":"#img","url":"https://cdn.example.net/a.jpg"}]}</script>"""
    got = extract_article(wp_page(ld), "https://example.net/archives/555", FETCHED)
    assert (got.title, got.authors, got.section) == ("عنوان من البيانات", ["رنا"], "سياسة")
    assert got.tags == ["الرقة", "دير الزور"] and got.image_url == "https://cdn.example.net/a.jpg"
    assert got.published_at.isoformat() == "2022-06-01T08:00:00+03:00"
    page = WordPressPage.declare(
        title_selector="h1.entry-title", published_selector="time.entry-date"
    )
    got = extract_article(wp_page(ld), "https://example.net/archives/555", FETCHED, page)
    assert got.title == "دورية في الرقة"
    assert got.published_at.isoformat() == "2021-03-04T09:15:00+02:00"


def test_profile_byline_and_boilerplate_additions():
    # A line that is not article text (an editor's signature), unlike a credit line.
    content = f"<p>تدقيق: فريق التحرير</p><p>{PARAGRAPHS[0]}</p><p>للمزيد: تابع قناتنا</p><p>{PARAGRAPHS[1]}</p>"
    page = WordPressPage.declare(
        byline_patterns=(r"تدقيق\s*:.{0,30}",), extra_boilerplate=(r"للمزيد:",)
    )
    got = extract_article(
        wp_page(content=content), "https://example.net/archives/555", FETCHED, page
    )
    assert got.body_text == "\n\n".join(PARAGRAPHS[:2])


@pytest.mark.parametrize(
    "junk",
    [
        "<p>شارك المقال: فيسبوك تويتر واتساب</p>",
        "<p>Share this: Facebook Twitter Telegram</p>",
        "<p>فيسبوك | تويتر | واتس اب</p>",
        "<p>اقرأ أيضاً: <a href='/x/'>خبر آخر</a></p>",
        "<p><a href='/x/'>إقرأ أيضا: خبر آخر</a></p>",
        "<h3>مواد ذات صلة</h3><p><a href='/y/'>خبر أول</a></p><p><a href='/z/'>خبر ثان</a></p>",
        "<figure><img src='/a.jpg'><figcaption>صورة من الأرشيف</figcaption></figure>",
    ],
)
def test_inline_junk_without_theme_classes_is_dropped(junk):
    content = f"<p>{PARAGRAPHS[0]}</p>{junk}<p>{PARAGRAPHS[1]}</p>"
    got = extract_article(wp_page(content=content), "https://example.net/archives/555", FETCHED)
    assert got.body_text == "\n\n".join(PARAGRAPHS[:2])


def test_related_block_mid_content_is_dropped_not_the_rest():
    content = (
        f"<p>{PARAGRAPHS[0]}</p><h3>قد يعجبك أيضاً</h3>"
        '<ul><li><a href="/1/">خبر أول</a></li><li><a href="/2/">خبر ثانٍ</a></li></ul>'
        f"<p>{PARAGRAPHS[1]}</p><p>{PARAGRAPHS[2]}</p><p>دع تعليقاً</p><p>اسمك</p>"
    )
    got = extract_article(wp_page(content=content), "https://example.net/archives/555", FETCHED)
    assert got.body_text == "\n\n".join(PARAGRAPHS)


def test_windows_1256_declared_only_in_meta():
    page = wp_page().replace(
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">',
    )
    got = extract_article(page.encode("cp1256"), "https://example.net/archives/555", FETCHED)
    assert got.body_text == "\n\n".join([CREDIT, *PARAGRAPHS])


def test_generic_fallback_when_no_selector_matches():
    body = "".join(f"<p>{p} {p}</p>" for p in PARAGRAPHS)
    page = f"""<html lang="ar"><head><title>خبر</title><meta property="og:type" content="article"></head>
    <body><div id="menu"><a href="/">الرئيسية</a> <a href="/x">أخبار</a></div>
    <div id="story"><h1>خبر</h1>{body}</div><div id="foot">جميع الحقوق محفوظة</div></body></html>"""
    got = extract_article(page, "https://example.org/news/1", FETCHED)
    assert got.extractor.endswith("+trafilatura")
    assert got.body_text.split("\n\n") == [f"{p} {p}" for p in PARAGRAPHS]


def test_numbers_in_titles_are_not_error_pages():
    page = wp_page(body_class="").replace("دورية في الرقة – عنب بلدي", "مقتل 500 عنصر في الرقة")
    got = extract_article(page, "https://example.net/archives/555", FETCHED)
    assert got.body_text == "\n\n".join([CREDIT, *PARAGRAPHS])
    not_found = "<html><head><title>404 - الصفحة غير موجودة</title></head><body><h1>404</h1><p>عذراً</p></body></html>"
    with pytest.raises(NotAnArticle, match="error_page"):
        extract_article(not_found, "https://example.net/x/", FETCHED)


CHALLENGE = """<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>
<div id="cf-content"><h1>Checking your browser before accessing example.net.</h1></div>
<form id="challenge-form" action="/?__cf_chl_jschl_tk__=x"></form></body></html>"""
REDIRECT = "<html><head><title>301 Moved Permanently</title></head><body><h1>Moved Permanently</h1><p>The document has moved <a href='https://x/'>here</a>.</p></body></html>"
LOGIN = """<html><head><title>Log In ‹ موقع — WordPress</title></head><body class="login">
<form name="loginform" id="loginform"><input type="text" name="log"><input type="password" name="pwd"></form></body></html>"""


@pytest.mark.parametrize(
    ("page", "url", "reason"),
    [
        (CHALLENGE, "https://example.net/a/", "challenge"),
        (REDIRECT, "https://example.net/", "redirect_stub"),
        (LOGIN, "https://example.net/wp-login.php", "login"),
        (
            wp_page(body_class="archive category category-news"),
            "https://example.net/category/news/",
            "listing",
        ),
        (wp_page(body_class="error404"), "https://example.net/missing/", "error_page"),
        (wp_page(content=""), "https://example.net/archives/555", "empty_body"),
        (wp_page(content="<p>خبر قصير.</p>"), "https://example.net/archives/555", "short_body"),
        ("", "https://example.net/", "empty_page"),
    ],
)
def test_not_an_article(page, url, reason):
    with pytest.raises(NotAnArticle) as caught:
        extract_article(
            page, url, FETCHED, WordPressPage.declare(use_generic_fallback=reason != "short_body")
        )
    assert caught.value.reason == reason


# --- akhbar extract -------------------------------------------------------------------------


def test_cli_extract_prints_one_json_object(capsys):
    import json

    from crawler.cli import main
    from crawler.cli.extract import output_keys

    case = seed_case()
    status = main(
        ["extract", str(case.html_path), "--url", case.url, "--fetched-at", "2026-11-25T00:00:00Z"]
    )
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert tuple(out) == output_keys()
    assert out["site"] == "furatpost"
    # Machine output is in UTC; the golden case keeps the offset the site declared.
    for key in ("published_at", "modified_at"):
        if case.expected.get(key):
            assert out[key].endswith("+00:00")
            assert datetime.fromisoformat(out[key]) == datetime.fromisoformat(case.expected[key])
            out[key] = case.expected[key]
    assert {k: out[k] for k in FIELDS} == case.expected


def test_cli_extract_not_an_article_exits_2(tmp_path, capsys):
    from crawler.cli import main

    page = tmp_path / "challenge.html"
    page.write_text(CHALLENGE)
    assert main(["extract", str(page), "--url", "https://euphratespost.net/x/"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "challenge" in captured.err


def test_cli_extract_rest_post_json(tmp_path, capsys):
    import json

    from crawler.cli import main
    from crawler.replica.wordpress import WordPressSite

    site = WordPressSite.furatpost()
    saved = tmp_path / "post.json"
    saved.write_text(json.dumps(site.rest_post(31842), ensure_ascii=False), encoding="utf-8")
    url = "https://euphratespost.net/wp-json/wp/v2/posts/31842"
    assert main(["extract", str(saved), "--url", url]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["authors"] == ["admindiaa"] and out["external_id"] == "31842"
    assert out["body_text"] == site.get(31842).body_text


def test_cli_extract_an_entry_of_a_rest_list_response(tmp_path, capsys):
    from crawler.cli import main
    from crawler.replica.wordpress import WordPressSite

    site = WordPressSite.furatpost()
    saved = tmp_path / "posts.json"
    saved.write_text(json.dumps([site.rest_post(i) for i in sorted(site.posts)[:2]]))
    url = "https://euphratespost.net/wp-json/wp/v2/posts?page=1"
    assert main(["extract", str(saved), "--url", url, "--entry", "/1"]) == 0
    assert json.loads(capsys.readouterr().out)["external_id"] == str(sorted(site.posts)[1])
    assert main(["extract", str(saved), "--url", url, "--entry", "/2"]) == 2
    assert "no REST entry /2" in capsys.readouterr().err


def test_reextract_stored_fetch_rows():
    """A stored fetch (zstd body, stored headers) re-extracts as the spider extracted."""
    from types import SimpleNamespace

    import zstandard

    from crawler.spiders import reextract

    case = next(c for c in CASES if c.name.endswith("_31842_cp1256"))
    row = SimpleNamespace(
        url=case.url,
        response_headers={"content-type": ["text/html"]},  # the charset only in <meta>
        body=zstandard.ZstdCompressor().compress(case.html()),
        compression="zstd",
        fetched_at=case.fetched_at,
        fetch_entry=None,
    )
    site, got = reextract(row)
    assert site == "furatpost" and got.fields() == case.expected
    # A charset in the stored Content-Type wins over <meta>, as it did for the crawl.
    utf8 = seed_case()
    row.body, row.compression = utf8.html(), None
    row.response_headers = {"Content-Type": ["text/html; charset=UTF-8"]}
    assert reextract(row)[1].fields() == utf8.expected


def test_reextract_the_entry_of_a_rest_list_response():
    from types import SimpleNamespace

    from crawler.extract.wordpress import extract_rest_post
    from crawler.replica.wordpress import WordPressSite
    from crawler.spiders import reextract

    site = WordPressSite.furatpost()
    ids = [a.id for a in site.published()[:3]]
    posts = [site.rest_post(i) for i in ids]
    body = json.dumps(posts, ensure_ascii=False).encode()
    at = datetime(2026, 11, 25, 7, tzinfo=UTC)
    row = SimpleNamespace(
        url="https://euphratespost.net/wp-json/wp/v2/posts?_embed=1&page=1",
        response_headers={"Content-Type": ["application/json; charset=UTF-8"]},
        body=body,
        compression=None,
        fetched_at=at,
        fetch_entry="/1",
    )
    name, got = reextract(row)
    assert name == "furatpost"
    expected = extract_rest_post(posts[1], at, page_for_spider("furatpost"))
    assert got.fields() == expected.fields()
    row.fetch_entry = "/9"
    with pytest.raises(NotAnArticle, match="no REST entry /9"):
        reextract(row)


def test_json_pointer():
    from crawler.extract.snapshot import json_pointer

    doc = {"a/b": [{"~k": 1}], "": 2}
    assert json_pointer(doc, "") is doc
    assert json_pointer(doc, "/a~1b/0/~0k") == 1
    assert json_pointer(doc, "/") == 2
    for bad in ("a", "/a~1b/1", "/a~1b/x", "/nope", "/a~1b/0/~0k/deeper"):
        with pytest.raises(ValueError):
            json_pointer(doc, bad)


def test_cli_extract_unknown_site(tmp_path, capsys):
    from crawler.cli import main

    page = tmp_path / "a.html"
    page.write_text(wp_page())
    assert (
        main(["extract", str(page), "--url", "https://example.net/a/", "--site", "nosuchspider"])
        == 1
    )
    assert "nosuchspider" in capsys.readouterr().err


# --- golden tooling -------------------------------------------------------------------------


def test_golden_add_and_refresh(tmp_path, monkeypatch, capsys):
    import golden

    monkeypatch.setattr(golden, "FIXTURES", tmp_path)
    page = tmp_path / "page.html"
    page.write_text(wp_page())
    url = "https://example.net/archives/555"
    assert (
        golden.main(
            [
                "add",
                str(page),
                "--spider",
                "example",
                "--url",
                url,
                "--fetched-at",
                "2026-01-02T03:04:05+00:00",
            ]
        )
        == 0
    )
    (case,) = golden.discover("example")
    assert case.name == "2021-03-04_555"  # published date and post id: ASCII, never the slug
    assert case.expected["body_text"] == "\n\n".join([CREDIT, *PARAGRAPHS])
    assert golden.main(["refresh", "--check"]) == 0
    text = case.json_path.read_text(encoding="utf-8")
    assert "دورية في الرقة" in text  # ensure_ascii=False
    case.json_path.write_text(text.replace("دورية في الرقة", "عنوان قديم"), encoding="utf-8")
    capsys.readouterr()
    assert golden.main(["refresh", "--check"]) == 1
    assert '+    "title": "دورية في الرقة"' in capsys.readouterr().out
    assert golden.main(["refresh"]) == 0
    assert golden.discover("example")[0].expected["title"] == "دورية في الرقة"


def test_rest_yoast_head_json_fills_gaps():
    post = {
        "id": 9,
        "status": "publish",
        "link": "https://example.net/?p=9",
        "date_gmt": "2023-02-01T10:00:00",
        "modified_gmt": "2023-02-02T10:00:00",
        "title": {"rendered": "خبر"},
        "content": {"rendered": "".join(f"<p>{p}</p>" for p in PARAGRAPHS)},
        "yoast_head_json": {
            "canonical": "https://example.net/khabar/",
            "author": "رنا",
            "og_image": [{"url": "https://example.net/a.jpg"}],
        },
    }
    got = extract_rest_post(post, FETCHED)
    assert (got.canonical_url, got.authors, got.image_url) == (
        "https://example.net/khabar/",
        ["رنا"],
        "https://example.net/a.jpg",
    )
    assert got.modified_at == datetime(2023, 2, 2, 10, tzinfo=UTC)
    assert "https://example.net/?p=9" in got.urls
    assert got.body_html.count("<p>") == 3


# --- page objects ---------------------------------------------------------------------------


def test_a_site_overrides_one_field_of_its_platform_page():
    """A site's page class changes one field (here the section, read from a breadcrumb its
    theme prints) and inherits every other field from WordPressPage unchanged."""
    from crawler.extract.page import WordPressPage

    class BreadcrumbPage(WordPressPage):
        section_sources = ("breadcrumb", *WordPressPage.section_sources)

        def section_breadcrumb(self):
            return self.selected_text(".breadcrumb a:last-child")

    crumb = '<div class="breadcrumb"><a href="/">الرئيسية</a><a href="/raqqa/">الرقة</a></div>'
    page = wp_page().replace("<article>", f"<article>{crumb}")
    url = "https://example.net/archives/555"
    base = extract_article(page, url, FETCHED, WordPressPage).fields()
    got = extract_article(page, url, FETCHED, BreadcrumbPage).fields()
    assert base["section"] is None and got["section"] == "الرقة"
    assert {k: v for k, v in got.items() if k != "section"} == {
        k: v for k, v in base.items() if k != "section"
    }
    # The same as a one-expression declaration, with a selector instead of a method.
    declared = WordPressPage.declare(section_selector=".breadcrumb a:last-child")
    assert extract_article(page, url, FETCHED, declared).fields() == got


TIE_DATE = '<span class="tie-date">4 آذار 2021</span>'


@pytest.mark.parametrize(
    ("published_time", "expected"),
    [
        # The same day with a time of day: structured data's full timestamp wins.
        ("2021-03-04T09:15:00+02:00", "2021-03-04T09:15:00+02:00"),
        # Late on the 3rd in UTC is the 4th in Damascus: still the same day.
        ("2021-03-03T23:30:00+00:00", "2021-03-03T23:30:00+00:00"),
        # Another day: the site declared its selector because structured data is wrong.
        ("2020-01-01T10:00:00+02:00", "2021-03-04T00:00:00+02:00"),
    ],
)
def test_structured_date_wins_over_a_date_only_selector(published_time, expected):
    """A date-only span.tie-date (SANA's TieLabs theme) declared as the published selector
    does not override article:published_time's full time on the same day."""
    from crawler.extract.page import WordPressPage

    meta = f'<meta property="article:published_time" content="{published_time}">'
    page = wp_page(meta).replace("<article>", f"<article>{TIE_DATE}")
    page = re.sub(r"<time .*?</time>", "", page)  # the selector and the meta tag only
    tie = WordPressPage.declare(published_selector="span.tie-date")
    got = extract_article(page, "https://example.net/archives/555", FETCHED, tie)
    assert got.published_at.isoformat() == expected


def test_declare_names_only_attributes_that_exist():
    from crawler.extract.page import WordPressPage

    with pytest.raises(TypeError, match="title_sourcse"):
        WordPressPage.declare(title_sourcse=("meta",))


def test_extractor_versions_are_per_page_class_and_site():
    from crawler.extract.page import ArticlePage, WordPressPage
    from crawler.spiders.furatpost import FuratPostSpider

    assert ArticlePage.extractor() == "akhbar.page/generic"
    assert WordPressPage.extractor() == "akhbar.page/wordpress"
    assert ArticlePage.extractor_version() == "3/0"
    assert WordPressPage.extractor_version() == "3.1/0"
    assert FuratPostSpider.page.extractor_version() == "3.1/1"
    case = seed_case()
    got = extract_article(case.html(), case.url, case.fetched_at, FuratPostSpider.page)
    assert (got.extractor, got.extractor_version) == ("akhbar.page/wordpress", "3.1/1")
    rest = extract_rest_post(WordPressSiteForRest().rest_post(31842), FETCHED, FuratPostSpider.page)
    assert (rest.extractor, rest.extractor_version) == ("akhbar.wordpress-rest", "3/1")


def WordPressSiteForRest():
    from crawler.replica.wordpress import WordPressSite

    return WordPressSite.furatpost()


ENGLISH = [
    "Residents of Deir ez-Zor said the water station stopped pumping on Monday morning.",
    "Local councils asked aid groups to bring water tanks to the eastern neighbourhoods.",
]


def test_an_english_article_in_the_arabic_edition_is_tagged_en():
    content = "".join(f"<p>{p}</p>" for p in ENGLISH)
    page = wp_page(content=content).replace("دورية في الرقة", "Water cut in Deir ez-Zor")
    got = extract_article(page, "https://example.net/archives/555", FETCHED)
    assert got.language == "en"  # the page says lang="ar-SY": the edition's, not the article's
    assert extract_article(wp_page(), "https://example.net/archives/555", FETCHED).language == "ar"
    post = {
        "id": 5,
        "link": "https://example.net/archives/5",
        "title": {"rendered": "Water cut in Deir ez-Zor"},
        "content": {"rendered": content},
    }
    assert extract_rest_post(post, FETCHED).language == "en"


def test_script_language():
    from crawler.extract.language import script_language

    assert script_language("دمشق-سانا: " + PARAGRAPHS[0], "ar") == "ar"
    assert script_language(" ".join(ENGLISH), "ar") == "en"
    assert script_language(" ".join(ENGLISH), "fr") == "fr"  # a Latin-script language stands
    assert (
        script_language("Жители Дейр-эз-Зора сообщили, что насосная станция остановилась.", "ar")
        == "ru"
    )
    assert script_language("فارسی " + PARAGRAPHS[0], "fa") == "fa"
    assert script_language("OK", "ar") == "ar"  # too few letters to tell
    # Mixed text without a clear majority keeps what the page declares.
    assert script_language(PARAGRAPHS[0] + " " + ENGLISH[0], "ar") == "ar"


def test_the_body_rule_keeps_credit_lines_and_leaves_out_the_author_box():
    """Every outlet: the opening dateline or credit line is the article's; the author box
    outside the content ("by admindiaa") is not."""
    for credit in ("إدلب – حرية برس:", "دمشق-سانا", "عنب بلدي – خاص", "فرات بوست / أخبار"):
        content = f"<p><strong>{credit}</strong></p><p>{PARAGRAPHS[0]}</p>"
        got = extract_article(wp_page(content=content), "https://example.net/archives/555", FETCHED)
        assert got.body_text == f"{credit}\n\n{PARAGRAPHS[0]}", credit
    seed = extract_article(seed_case().html(), seed_case().url, FETCHED)
    assert "admindiaa" not in seed.body_text and seed.authors == ["admindiaa"]


CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real-captures"


def test_one_challenge_check_for_the_downloader_extraction_and_validation():
    """The real Cloudflare page SOHR served is a challenge to all three callers."""
    from scrapy.http import HtmlResponse

    from crawler.extract.verdict import item_problem
    from crawler.middlewares import is_challenge

    path = CAPTURES / "syriahr.com_2018_cloudflare_challenge.html"
    if not path.exists():
        pytest.skip(f"shared fixture {path} not present")
    body = path.read_bytes()
    url = "https://www.syriahr.com/"
    for status in (200, 503):
        assert is_challenge(HtmlResponse(url, status=status, body=body))
    with pytest.raises(NotAnArticle, match="challenge"):
        extract_article(body, url, FETCHED)
    assert item_problem("Just a moment...", "")[0] == "challenge"
    # An article page is none of them.
    case = seed_case()
    assert not is_challenge(HtmlResponse(case.url, body=case.html()))


def test_a_site_reorders_one_field_sources():
    """A declaration changes one field's order (meta before JSON-LD for the modified date)."""
    from crawler.extract.page import WordPressPage

    head = (
        '<meta property="article:modified_time" content="2021-03-05T10:00:00+02:00">'
        '<script type="application/ld+json">{"@type":"NewsArticle","headline":"دورية في الرقة",'
        '"dateModified":"2021-03-06T10:00:00+02:00"}</script>'
    )
    url = "https://example.net/archives/555"
    default = extract_article(wp_page(head), url, FETCHED, WordPressPage)
    meta_first = WordPressPage.declare(modified_sources=("meta", "jsonld"))
    got = extract_article(wp_page(head), url, FETCHED, meta_first)
    assert default.modified_at.isoformat() == "2021-03-06T10:00:00+02:00"
    assert got.modified_at.isoformat() == "2021-03-05T10:00:00+02:00"
    assert got.fields() | {"modified_at": None} == default.fields() | {"modified_at": None}

"""The site replica, over real HTTP through its proxy (CONNECT + TLS), as crawlers see it."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

import pytest
from lxml import html as lxml_html

from crawler.replica import Replica, WordPressSite
from crawler.replica.generate import generate_articles
from crawler.replica.slugs import encode_lower, wp_slugify
from crawler.replica.world import load_data

SEED_ID = 31842
# The shared seed scrape, next to the project checkout (../shared/seeds/).
SEED_FILE = os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "seeds", "furatpost-article-scrape.txt"
)
BASE = "https://euphratespost.net"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_CTX = ssl._create_unverified_context()


def fetch(replica: Replica, url: str, headers: dict[str, str] | None = None, method: str = "GET"):
    """One request through the replica's proxy: CONNECT tunnel for https, absolute-form for http."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(replica.host, replica.port, context=_CTX, timeout=10)
        conn.set_tunnel(parts.hostname, 443)
    else:
        conn = http.client.HTTPConnection(replica.host, replica.port, timeout=10)
        target = url
    try:
        conn.request(method, target, headers=headers or {})
        resp = conn.getresponse()
        headers: dict[str, str] = {}
        for key, value in resp.getheaders():  # repeated headers (Link) joined as one
            key = key.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return resp.status, headers, resp.read()
    finally:
        conn.close()


def seed_paragraphs() -> list[str]:
    return load_data("furatpost")["posts"][1]["paragraphs"]


@pytest.mark.skipif(not os.path.exists(SEED_FILE), reason="the shared seed scrape is not here")
def test_seed_article_data_is_the_seed_scrape():
    lines = [line.strip() for line in open(SEED_FILE, encoding="utf-8").read().splitlines()]
    start = lines.index("by admindiaa") + 1
    post = load_data("furatpost")["posts"][1]
    assert post["id"] == SEED_ID and post["author"] == "admindiaa"
    assert post["title"] == lines[0]
    assert post["paragraphs"] == [line for line in lines[start:] if line][:8]
    assert len(post["paragraphs"]) == 8 and post["byline"] is None


@pytest.fixture(scope="module")
def replica():
    with Replica([WordPressSite.furatpost()]) as r:
        yield r


@pytest.fixture
def fresh():
    """A replica of its own, for tests that change the world or inject faults."""
    with Replica([WordPressSite.furatpost()]) as r:
        yield r


def link_of(site: WordPressSite, post_id: int) -> str:
    return site.permalink(post_id)


# -- article pages ---------------------------------------------------------------------


def test_seed_article_page_has_the_eight_paragraphs_and_the_junk(replica):
    site = replica.site()
    status, headers, body = fetch(replica, link_of(site, SEED_ID))
    assert status == 200 and headers["content-type"] == "text/html; charset=UTF-8"
    page = body.decode("utf-8")
    doc = lxml_html.fromstring(page)
    content = [p.text_content() for p in doc.cssselect("div.entry-content > p")]
    assert content == seed_paragraphs()
    title = load_data("furatpost")["posts"][1]["title"]
    assert doc.cssselect("h1.entry-title")[0].text_content() == title
    text = doc.text_content()
    for junk in ("by admindiaa", "قد يعحبك أيضاً", "دع تعليقاً", "0 تعليق", "المقال التالي",
                 "ياستخدامك لهذا النموذج أنت توافق على حفظ بيناتك في هذا الموقع",
                 "هذا الموقع يستخدم ما يسمى الكوكيز", "Privacy & Cookies Policy", "الأكثر قراءة",
                 "عاجل", "شارك المقال"):  # fmt: skip
        assert junk in text, junk
    assert f"postid-{SEED_ID}" in doc.body.get("class") and "single-post" in doc.body.get("class")
    head = {m.get("property") or m.get("name"): m.get("content") for m in doc.cssselect("meta")}
    assert head["article:published_time"] == "2018-05-24T15:40:12+00:00"
    assert head["author"] == "admindiaa"
    assert doc.cssselect('link[rel="canonical"]')[0].get("href") == link_of(site, SEED_ID)
    assert doc.cssselect('link[rel="shortlink"]')[0].get("href") == f"{BASE}/?p={SEED_ID}"
    graph = json.loads(doc.cssselect("script.yoast-schema-graph")[0].text)["@graph"]
    article = next(n for n in graph if n["@type"] == "Article")
    assert article["datePublished"] == "2018-05-24T18:40:12+03:00"  # Damascus summer 2018
    assert article["author"]["name"] == "admindiaa"


def test_inline_junk_inside_content_of_other_articles(replica):
    site = replica.site()
    doc = lxml_html.fromstring(fetch(replica, link_of(site, 36120))[2])
    content = doc.cssselect("div.entry-content")[0].text_content()
    for junk in ("فرات بوست / تقارير", "اقرأ أيضاً:", "مواد ذات صلة:"):
        assert junk in content
    assert doc.cssselect("div.entry-content figure.wp-caption figcaption")
    # Winter 2020: Damascus was +02:00 then.
    assert doc.cssselect("time.published")[0].get("datetime") == "2020-02-11T16:45:00+02:00"


def test_slug_spellings_and_redirects(replica):
    site = replica.site()
    article = site.get(SEED_ID)
    lower = link_of(site, SEED_ID)
    upper = BASE + "/" + quote(article.slug) + "/"
    assert upper != lower
    assert fetch(replica, upper)[0] == 200
    status, headers, _ = fetch(replica, lower.rstrip("/"))
    assert (status, headers["location"]) == (301, lower)
    status, headers, _ = fetch(replica, f"{BASE}/?p={SEED_ID}")
    assert (status, headers["location"]) == (301, lower)
    status, headers, _ = fetch(replica, "https://www.euphratespost.net/feed/")
    assert (status, headers["location"]) == (301, f"{BASE}/feed/")
    status, headers, _ = fetch(replica, "http://euphratespost.net/feed/")
    assert (status, headers["location"]) == (301, f"{BASE}/feed/")
    assert fetch(replica, f"{BASE}/no-such-post/")[0] == 404


def test_conditional_requests_answer_304(replica):
    url = link_of(replica.site(), SEED_ID)
    status, headers, _ = fetch(replica, url)
    assert status == 200
    assert fetch(replica, url, {"If-None-Match": headers["etag"]})[0] == 304
    assert fetch(replica, url, {"If-Modified-Since": headers["last-modified"]})[0] == 304
    assert fetch(replica, url, {"If-None-Match": '"other"'})[0] == 200
    feed = fetch(replica, f"{BASE}/feed/")
    assert fetch(replica, f"{BASE}/feed/", {"If-None-Match": feed[1]["etag"]})[0] == 304


def test_keep_alive_in_one_tunnel(fresh):
    conn = http.client.HTTPSConnection(fresh.host, fresh.port, context=_CTX, timeout=10)
    conn.set_tunnel("euphratespost.net", 443)
    for path in ("/robots.txt", "/feed/", "/wp-json/wp/v2/posts"):
        conn.request("GET", path)
        assert conn.getresponse().read()
    conn.close()
    assert fresh.tunnels == 1 and fresh.count() == 3
    direct = http.client.HTTPConnection(fresh.host, fresh.port, timeout=10)  # debugging path
    direct.request("GET", "/robots.txt")
    assert b"Sitemap:" in direct.getresponse().read()
    direct.close()


def test_fault_probability_and_pattern(fresh):
    fault = fresh.faults.add("429", r"/feed/$", probability=0.5)
    conn = http.client.HTTPSConnection(fresh.host, fresh.port, context=_CTX, timeout=10)
    conn.set_tunnel("euphratespost.net", 443)
    statuses = []
    for _ in range(30):
        conn.request("GET", "/feed/")
        resp = conn.getresponse()
        resp.read()
        statuses.append(resp.status)
    conn.request("GET", "/robots.txt")
    assert conn.getresponse().status == 200  # pattern does not match
    conn.close()
    assert 5 < statuses.count(429) == fault.hits < 25 and statuses.count(200) == 30 - fault.hits


def test_listings_paginate(replica):
    status, _, body = fetch(replica, f"{BASE}/category/{encode_lower('أخبار')}/")
    doc = lxml_html.fromstring(body)
    assert status == 200 and len(doc.cssselect("h2.entry-title a")) == 10
    next_url = doc.cssselect("a.next.page-numbers")[0].get("href")
    assert next_url.endswith("/page/2/")
    doc2 = lxml_html.fromstring(fetch(replica, next_url)[2])
    assert len(doc2.cssselect("h2.entry-title a")) == 2
    assert fetch(replica, next_url.replace("/page/2/", "/page/3/"))[0] == 404


# -- REST API --------------------------------------------------------------------------


def test_rest_pagination_headers_and_past_the_end(replica):
    status, headers, body = fetch(replica, f"{BASE}/wp-json/wp/v2/posts?per_page=5&page=2")
    posts = json.loads(body)
    assert status == 200 and len(posts) == 5
    assert (headers["x-wp-total"], headers["x-wp-totalpages"]) == ("12", "3")
    assert 'page=3>; rel="next"' in headers["link"] and 'rel="prev"' in headers["link"]
    first = posts[0]
    for key in ("id", "date", "date_gmt", "modified", "modified_gmt", "slug", "status", "type",
                "link", "title", "content", "excerpt", "author", "featured_media", "categories",
                "tags", "_links"):  # fmt: skip
        assert key in first
    assert first["slug"] == encode_lower(replica.site().get(first["id"]).slug)
    status, _, body = fetch(replica, f"{BASE}/wp-json/wp/v2/posts?per_page=5&page=4")
    assert status == 400 and json.loads(body)["code"] == "rest_post_invalid_page_number"
    assert fetch(replica, f"{BASE}/wp-json/wp/v2/posts?per_page=101")[0] == 400


def test_rest_params_fields_embed_and_single(replica):
    q = f"{BASE}/wp-json/wp/v2/posts?per_page=100&orderby=modified&order=asc&_fields=id,modified_gmt"
    posts = json.loads(fetch(replica, q)[2])
    assert all(set(p) == {"id", "modified_gmt"} for p in posts)
    assert [p["modified_gmt"] for p in posts] == sorted(p["modified_gmt"] for p in posts)
    newer = json.loads(
        fetch(replica, f"{BASE}/wp-json/wp/v2/posts?after=2025-01-01T00:00:00&_fields=id")[2]
    )
    assert sorted(p["id"] for p in newer) == [47512, 49020, 49388]
    mod = json.loads(
        fetch(replica, f"{BASE}/wp-json/wp/v2/posts?modified_after=2026-06-03T09:00:00&_fields=id")[
            2
        ]
    )
    assert [p["id"] for p in mod] == [49388]  # modified 09:05 local
    same = f"{BASE}/wp-json/wp/v2/posts?modified_after=2026-06-03T06:00:00Z&_fields=id"
    assert [p["id"] for p in json.loads(fetch(replica, same)[2])] == [49388]  # 09:00 in Damascus
    later = f"{BASE}/wp-json/wp/v2/posts?modified_after=2026-06-03T06:10:00%2B00:00&_fields=id"
    assert json.loads(fetch(replica, later)[2]) == []
    inc = json.loads(
        fetch(replica, f"{BASE}/wp-json/wp/v2/posts?include=31790,31842&_fields=id,title.rendered")[
            2
        ]
    )
    assert {p["id"] for p in inc} == {31790, 31842} and "rendered" in inc[0]["title"]
    status, _, body = fetch(replica, f"{BASE}/wp-json/wp/v2/posts/{SEED_ID}?_embed")
    post = json.loads(body)
    assert status == 200 and post["_embedded"]["author"][0]["name"] == "admindiaa"
    assert post["_embedded"]["wp:featuredmedia"][0]["source_url"].endswith(".jpg")
    assert [t["taxonomy"] for t in post["_embedded"]["wp:term"][1]] == ["post_tag"] * 4
    assert post["date"] == "2018-05-24T18:40:12" and post["date_gmt"] == "2018-05-24T15:40:12"
    assert fetch(replica, f"{BASE}/wp-json/wp/v2/posts/1")[0] == 404


@pytest.mark.parametrize("refusal", [401, 403, 404])
def test_rest_refused_like_security_plugins(refusal):
    with Replica([WordPressSite.furatpost(rest_status=refusal)]) as r:
        assert fetch(r, f"{BASE}/wp-json/wp/v2/posts")[0] == refusal
        assert fetch(r, f"{BASE}/feed/")[0] == 200


# -- feed, sitemaps, robots ------------------------------------------------------------


def test_feed_sitemaps_robots(replica):
    site = replica.site()
    robots = fetch(replica, f"{BASE}/robots.txt")[2].decode()
    assert f"Sitemap: {BASE}/sitemap_index.xml" in robots
    feed = ET.fromstring(fetch(replica, f"{BASE}/feed/")[2])
    items = feed.findall("channel/item")
    assert len(items) == 10
    link = items[0].findtext("link")
    assert link.startswith(link_of(site, 49388)) and "?utm_source=rss&utm_medium=rss" in link
    index = ET.fromstring(fetch(replica, f"{BASE}/sitemap_index.xml")[2])
    loc = index.find(f"{SM}sitemap/{SM}loc").text
    urls = ET.fromstring(fetch(replica, loc)[2]).findall(f"{SM}url")
    lastmods = {u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in urls}
    assert lastmods[link_of(site, SEED_ID)] == "2018-05-24T16:02:47+00:00"
    assert fetch(replica, f"{BASE}/wp-sitemap.xml")[1]["location"] == f"{BASE}/sitemap_index.xml"


def test_core_sitemaps():
    with Replica([WordPressSite.furatpost(sitemaps="core")]) as r:
        assert f"{BASE}/wp-sitemap.xml" in fetch(r, f"{BASE}/robots.txt")[2].decode()
        index = ET.fromstring(fetch(r, f"{BASE}/wp-sitemap.xml")[2])
        loc = index.find(f"{SM}sitemap/{SM}loc").text
        assert loc == f"{BASE}/wp-sitemap-posts-post-1.xml"
        assert len(ET.fromstring(fetch(r, loc)[2]).findall(f"{SM}url/{SM}lastmod")) == 12


# -- world mutations -------------------------------------------------------------------


def test_mutations(fresh):
    site = fresh.site()
    rest = f"{BASE}/wp-json/wp/v2/posts/{SEED_ID}"
    before = json.loads(fetch(fresh, rest)[2])
    site.edit(SEED_ID, 2, "فقرة معدلة.")
    after = json.loads(fetch(fresh, rest)[2])
    assert (
        after["modified_gmt"] > before["modified_gmt"]
        and "فقرة معدلة." in after["content"]["rendered"]
    )
    old = link_of(site, 31790)
    site.retitle(31790, "عنوان جديد", new_slug="عنوان-جديد")
    status, headers, _ = fetch(fresh, old)
    assert (status, headers["location"]) == (301, link_of(site, 31790))
    assert fetch(fresh, link_of(site, 31790))[0] == 200
    gone, soft = link_of(site, 32015), link_of(site, 33410)
    site.delete(32015, status=410)
    assert fetch(fresh, gone)[0] == 410
    site.delete(32015)
    assert fetch(fresh, gone)[0] == 404
    total = fetch(fresh, f"{BASE}/wp-json/wp/v2/posts")[1]["x-wp-total"]
    assert total == "11"
    site.soft_delete(33410)
    assert fetch(fresh, soft)[1]["location"] == f"{BASE}/"
    site.soft_delete(33410, mode="not_found_200")
    status, _, body = fetch(fresh, soft)
    assert status == 200 and "error404" in body.decode()
    site.restore(32015)
    assert fetch(fresh, gone)[0] == 200
    new = site.add({"title": "خبر جديد من الرقة", "paragraphs": ["فقرة أولى.", "فقرة ثانية."]})
    assert fetch(fresh, link_of(site, new.id))[0] == 200
    assert json.loads(fetch(fresh, f"{BASE}/wp-json/wp/v2/posts?per_page=1")[2])[0]["id"] == new.id
    assert fresh.count(re.escape(old), status=301) == 1


# -- faults ----------------------------------------------------------------------------


def test_faults_replacing_the_answer(fresh):
    url = link_of(fresh.site(), SEED_ID)
    fresh.faults.add("503", re.escape(url), count=1, retry_after=7)
    status, headers, _ = fetch(fresh, url)
    assert (status, headers["retry-after"]) == (503, "7")
    assert fetch(fresh, url)[0] == 200  # count spent
    fresh.faults.add("429", count=1)
    assert fetch(fresh, f"{BASE}/feed/")[0] == 429
    fresh.faults.add("challenge", count=1)
    status, headers, body = fetch(fresh, url)
    assert (status, headers["cf-mitigated"]) == (403, "challenge") and b"Just a moment..." in body
    fresh.faults.add("empty", count=1)
    assert fetch(fresh, url)[:3:2] == (200, b"")
    fresh.faults.add("slow", count=1, delay=0.3)
    start = time.monotonic()
    assert fetch(fresh, url)[0] == 200 and time.monotonic() - start >= 0.3


def test_faults_breaking_the_connection(fresh):
    url = link_of(fresh.site(), SEED_ID)
    fresh.faults.add("reset", count=1)
    with socket.create_connection((fresh.host, fresh.port), timeout=10) as sock:
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: euphratespost.net\r\n\r\n".encode())
        received, reset = b"", False
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            reset = True
    assert reset and b"\r\n\r\n" not in received  # reset before the headers ended
    fresh.faults.add("truncate", count=1)
    with pytest.raises(http.client.IncompleteRead):
        fetch(fresh, url)
    assert fetch(fresh, url)[0] == 200


def test_faults_altering_the_page(fresh):
    url = link_of(fresh.site(), SEED_ID)
    fresh.faults.add("cp1256", count=1)
    status, headers, body = fetch(fresh, url)
    assert headers["content-type"] == "text/html"
    assert b'<meta charset="windows-1256">' in body
    assert seed_paragraphs()[0] in body.decode("cp1256")
    fresh.faults.add("huge", probability=1.0, count=1, size=3_000_000)
    assert len(fetch(fresh, url)[2]) >= 3_000_000
    with pytest.raises(ValueError):
        fresh.faults.add("nonsense")


def test_fault_no_body_is_a_layout_change_that_loses_the_content(fresh):
    url = link_of(fresh.site(), SEED_ID)
    fresh.faults.add("no_body")
    status, _, body = fetch(fresh, url)
    page = lxml_html.fromstring(body)
    assert status == 200 and page.find_class("entry-content")[0].text_content().strip() == ""
    assert seed_paragraphs()[-1] not in body.decode("utf-8")  # (the first is in og:description)
    assert page.find_class("entry-title")  # the rest of the page stays
    status, _, body = fetch(fresh, f"{BASE}/wp-json/wp/v2/posts/{SEED_ID}")
    post = json.loads(body)
    assert status == 200 and post["content"]["rendered"] == "" and post["title"]["rendered"]
    status, _, body = fetch(fresh, f"{BASE}/wp-json/wp/v2/posts?_embed=1")
    assert {p["content"]["rendered"] for p in json.loads(body)} == {""}
    fresh.faults.clear()
    assert seed_paragraphs()[-1] in fetch(fresh, url)[2].decode("utf-8")


# -- data and generation ---------------------------------------------------------------


def test_slugs_and_generated_articles():
    slug = wp_slugify("التحالف يقتل العشرات من قوات النظام والميليشيات المتحالفة معها")
    assert len(encode_lower(slug)) <= 200 and slug.startswith("التحالف-يقتل")
    articles = generate_articles(50, seed=3)
    assert [a.title for a in articles] == [a.title for a in generate_articles(50, seed=3)]
    assert len({a.slug for a in articles}) == 50
    sizes = [len("\n\n".join(a.paragraphs).encode()) for a in articles]
    assert 4000 < sum(sizes) / len(sizes) < 8000


# -- the key path: a real Scrapy crawl through the proxy --------------------------------

SPIDER = """
import scrapy
class S(scrapy.Spider):
    name = "s"
    custom_settings = {"REMOTE_CONTROL_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
                       "ROBOTSTXT_OBEY": True, "LOG_LEVEL": "WARNING"}
    start_urls = ["https://euphratespost.net/wp-json/wp/v2/posts?per_page=100&_fields=link"]
    def parse(self, response):
        for post in response.json():
            yield response.follow(post["link"], self.page)
    def page(self, response):
        yield {"url": response.url, "p": len(response.css("div.entry-content > p"))}
"""


def test_scrapy_crawls_through_the_proxy(tmp_path):
    (tmp_path / "s.py").write_text(SPIDER)
    with Replica([WordPressSite.furatpost()]) as r:
        env = {**os.environ, **r.env()}
        run = subprocess.run(
            [sys.executable, "-m", "scrapy", "runspider", "s.py", "-O", "out.jsonl"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        items = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
        assert len(items) == 12 and all(i["url"].startswith(BASE) for i in items)
        assert r.count(r"/robots\.txt$") == 1 and r.count() == 14
        assert r.tunnels < 14  # keep-alive inside the tunnels

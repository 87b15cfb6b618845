"""The one rule of article identity (crawler.identity), used by the spiders' matching of
listings to the archive, the dedupe pipeline and the writer (their own tests: test_dedupe.py,
test_revisions.py, test_wordpress_platform.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from crawler.extract.urls import url_key
from crawler.identity import IdentityIndex, index_known
from crawler.items import KnownArticle

T0 = datetime(2024, 5, 1, tzinfo=UTC)


@dataclass(eq=False)
class Art:
    name: str
    external_id: str | None = None


def index(*entries: tuple[Art, list[str]]) -> IdentityIndex[Art]:
    built: IdentityIndex[Art] = IdentityIndex()
    for article, keys in entries:
        built.add(article, keys)
    return built


def test_external_id_beats_every_url():
    by_id, by_url = Art("by id", "7"), Art("by url")
    found = index((by_url, ["a"]), (by_id, ["b"]))
    assert found.resolve("7", ["a"]) is by_id


def test_first_url_key_in_the_given_order_wins():
    first, second = Art("first"), Art("second")
    found = index((first, ["k1"]), (second, ["k2"]))
    assert found.resolve(None, ["k2", "k1"]) is second
    assert found.resolve(None, ["k0", "k1"]) is first
    assert found.resolve("9", ["k1"]) is first  # an unknown id: a URL of an id-less article


def test_a_url_of_an_article_with_another_id_is_another_article():
    post_5 = Art("post 5", "5")
    found = index((post_5, ["shared"]))
    assert found.resolve("6", ["shared"]) is None
    assert found.resolve(None, ["shared"]) is post_5
    assert found.resolve("5", ["shared"]) is post_5


def test_an_id_in_a_url_comes_after_every_url_key_and_only_without_an_id():
    by_key, by_shortlink = Art("key"), Art("shortlink", "300")
    found = index((by_key, ["k"]), (by_shortlink, []))
    assert found.resolve(None, ["x", "k"], ["300", None]) is by_key
    assert found.resolve(None, ["x"], [None, "300"]) is by_shortlink
    assert found.resolve("301", ["x"], ["300"]) is None


def test_a_key_keeps_the_article_added_first():
    canonical, old_slug = Art("canonical"), Art("old slug")
    found = index((canonical, ["k"]), (old_slug, ["k"]))
    assert found.resolve(None, ["k"]) is canonical
    assert found.has_key("k") and not found.has_key("other")


def test_lazy_keys_are_consumed_only_as_far_as_needed():
    found = index((Art("a"), ["k1"]))
    asked: list[str] = []

    def keys():
        for key in ("k1", "k2"):
            asked.append(key)
            yield key

    assert found.resolve(None, keys()) is not None and asked == ["k1"]


def test_archive_index_puts_canonical_urls_before_other_urls():
    host = "https://euphratespost.net"
    moved = KnownArticle(1, None, f"{host}/new/", T0, T0, None, url_keys=(url_key(f"{host}/a/"),))
    # Article 2's canonical URL is article 1's old slug: the canonical URL names article 2.
    now_a = KnownArticle(2, "20", f"{host}/a/", T0, T0, None)
    found = index_known([moved, now_a])
    assert found.resolve(None, [url_key(f"{host}/a/?utm_source=rss")]) is now_a
    assert found.resolve(None, [url_key(f"{host}/new")]) is moved
    assert found.by_external_id("20") is now_a and found.by_external_id("1") is None

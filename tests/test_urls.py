import pytest

from crawler.extract.urls import is_tracking_param, same_site, strip_tracking, url_key

SLUG = "https://euphratespost.net/%d8%a7%d9%84%d8%aa%d8%ad%d8%a7%d9%84%d9%81/"


@pytest.mark.parametrize(
    "url",
    [
        SLUG,
        "https://euphratespost.net/%D8%A7%D9%84%D8%AA%D8%AD%D8%A7%D9%84%D9%81/",
        "https://euphratespost.net/التحالف/",
        "https://euphratespost.net/التحالف",
        "http://www.euphratespost.net/التحالف/?utm_source=rss&utm_medium=rss#comments",
        "https://EUPHRATESPOST.NET/%d8%a7%d9%84%d8%aa%d8%ad%d8%a7%d9%84%d9%81/?fbclid=abc",
    ],
)
def test_spellings_of_one_article_share_a_key(url):
    assert (
        url_key(url)
        == url_key(SLUG)
        == "euphratespost.net/%D8%A7%D9%84%D8%AA%D8%AD%D8%A7%D9%84%D9%81"
    )


def test_meaningful_query_and_port_stay():
    assert (
        url_key("https://euphratespost.net/?p=31842&utm_campaign=x") == "euphratespost.net/?p=31842"
    )
    assert url_key("https://euphratespost.net/?p=1") != url_key("https://euphratespost.net/?p=2")
    assert url_key("http://127.0.0.1:8080/a/") == "127.0.0.1:8080/a"


def test_tracking_helpers():
    assert (
        is_tracking_param("UTM_Source")
        and is_tracking_param("fbclid")
        and not is_tracking_param("p")
    )
    assert strip_tracking("https://x.net/a?p=3&utm_source=rss#top") == "https://x.net/a?p=3"


def test_same_site():
    assert same_site("https://www.euphratespost.net/a", ["euphratespost.net"])
    assert not same_site("https://noteuphratespost.net/a", ["euphratespost.net"])

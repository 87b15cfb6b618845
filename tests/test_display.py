"""The one way akhbar shows times and URLs (crawler.display, docs/output.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.display import display_url, local_date, local_time, utc_iso


def test_local_time_is_damascus_with_offset_and_utc_beside():
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert local_time(at) == "2026-11-25 13:00 +03:00 (10:00 UTC)"
    assert local_time(at, utc=False) == "2026-11-25 13:00 +03:00"
    assert local_time(at, seconds=True) == "2026-11-25 13:00:00 +03:00 (10:00:00 UTC)"
    # The same instant given in another zone is shown the same way.
    tokyo = at.astimezone(timezone(timedelta(hours=9)))
    assert local_time(tokyo) == local_time(at)


def test_local_time_names_the_utc_day_when_it_differs():
    at = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    assert local_time(at) == "2026-11-25 01:30 +03:00 (2026-11-24 22:30 UTC)"


def test_local_time_follows_tzdata_history():
    # Damascus was +02:00 in winter until 2022: tzdata, never a fixed offset.
    assert local_time(datetime(2020, 1, 15, 8, 0, tzinfo=UTC)) == (
        "2020-01-15 10:00 +02:00 (08:00 UTC)"
    )


def test_naive_times_are_refused_and_none_is_a_dash():
    with pytest.raises(ValueError, match="naive"):
        local_time(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        utc_iso(datetime(2026, 1, 1))
    assert local_time(None) == "-" and local_date(None) == "-" and utc_iso(None) is None


def test_utc_iso_and_local_date():
    at = datetime(2026, 11, 24, 22, 30, tzinfo=timezone(timedelta(hours=3)))
    assert utc_iso(at) == "2026-11-24T19:30:00+00:00"
    assert local_date(datetime(2026, 11, 24, 22, 30, tzinfo=UTC)) == "2026-11-25"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://euphratespost.net/%D8%A7%D9%84%D8%B1%D9%82%D8%A9/",
            "https://euphratespost.net/الرقة/",
        ),
        (
            "https://euphratespost.net/%d8%a7%d9%84%d8%b1%d9%82%d8%a9/",
            "https://euphratespost.net/الرقة/",
        ),
        # ASCII escapes keep their meaning only while encoded; query and fragment decode too.
        (
            "https://x.net/a%20b%2Fc%3F?q=%D8%AD%D9%84%D8%A8#%D8%A7",
            "https://x.net/a%20b%2Fc%3F?q=حلب#ا",
        ),
        # Invalid UTF-8 and invisible characters (a right-to-left mark) stay encoded.
        ("https://x.net/%FF%D8/%E2%80%8F", "https://x.net/%FF%D8/%E2%80%8F"),
        ("https://xn--mgbaam7a8h.xn--ogbpf8fl:8443/", "https://امارات.سورية:8443/"),
        ("https://euphratespost.net/?p=31842", "https://euphratespost.net/?p=31842"),
        (None, "-"),
    ],
)
def test_display_url_decodes_arabic_for_people(url, shown):
    assert display_url(url) == shown

"""``akhbar history`` and ``akhbar export`` over a real archive."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from crawler.cli import main
from crawler.db.revisions import ensure_site, record
from crawler.items import ArticleGone, ArticleItem, Fetch, SiteInfo

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SLUG = "%D8%A7%D9%84%D8%B1%D9%82%D8%A9"  # الرقة
HOST = "https://euphratespost.net"
URL = f"{HOST}/{SLUG}/"
BODY = "الفقرة الأولى من الخبر.\n\nالفقرة الثانية من الخبر."


def item(
    at: datetime, body: str = BODY, title: str = "عنوان الخبر", ext: str = "501"
) -> ArticleItem:
    return ArticleItem(
        site="furatpost",
        url=URL,
        canonical_url=URL,
        fetched_at=at,
        title=title,
        body_text=body,
        external_id=ext,
        authors=["admindiaa"],
        published_at=T0,
        urls=[f"https://euphratespost.net/?p={ext}"],
    )


@pytest.fixture
def archive(engine, monkeypatch):
    """One article in three revisions, later removed; a second article with one revision."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        ensure_site(conn, SiteInfo("furatpost", "فرات بوست", "https://euphratespost.net/"))
    first = item(T0)
    first.fetch = Fetch(f"{HOST}/wp-json/wp/v2/posts", 200, {}, b'[{"id": 501}]', T0)
    first.fetch_entry = "/0"
    first.page_fetch = Fetch(URL, 200, {}, b"<html>page</html>", T0)
    steps = [
        [first, item(T0, title="خبر آخر", ext="502", body="نص خبر آخر مختلف تماماً.")],
        [item(T0 + timedelta(hours=1), body=BODY.replace("الثانية", "الثانية المعدلة"))],
        [
            item(
                T0 + timedelta(hours=2),
                body=BODY.replace("الثانية", "الثانية المعدلة"),
                title="عنوان الخبر بعد التعديل",
            )
        ],
        [ArticleGone("furatpost", URL, T0 + timedelta(hours=3), 410, "http 410", "501")],
    ]
    for batch in steps:
        with engine.begin() as conn:
            record(conn, batch)
    return engine


@pytest.mark.parametrize(
    "ref",
    [
        "furatpost:501",
        URL,
        f"https://www.euphratespost.net/{SLUG.lower()}?utm_source=rss",
        "https://euphratespost.net/الرقة/",  # as history itself shows it
        "1",
    ],
)
def test_history_finds_the_article_by_any_reference(archive, capsys, ref):
    assert main(["history", ref]) == 0
    out = capsys.readouterr().out
    assert "furatpost:501" in out and "removed" in out
    assert "event" in out and "http 410" in out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("revision ")] == [
        "1",
        "2",
        "3",
    ]
    # Revision 2 changed one paragraph, revision 3 the title: each diff shows only that.
    assert "-الفقرة الثانية من الخبر." in out and "+الفقرة الثانية المعدلة من الخبر." in out
    assert "+عنوان الخبر بعد التعديل" in out
    assert out.count("--- body_text") == 1 and out.count("--- title") == 1


def test_history_names_the_evidence_of_each_revision(archive, capsys):
    assert main(["history", "furatpost:501", "--no-diff"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if "evidence" in line]
    assert lines == [
        "evidence: fetch 1 entry /0, article page fetch 2",
        "evidence: no fetch recorded",
        "evidence: no fetch recorded",
    ]


def test_history_of_an_unknown_article_is_one_clear_error(archive, capsys):
    assert main(["history", "furatpost:999"]) == 1
    assert "no article in the archive for furatpost:999" in capsys.readouterr().err


def test_export_jsonl_current_and_all_revisions(archive, capsys):
    assert main(["export", "--site", "furatpost"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["external_id"], r["revision_no"]) for r in rows] == [("501", 3), ("502", 1)]
    assert rows[0]["title"] == "عنوان الخبر بعد التعديل" and rows[0]["removed_at"]
    assert rows[0]["published_at"] == T0.isoformat()

    assert main(["export", "--all-revisions"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["external_id"], r["revision_no"]) for r in rows] == [
        ("501", 1),
        ("501", 2),
        ("501", 3),
        ("502", 1),
    ]

    since = (T0 + timedelta(minutes=30)).isoformat()
    assert main(["export", "--all-revisions", "--since", since]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["revision_no"] for r in rows] == [2, 3]


def test_export_csv_to_a_file(archive, tmp_path):
    out = tmp_path / "articles.csv"
    assert main(["export", "--format", "csv", "--output", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 2 and rows[0]["authors"] == "admindiaa"
    assert rows[0]["body_text"].startswith("الفقرة الأولى")
    # Nothing to export: the header alone.
    assert main(["export", "--format", "csv", "--site", "nosuchsite", "-o", str(out)]) == 0
    (header,) = out.read_text(encoding="utf-8").splitlines()
    assert header.startswith("site,article_id,external_id,canonical_url,removed_at,title,")


# --- output conventions (crawler.display, docs/output.md) ------------------------------


@pytest.fixture
def foreign_session_zone(monkeypatch):
    # libpq sets the session's TimeZone from PGTZ: the server hands back timestamps in
    # Tokyo time, and only our formatting can make them Damascus (terminal) or UTC (files).
    monkeypatch.setenv("PGTZ", "Asia/Tokyo")
    from crawler.db.session import dispose_engines

    dispose_engines()
    yield
    dispose_engines()


def test_history_shows_damascus_time_with_utc_and_the_url_decoded(
    archive, foreign_session_zone, capsys
):
    assert main(["history", "furatpost:501"]) == 0
    out = capsys.readouterr().out
    # T0 is 09:00 UTC on 2025-03-01: 12:00 in Damascus (+03:00 all year since 2022).
    assert "revision 1  observed 2025-03-01 12:00 +03:00 (09:00 UTC)" in out
    assert "removed 2025-03-01 15:00 +03:00 (12:00 UTC)" in out
    assert "+09:00" not in out and "JST" not in out
    assert "https://euphratespost.net/الرقة/" in out.splitlines()[1]
    assert SLUG not in out


def test_export_times_are_utc_whatever_the_session_zone(archive, foreign_session_zone, capsys):
    assert main(["export", "--site", "furatpost"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for row in rows:
        for key in ("observed_at", "published_at", "removed_at"):
            if row[key] is not None:
                assert row[key].endswith("+00:00"), (key, row[key])
    assert rows[0]["observed_at"] == (T0 + timedelta(hours=2)).isoformat()
    # Machine output keeps the URL exactly as stored (encoded): it is an identifier there.
    assert rows[0]["canonical_url"] == URL

    assert main(["export", "--format", "csv", "--site", "furatpost"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["removed_at"] == (T0 + timedelta(hours=3)).isoformat()


def test_export_csv_with_a_bom_for_spreadsheets(archive, tmp_path, capfd):
    out = tmp_path / "articles.csv"
    assert main(["export", "--format", "csv", "--bom", "-o", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfsite,article_id,")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert "الفقرة الأولى" in data.decode("utf-8-sig")

    # Without --bom, no BOM; on standard output the same bytes as in a file.
    assert main(["export", "--format", "csv", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"site,")
    capfd.readouterr()
    assert main(["export", "--format", "csv", "--bom"]) == 0
    assert capfd.readouterr().out.startswith("\ufeffsite,article_id,")


def test_bom_is_refused_for_json_lines(archive, capsys):
    assert main(["export", "--bom"]) == 2
    assert "--bom is for --format csv" in capsys.readouterr().err


def test_export_into_a_closed_pipe_stops_quietly(archive):
    # `akhbar export | head`: the reader goes away; no traceback, the status of a SIGPIPE.
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "export", "--all-revisions"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # before the first row is written
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141, err
    assert err == b""


def test_a_changed_publication_time_diffs_in_damascus_time():
    from crawler.db.queries import revision_diff

    old = {"revision_no": 1, "published_at": T0}
    new = {"revision_no": 2, "published_at": T0 + timedelta(days=1)}
    lines = revision_diff(old, new)
    assert "-2025-03-01 12:00 +03:00 (09:00 UTC)" in lines
    assert "+2025-03-02 12:00 +03:00 (09:00 UTC)" in lines

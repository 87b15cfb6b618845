"""``akhbar status`` on a history of real crawls: ``scrapy crawl furatpost`` against the replica,
into PostgreSQL, then the command itself (table, JSON, exit status).

One history serves every verdict, so the file costs five crawls: three healthy ones make the
site's usual (and must leave it ok), then the replica serves challenge pages, then a layout
change empties the bodies of the new articles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from crawl_harness import CrawlResult, run_crawl

from crawler.cli import main
from crawler.replica.server import Replica
from crawler.replica.wordpress import WordPressSite

pytestmark = pytest.mark.slow

SEED_ID = 31842


def crawl(db: str, replica: Replica, home: Path, *, ok: bool = True) -> CrawlResult:
    result = run_crawl("furatpost", db, replica.proxy_url, home=home)
    if ok:
        assert result.ok, result.log_tail()
    return result


def status(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["status", *args])
    return code, capsys.readouterr().out


def status_json(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code, out = status(capsys, "--format", "json")
    report = json.loads(out)
    assert [entry["site"] for entry in report["sites"]] == ["furatpost"]
    return code, report["sites"][0]


def rules(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {reason["rule"]: reason for reason in entry["reasons"]}


def news(n: int) -> dict[str, Any]:
    return {
        "title": f"خبر رقم {n} عن افتتاح مدرسة جديدة في مدينة الميادين بريف دير الزور",
        "author": "admindiaa",
        "paragraphs": [
            f"افتتحت مديرية التربية المدرسة رقم {n} في مدينة الميادين بعد ترميمها بالكامل.",
            "وقال مدير المدرسة إن المدرسة تستقبل أكثر من خمسمئة طالب وطالبة هذا العام.",
        ],
        "categories": ["أخبار"],
    }


def test_status_keeps_a_healthy_site_ok_and_flags_challenges_and_emptied_bodies(
    make_database, tmp_path, monkeypatch, capsys
):
    db = make_database()
    monkeypatch.setenv("DATABASE_URL", db)
    site = WordPressSite.furatpost()
    n = len(site.posts)
    with Replica([site]) as replica:
        # 1. A healthy history: the whole archive, an unchanged recrawl, an edit and a new post.
        crawl(db, replica, tmp_path)
        crawl(db, replica, tmp_path)
        site.edit(SEED_ID, 1, "فقرة معدلة: قال مسؤول محلي إن الهجوم استهدف مواقع عسكرية فقط.")
        site.add(news(0))
        third = crawl(db, replica, tmp_path)
        code, entry = status_json(capsys)
        assert code == 0 and entry["verdict"] == "ok", entry["reasons"]
        assert entry["reasons"] == [] and entry["declared"] and entry["name"] == "فرات بوست"
        last = entry["last_crawl"]
        assert last["id"] == third.run_id and last["status"] == "finished"
        assert (last["new"], last["revised"], last["unchanged"]) == (1, 1, n - 1)
        assert last["articles"] == n + 1 and last["blocked"] == 0 and last["errors"] == 0
        assert last["requests"] == third.stat("downloader/request_count") > 0
        assert last["started_at"].endswith("+00:00") and last["duration_seconds"] > 0
        # The first crawl examined every article (the third only two: too few to count).
        assert entry["coverage"] == {
            "run_id": third.run_id - 2,
            "articles": n,
            "published_at": 1.0,
            "authors": 1.0,
            "body": 1.0,
        }
        assert entry["usual"]["articles"] is None  # two earlier crawls: no usual yet
        assert entry["archive"] == {
            "articles": n + 1,
            "removed": 0,
            "revisions": n + 2,
            "growth_7d": {"articles": n + 1, "revisions": n + 2},
        }
        assert entry["schedule"] == "17 */2 * * *" and entry["schedule_period_seconds"] == 7200
        assert entry["next_run_at"].endswith("+00:00") and entry["runs_considered"] == 3
        assert entry["last_success_at"] is not None and entry["running"] is None
        code, table = status(capsys)
        assert code == 0
        header, row = table.splitlines()[1:3]
        assert header.split()[:2] == ["SITE", "VERDICT"]
        assert row.split()[:2] == ["furatpost", "ok"] and "+03:00" in row

        # 2. The site starts answering with challenge pages: blocked responses, nothing stored.
        replica.faults.add("challenge")
        challenged = crawl(db, replica, tmp_path, ok=False)
        assert challenged.stat("summary/blocked") > 0
        code, entry = status_json(capsys)
        assert code == 1 and entry["verdict"] == "fail"
        found = rules(entry)
        assert found["blocked_rate"]["level"] == "fail", entry["reasons"]
        assert "blocked responses" in found["blocked_rate"]["message"]
        assert found["zero_articles"]["level"] == "fail"
        assert entry["last_crawl"]["id"] == challenged.run_id and entry["usual"]["articles"] == n
        code, table = status(capsys, "furatpost")
        assert code == 1 and "blocked_rate: " in table
        assert table.splitlines()[2].split()[:2] == ["furatpost", "fail"]

        # 3. Back, but a layout change: new articles come without a body (REST and pages).
        replica.faults.clear()
        replica.faults.add("no_body")
        for i in range(1, 5):
            site.add(news(i))
        emptied = crawl(db, replica, tmp_path)
        assert emptied.stat("spider/not_article/empty_body") == 4
        assert emptied.stat("summary/new") == 0
        code, entry = status_json(capsys)
        assert code == 1 and entry["verdict"] == "fail"
        found = rules(entry)
        assert set(found) == {"coverage_drop"}, entry["reasons"]  # no longer blocked
        assert found["coverage_drop"]["level"] == "fail"
        assert found["coverage_drop"]["message"].startswith("body coverage fell to 0%")
        assert entry["coverage"]["run_id"] == emptied.run_id
        assert entry["coverage"]["body"] == 0.0 and entry["coverage"]["articles"] == 4

    assert status(capsys, "nosuchsite")[0] == 2

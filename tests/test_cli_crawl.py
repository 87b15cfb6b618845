"""``akhbar crawl``, ``akhbar sites``, ``./dev`` from another directory, extract's exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from crawl_harness import ROOT, crawl_env

FIXTURE = ROOT / "tests" / "fixtures" / "furatpost" / "2018-05-24_31842.html.gz"
URL = "https://euphratespost.net/?p=31842"


def run(command: list[str], cwd: Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**crawl_env(None, None, home), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def akhbar(*args: str, cwd: Path, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "crawler.cli", *args], cwd, home, **env)


def test_sites_lists_every_spider(tmp_path):
    table = akhbar("sites", cwd=tmp_path, home=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "furatpost" in table.stdout and "فرات بوست" in table.stdout
    listed = json.loads(akhbar("sites", "--format", "json", cwd=tmp_path, home=tmp_path).stdout)
    (furat,) = [s for s in listed if s["site"] == "furatpost"]
    assert furat["url"] == "https://euphratespost.net/" and furat["schedule"]
    assert furat["next_run"].endswith("+00:00")  # machine output in UTC


def test_akhbar_crawl_is_scrapy_crawl_from_any_directory(tmp_path):
    bad = akhbar("crawl", "furatpost", "-a", "since=yesterday", cwd=tmp_path, home=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "scrapy crawl: furatpost: -a since=yesterday: not a date; accepted: YYYY-MM-DD,"
        " an ISO 8601 datetime, or 'recent'"
    )
    unknown = akhbar("crawl", "nosuch", cwd=tmp_path, home=tmp_path)
    assert unknown.returncode == 2 and "spiders: furatpost" in unknown.stderr


def test_dev_keeps_the_callers_directory(tmp_path):
    page = tmp_path / "page.html.gz"
    shutil.copy(FIXTURE, page)
    done = run(
        [str(ROOT / "dev"), "akhbar", "extract", "page.html.gz", "--url", URL], tmp_path, tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["external_id"] == "31842"


def test_extract_exit_codes(tmp_path):
    missing = akhbar("extract", "nothere.html", "--url", URL, cwd=tmp_path, home=tmp_path)
    assert missing.returncode == 3 and missing.stderr.count("\n") == 1
    broken = tmp_path / "broken.html.gz"
    broken.write_bytes(FIXTURE.read_bytes()[:200])  # a gzip stream cut short
    cut = akhbar("extract", str(broken), "--url", URL, cwd=tmp_path, home=tmp_path)
    assert cut.returncode == 3 and "cannot read" in cut.stderr and "Traceback" not in cut.stderr
    listing = tmp_path / "listing.html"
    listing.write_text("<html><body><p>ok</p></body></html>")
    empty = akhbar("extract", str(listing), "--url", URL, cwd=tmp_path, home=tmp_path)
    assert empty.returncode == 2 and "not an article" in empty.stderr


def test_crawl_warns_once_without_a_contact_url(tmp_path):
    # Stopped at once (no database), but the warning comes first and only once.
    down = {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    done = akhbar("crawl", "furatpost", cwd=tmp_path, home=tmp_path, **down)
    assert done.returncode == 1
    assert done.stderr.count("AKHBAR_CONTACT_URL is not set") == 1
    told = akhbar(
        "crawl",
        "furatpost",
        cwd=tmp_path,
        home=tmp_path,
        AKHBAR_CONTACT_URL="https://x.example/",
        **down,
    )
    assert "AKHBAR_CONTACT_URL is not set" not in told.stderr

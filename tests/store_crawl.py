"""A real Scrapy crawl of synthetic observations, for the store-side tests.

Run as a script (a Twisted reactor cannot restart, so each crawl is its own process):

    python tests/store_crawl.py --stats-out stats.json -s STORE_BATCH_SIZE=50 -a count=300

The spider yields generated ``ArticleItem``s from ``start()`` (optionally slowly, with a
pause), through the real dedupe and store pipelines and the crawl_runs recorder. The
environment chooses the database (``DATABASE_URL``) and the spool (``AKHBAR_HOME``).
``run_crawl()`` is the test-side helper.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import scrapy

from crawler.items import ArticleGone, ArticleItem, ArticleSeen
from crawler.runs import STATUS_STAT, exit_status

HERE = Path(__file__).resolve()
BASE = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = (
    "قالت مصادر محلية في دير الزور إن قوات الأمن نفذت حملة مداهمات في ريف المحافظة "
    "الشرقي وسط انقطاع الكهرباء وارتفاع أسعار المحروقات في الأسواق"
).split()


def synthetic_item(i: int, *, version: int = 0, site: str = "synthetic") -> ArticleItem:
    body = "\n\n".join(
        " ".join(WORDS[(i + p + k) % len(WORDS)] for k in range(25)) + f" ({i}-{p})"
        for p in range(3)
    )
    if version:
        body += f"\n\nتحديث رقم {version}"
    url = f"https://news.example/{i}/%D8%AE%D8%A8%D8%B1-{i}/"
    return ArticleItem(
        site=site,
        url=url,
        canonical_url=url,
        fetched_at=BASE + timedelta(days=version, seconds=i),
        title=f"خبر رقم {i}",
        body_text=body,
        external_id=str(i),
        authors=["مراسل"],
        published_at=BASE + timedelta(seconds=i),
        section="محليات",
        tags=["دير الزور"],
        urls=[f"https://news.example/?p={i}"],
        extractor="synthetic",
        extractor_version="1",
    )


class SyntheticSpider(scrapy.Spider):
    name = "synthetic"
    outlet_name = "أخبار تجريبية"
    allowed_domains = ["news.example"]

    async def start(self):
        count = int(getattr(self, "count", 10))
        first = int(getattr(self, "first", 0))
        delay = float(getattr(self, "delay", 0))
        version = int(getattr(self, "version", 0))
        pause_after = int(getattr(self, "pause_after", -1))
        pause = float(getattr(self, "pause", 0))
        duplicates = int(getattr(self, "duplicates", 0))
        bad = int(getattr(self, "bad", -1))
        gates = set(_indices(getattr(self, "gates", "")))
        now = BASE + timedelta(days=version + 1)
        for i in _indices(getattr(self, "gone", "")):
            url = synthetic_item(i).url
            yield ArticleGone(
                site="synthetic", url=url, observed_at=now, status=410, reason="http 410"
            )
        for i in _indices(getattr(self, "seen", "")):
            yield ArticleSeen(site="synthetic", observed_at=now, external_id=str(i))
        if getattr(self, "plain", ""):
            yield {"not": "an observation"}  # other pipelines' business: passes untouched
        if getattr(self, "http", ""):
            # As production spiders do: items come from responses, not from start().
            port = _serve()
            for i in range(first, first + count):
                yield scrapy.Request(
                    f"http://127.0.0.1:{port}/{i}",
                    cb_kwargs={"version": version},
                    meta={"allow_offsite": True},  # allowed_domains name the real site
                )
            return
        for n, i in enumerate(range(first, first + count)):
            item = synthetic_item(i, version=version)
            if i == bad:
                item.body_text += "\x00"  # PostgreSQL rejects NUL in text: not an outage
            yield item
            if n < duplicates:
                # The same article again: once exactly, once under a tracking-parameter URL.
                yield synthetic_item(i, version=version)
                extra = synthetic_item(i, version=version)
                extra.urls = [extra.url + "?utm_source=rss"]
                yield extra
            if delay:
                await asyncio.sleep(delay)
            if n + 1 in gates:
                # Wait for the test to say go (it stops or starts a server meanwhile).
                gate = Path(self.gate_dir) / f"gate-{n + 1}"
                (Path(self.gate_dir) / f"waiting-{n + 1}").touch()
                for _ in range(2400):
                    if gate.exists():
                        break
                    await asyncio.sleep(0.05)
            if n + 1 == pause_after:
                # Yield nothing for up to `pause` seconds, watching the database: only a
                # timer can flush the items already yielded.
                deadline = time.monotonic() + pause
                while (found := _count_articles()) < pause_after and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                self.crawler.stats.set_value("test/articles_after_pause", found)

    def parse(self, response, version: int = 0):
        yield synthetic_item(int(response.url.rsplit("/", 1)[1]), version=version)


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>ok</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve() -> int:
    """A local HTTP server on a free port, in a thread of this crawl process."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def _indices(spec: str) -> list[int]:
    return [int(x) for x in spec.split(",") if x]


def _count_articles() -> int:
    from sqlalchemy import text

    from crawler.db.session import get_engine

    with get_engine().connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM articles"))


def main() -> None:
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--stats-out", type=Path, required=True)
    parser.add_argument("-s", action="append", default=[], dest="settings")
    parser.add_argument("-a", action="append", default=[], dest="args")
    opts = parser.parse_args()
    faulthandler.register(signal.SIGUSR1)  # a hung test crawl can be asked for its stacks

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set(
        "ITEM_PIPELINES",
        {"pipelines.dedupe.DedupePipeline": 500, "pipelines.store.StorePipeline": 900},
    )
    settings.set("LOG_LEVEL", "INFO")
    # Only a local server is crawled: no politeness delays, no robots.txt.
    settings.set("ROBOTSTXT_OBEY", False)
    settings.set("DOWNLOAD_DELAY", 0)
    settings.set("AUTOTHROTTLE_ENABLED", False)
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 8)
    for pair in opts.settings:
        key, _, value = pair.partition("=")
        settings.set(key, value, priority="cmdline")
    spider_args = dict(pair.partition("=")[::2] for pair in opts.args)

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SyntheticSpider)
    process.crawl(crawler, **spider_args)
    process.start()
    opts.stats_out.write_text(json.dumps(crawler.stats.get_stats(), default=str))
    sys.exit(exit_status(crawler.stats.get_value(STATUS_STAT)))


def run_crawl(
    tmp_path: Path,
    database_url: str,
    *,
    settings: dict[str, Any] | None = None,
    args: dict[str, Any] | None = None,
    home: Path | None = None,
    timeout: float = 120,
    background: bool = False,
    exit_code: int = 0,
) -> Any:
    """Run one crawl; return its final stats (or the Popen and the stats path if background)."""
    stats_out = tmp_path / f"stats-{os.urandom(4).hex()}.json"
    cmd = [sys.executable, str(HERE), "--stats-out", str(stats_out)]
    for key, value in (settings or {}).items():
        cmd += ["-s", f"{key}={value}"]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AKHBAR_HOME": str(home or tmp_path / "home"),
        "PYTHONPATH": str(HERE.parents[1]),
    }
    log = open(tmp_path / f"crawl-{stats_out.stem}.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    if background:
        return proc, stats_out
    return finish(proc, stats_out, timeout, exit_code=exit_code)


class Gates:
    """Hold a crawl at given item counts until the test opens the gate (``-a gates=...``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def args(self, *counts: int) -> dict[str, str]:
        return {"gates": ",".join(map(str, counts)), "gate_dir": str(self.directory)}

    def wait(self, count: int, timeout: float = 120) -> None:
        marker = self.directory / f"waiting-{count}"
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"the crawl never reached item {count}")
            time.sleep(0.05)

    def open(self, count: int) -> None:
        (self.directory / f"gate-{count}").touch()


def finish(
    proc: subprocess.Popen, stats_out: Path, timeout: float = 120, *, exit_code: int = 0
) -> dict[str, Any]:
    """The crawl's final stats, once it exited with ``exit_code``; ``crawl/exit_code`` is
    the status the crawl command would exit with (crawler.runs.exit_status)."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    if code != exit_code or not stats_out.exists():
        logs = sorted(stats_out.parent.glob(f"crawl-{stats_out.stem}.log"))
        text = logs[0].read_text()[-4000:] if logs else ""
        raise AssertionError(f"crawl exited with {code}:\n{text}")
    return json.loads(stats_out.read_text())


if __name__ == "__main__":
    main()

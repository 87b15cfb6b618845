"""Run a real ``scrapy crawl`` in a subprocess against a replica, into a given database.

A Twisted reactor cannot restart, so every crawl is its own process, exactly as in
production. The replica is reached the way production code never notices: through the
standard ``https_proxy``/``http_proxy`` environment variables.

    result = run_crawl("furatpost", database_url, replica.proxy_url, home=tmp_path)
    assert result.ok, result.log_tail()
    result.stats["spider/unchanged"]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from crawler.db.session import get_engine

ROOT = Path(__file__).resolve().parents[1]

# Politeness off for tests only: no delays, no backoff, short timeouts, quick store batches.
FAST_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "RETRY_BACKOFF_BASE": 0,
    "DOWNLOAD_TIMEOUT": 10,
    "STORE_BATCH_SECONDS": 0.5,
    "LOG_LEVEL": "INFO",
}


@dataclass
class CrawlResult:
    returncode: int
    log: str
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    status: str | None = None
    max_rss_kb: int | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.status == "finished"

    def stat(self, key: str) -> int:
        return int(self.stats.get(key) or 0)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.splitlines()[-lines:])


def crawl_env(database_url: str | None, proxy_url: str | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    if proxy_url:
        env["https_proxy"] = env["http_proxy"] = proxy_url
    env["AKHBAR_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_crawl(
    spider: str,
    database_url: str | None,
    proxy_url: str | None,
    *,
    home: Path,
    args: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    fast: bool = True,
    timeout: float = 180,
) -> CrawlResult:
    """``scrapy crawl SPIDER`` with its output captured and its crawl_runs row read back."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider]
    for key, value in {**(FAST_SETTINGS if fast else {}), **(settings or {})}.items():
        cmd += ["-s", f"{key}={value}"]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # Run through a tiny wrapper to learn the child's peak memory (ru_maxrss of the child).
    wrapper = (
        "import resource, subprocess, sys, json;"
        "rc = subprocess.call(sys.argv[1:]);"
        "print('AKHBAR_RSS=' + json.dumps(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),"
        " file=sys.stderr);"
        "sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd],
        cwd=ROOT,
        env=crawl_env(database_url, proxy_url, home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.monotonic() - started
    log = proc.stdout + proc.stderr
    rss = None
    for line in proc.stderr.splitlines():
        if line.startswith("AKHBAR_RSS="):
            rss = int(json.loads(line.split("=", 1)[1]))
    result = CrawlResult(proc.returncode, log, seconds, max_rss_kb=rss)
    if database_url:
        with get_engine(database_url).connect() as conn:
            row = conn.execute(
                text(
                    "SELECT id, status, stats FROM crawl_runs WHERE spider = :s "
                    "ORDER BY id DESC LIMIT 1"
                ),
                {"s": spider},
            ).first()
        if row is not None:
            result.run_id, result.status, result.stats = row[0], row[1], dict(row[2] or {})
    return result

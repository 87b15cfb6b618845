"""Run a real ``scrapy crawl`` in a subprocess through a replica: what the end-to-end tests,
the crawl benchmark and ``akhbar demo`` share.

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

# The replica is local: politeness delays and retry backoff would only make runs slow.
POLITENESS_OFF: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_BACKOFF_BASE": 0,
}
# Runs the crawl as its child and reports the child's peak memory (ru_maxrss) on stderr.
_WRAPPER = (
    "import json, resource, subprocess, sys;"
    "rc = subprocess.call(sys.argv[1:]);"
    "print('AKHBAR_RSS=' + json.dumps(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),"
    " file=sys.stderr);"
    "sys.exit(rc)"
)


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


def proxy_env(proxy_url: str) -> dict[str, str]:
    """Environment variables that send every HTTP(S) request through ``proxy_url``."""
    return {"http_proxy": proxy_url, "https_proxy": proxy_url, "HTTP_PROXY": proxy_url,
            "HTTPS_PROXY": proxy_url, "no_proxy": "", "NO_PROXY": ""}  # fmt: skip


def crawl_env(database_url: str | None, proxy_url: str | None, home: Path) -> dict[str, str]:
    """This process's environment for a crawl: the given database (else the embedded one
    under ``home``), the replica as the only proxy, the project's settings."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    if proxy_url:
        env |= proxy_env(proxy_url)
    env["AKHBAR_HOME"] = str(home)
    env["SCRAPY_SETTINGS_MODULE"] = "crawler.settings"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def crawl_command(
    spider: str, args: dict[str, str] | None = None, settings: dict[str, Any] | None = None
) -> list[str]:
    """The project's crawl command with ``-s KEY=VALUE...`` and ``-a NAME=VALUE...``."""
    from crawler.commands import crawl_command as project_crawl

    options: list[str] = []
    for key, value in (settings or {}).items():
        options += ["-s", f"{key}={value}"]
    for key, value in (args or {}).items():
        options += ["-a", f"{key}={value}"]
    return project_crawl(spider, options)


def run_crawl(
    spider: str,
    database_url: str | None,
    proxy_url: str | None,
    *,
    home: Path,
    args: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> CrawlResult:
    """``scrapy crawl SPIDER`` with its output captured; with ``database_url``, its
    ``crawl_runs`` row (id, status, stats) is read back."""
    cmd = crawl_command(spider, args, settings)
    home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *cmd],
        cwd=cwd or home,
        env=crawl_env(database_url, proxy_url, home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.monotonic() - started
    rss = None
    for line in proc.stderr.splitlines():
        if line.startswith("AKHBAR_RSS="):
            rss = int(json.loads(line.split("=", 1)[1]))
    result = CrawlResult(proc.returncode, proc.stdout + proc.stderr, seconds, max_rss_kb=rss)
    if database_url:
        from sqlalchemy import text

        from crawler.db.session import get_engine

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

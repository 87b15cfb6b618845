"""Real ``scrapy crawl`` processes against a replica, with politeness off for tests.

The runner itself is ``crawler.replica.crawl`` (shared with the benchmark and the demo).

    result = run_crawl("furatpost", database_url, replica.proxy_url, home=tmp_path)
    assert result.ok, result.log_tail()
    result.stats["spider/unchanged"]
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO, Any

from crawler.replica import crawl
from crawler.replica.crawl import POLITENESS_OFF, CrawlResult, crawl_env

ROOT = Path(__file__).resolve().parents[1]

# Politeness off for tests only: no delays, no backoff, short timeouts, quick store batches.
FAST_SETTINGS: dict[str, Any] = {
    **POLITENESS_OFF,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_TIMEOUT": 10,
    "STORE_BATCH_SECONDS": 0.5,
    "LOG_LEVEL": "INFO",
}

__all__ = ["FAST_SETTINGS", "ROOT", "CrawlResult", "crawl_env", "run_crawl", "start_crawl"]


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
    """``scrapy crawl SPIDER`` from the project root, ``FAST_SETTINGS`` unless ``fast=False``."""
    return crawl.run_crawl(
        spider,
        database_url,
        proxy_url,
        home=home,
        args=args,
        settings={**(FAST_SETTINGS if fast else {}), **(settings or {})},
        cwd=ROOT,
        timeout=timeout,
    )


def start_crawl(
    spider: str,
    database_url: str | None,
    proxy_url: str | None,
    *,
    home: Path,
    log: IO[str],
    args: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> subprocess.Popen[str]:
    """The same crawl as ``run_crawl``, in the background, its output going to ``log``."""
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        crawl.crawl_command(spider, args, {**FAST_SETTINGS, **(settings or {})}),
        cwd=ROOT,
        env=crawl_env(database_url, proxy_url, home),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )

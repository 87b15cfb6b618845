"""Crawl benchmark: ``scrapy crawl furatpost`` over a replica of N generated articles.

    python bench/crawl.py [N] [--database-url URL] [--rest-refused] [--no-article-pages] [--keep]
    python bench/crawl.py --page-path [N] [--profile FILE]

The replica (``crawler.replica``) serves N generated Furat Post articles (about 5 KB of
Arabic each); the real spider crawls them through it into PostgreSQL with politeness delays
off. Two crawls, each its own process as in production:

1. first crawl of an empty archive: articles/s (whole process, start-up included, and the
   crawl alone), HTTP requests per article, peak memory of the crawl process;
2. recrawl of the unchanged site: HTTP requests per article (and time);

each with what the archive holds after it: fetch rows, distinct bodies and their compressed
size.

``--rest-refused`` makes the replica refuse the REST API (403), so discovery falls back to
sitemaps and every article is fetched as a page.

``--page-path`` measures that path against bare Scrapy, in the same run and against the same
replica of N (default 1,500) articles with the REST API refused: first a trivial Scrapy
spider (``bench/bare_spider.py``, its own process) fetches robots.txt, the sitemaps and
every article page and parses nothing beyond following sitemap ``<loc>``s; then
``scrapy crawl furatpost`` crawls the same site into an empty archive. Both run with the same
settings (``PAGE_PATH_SETTINGS``: 8 concurrent requests to the site, no delays, no
AutoThrottle, robots.txt obeyed, compression on, no HTTP cache, no cookies, log level
WARNING), both are timed by Scrapy's own ``elapsed_time_seconds``; it prints akhbar's
articles stored/s, the bare spider's pages/s and their ratio, and checks that both fetched
the same article pages. ``--profile FILE`` runs the akhbar crawl under cProfile (the
figures are then not comparable): ``python -m pstats FILE``. ``--no-article-pages`` turns off the page
kept beside each new REST revision (``KEEP_ARTICLE_PAGES=False``), to show what keeping
them costs. Without ``--database-url`` (or
``DATABASE_URL``) a fresh database is created on the local server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crawler.config import database_url_from_env
from crawler.db import session
from crawler.replica.crawl import POLITENESS_OFF, CrawlResult, crawl_command, crawl_env, run_crawl
from crawler.replica.server import Replica
from crawler.replica.wordpress import WordPressSite

ROOT = Path(__file__).resolve().parents[1]
LOCAL_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Politeness off for a throughput figure: no delays, no AutoThrottle, and 8 requests at once
# to the one site instead of 2 (only the page path makes enough requests for it to matter).
SETTINGS = {**POLITENESS_OFF, "LOG_LEVEL": "WARNING", "CONCURRENT_REQUESTS_PER_DOMAIN": 8}
# --page-path: what both the bare spider and akhbar's crawl run with (akhbar's own settings
# are the project's, these on top; the bare spider has Scrapy's defaults, these on top).
PAGE_PATH_SETTINGS: dict[str, Any] = {
    **SETTINGS,
    "CONCURRENT_REQUESTS": 8,
    "ROBOTSTXT_OBEY": True,
    "COMPRESSION_ENABLED": True,
    "HTTPCACHE_ENABLED": False,
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "DOWNLOAD_TIMEOUT": 30,
    "DOWNLOAD_MAXSIZE": 16 * 1024 * 1024,
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
}
# <loc>s the bare spider does not follow: the child sitemaps akhbar's WordPress spider skips
# (pages, users, terms) and the home page a Yoast sitemap lists first.
BARE_SKIP = (
    r"(?:[-_/]page|user|author|categor|tag|taxonom|attachment|post_format)[^/]*\.xml"
    r"|^https?://[^/]+/?$"
)
# Requests that are discovery, not article pages: robots.txt, sitemaps, the refused REST API
# and the feed akhbar reads first.
_NOT_A_PAGE = re.compile(r"/robots\.txt$|\.xml$|/wp-json/|/feed/?$")


def crawl(url: str, replica: Replica, home: Path, settings: dict[str, Any]) -> dict[str, Any]:
    replica.requests.clear()
    result = run_crawl("furatpost", url, replica.proxy_url, home=home, settings=settings, cwd=ROOT)
    if not result.ok:
        sys.exit(f"crawl failed ({result.status}):\n{result.log_tail()}")
    with session.get_engine(url).connect() as conn:
        articles = conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
        fetches, bodies, stored = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM fetches), count(*), coalesce(sum(length(body)), 0)"
                " FROM response_bodies"
            )
        ).one()
    return {
        "wall": result.seconds,
        "status": result.status,
        "stats": result.stats,
        "rss_mb": (result.max_rss_kb or 0) / 1024,
        "articles": articles,
        "requests": len(replica.requests),
        "fetches": fetches,
        "bodies": bodies,
        "stored_mb": stored / 1e6,
    }


def report(label: str, n: int, run: dict[str, Any]) -> None:
    stats = run["stats"]
    crawl_seconds = float(stats.get("elapsed_time_seconds") or 0)
    print(
        f"{label}: {run['articles']} articles stored ({run['status']}), "
        f"{n / run['wall']:.0f} articles/s overall ({run['wall']:.1f} s with start-up), "
        f"{n / crawl_seconds if crawl_seconds else 0:.0f} articles/s in the crawl "
        f"({crawl_seconds:.1f} s); {run['requests']} requests = "
        f"{run['requests'] / n:.4f} per article; peak memory {run['rss_mb']:.0f} MB; "
        f"archive: {run['fetches']} fetches, {run['bodies']} bodies, "
        f"{run['stored_mb']:.1f} MB compressed"
    )
    keys = ("store/new", "store/revised", "store/seen", "spider/unchanged", "spider/fetch/new")
    keys += ("spider/page_fetch/kept",)
    print("   " + json.dumps({k: stats.get(k) for k in keys if stats.get(k)}))


def _pages(replica: Replica) -> set[str]:
    return {url for method, url, status in replica.requests if not _NOT_A_PAGE.search(url)}


def run_bare(replica: Replica, home: Path) -> tuple[dict[str, Any], set[str]]:
    """The bare spider's crawl (its own process): its Scrapy stats, the pages it fetched."""
    replica.requests.clear()
    home.mkdir(parents=True, exist_ok=True)
    stats_file = home / "bare-stats.json"
    cmd = [sys.executable, str(ROOT / "bench" / "bare_spider.py")]
    cmd += [f"{replica.site().base}/robots.txt", "--skip", BARE_SKIP, "--stats", str(stats_file)]
    for key, value in PAGE_PATH_SETTINGS.items():
        cmd += ["-s", f"{key}={value}"]
    env = crawl_env(None, replica.proxy_url, home)
    env.pop("SCRAPY_SETTINGS_MODULE")  # Scrapy's defaults, not akhbar's settings
    proc = subprocess.run(cmd, cwd=home, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not stats_file.exists():
        sys.exit(f"bare spider failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(stats_file.read_text()), _pages(replica)


def run_profiled(url: str, replica: Replica, home: Path, profile: Path) -> CrawlResult:
    """``scrapy crawl furatpost`` as ``run_crawl`` runs it, under ``python -m cProfile``."""
    cmd = crawl_command("furatpost", settings=PAGE_PATH_SETTINGS)
    cmd[1:1] = ["-m", "cProfile", "-o", str(profile)]
    home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=crawl_env(url, replica.proxy_url, home), capture_output=True, text=True
    )
    result = CrawlResult(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started)
    with session.get_engine(url).connect() as conn:
        row = conn.execute(
            text("SELECT status, stats FROM crawl_runs ORDER BY id DESC LIMIT 1")
        ).first()
    if row is not None:
        result.status, result.stats = row[0], dict(row[1] or {})
    return result


def _cpu_seconds() -> float:
    """CPU time of this process's finished children (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def page_path(url: str, n: int, profile: Path | None) -> None:
    """Bare Scrapy, akhbar, bare Scrapy again, over one replica with the REST API refused.

    The bare spider runs before and after so that a machine getting busier or quieter
    during the run moves both sides alike; its rate is over both runs."""
    site = WordPressSite.furatpost(n, include_data=False, rest_status=403)
    print(
        f"page path benchmark: {n} generated articles, REST refused (sitemaps + pages), "
        f"{PAGE_PATH_SETTINGS['CONCURRENT_REQUESTS_PER_DOMAIN']} concurrent requests, "
        f"database {session.masked_url(url)}, {os.cpu_count()} CPUs"
        + (f", akhbar under cProfile ({profile})" if profile else "")
    )
    bare: list[tuple[dict[str, Any], float]] = []  # (Scrapy stats, CPU seconds)
    with Replica([site]) as replica, tempfile.TemporaryDirectory() as home:
        cpu = _cpu_seconds()
        stats, bare_pages = run_bare(replica, Path(home) / "bare-1")
        bare.append((stats, -cpu + (cpu := _cpu_seconds())))
        replica.requests.clear()
        if profile is not None:
            akhbar = run_profiled(url, replica, Path(home) / "akhbar", profile)
        else:
            akhbar = run_crawl(
                "furatpost",
                url,
                replica.proxy_url,
                home=Path(home) / "akhbar",
                settings=PAGE_PATH_SETTINGS,
                cwd=ROOT,
            )
        akhbar_cpu = -cpu + (cpu := _cpu_seconds())
        akhbar_pages = _pages(replica)
        if akhbar.status != "finished":
            sys.exit(f"crawl failed ({akhbar.status}):\n{akhbar.log_tail()}")
        stats, _ = run_bare(replica, Path(home) / "bare-2")
        bare.append((stats, _cpu_seconds() - cpu))
    with session.get_engine(url).connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
    for i, (stats, cpu_s) in enumerate(bare, 1):
        pages, seconds = int(stats.get("bare/pages") or 0), float(stats["elapsed_time_seconds"])
        print(
            f"bare Scrapy {i}: {pages} pages in {seconds:.1f} s = {pages / seconds:.0f} pages/s "
            f"({stats.get('downloader/request_count')} requests; process CPU {cpu_s:.1f} s)"
        )
        if pages != n:
            print(f"WARNING: the bare spider fetched {pages} pages of {n}")
    akhbar_seconds = float(akhbar.stats["elapsed_time_seconds"])
    print(
        f"akhbar:        {stored} articles stored in {akhbar_seconds:.1f} s = "
        f"{stored / akhbar_seconds:.0f} articles/s "
        f"({akhbar.stats.get('downloader/request_count')} requests; process CPU {akhbar_cpu:.1f} s)"
    )
    bare_rate = sum(int(s.get("bare/pages") or 0) for s, _ in bare) / sum(
        float(s["elapsed_time_seconds"]) for s, _ in bare
    )
    bare_cpu = sum(c for _, c in bare) / len(bare)
    print(
        f"ratio akhbar/bare: {stored / akhbar_seconds / bare_rate:.2f} "
        f"(bare: {bare_rate:.0f} pages/s over both runs; CPU time bare/akhbar "
        f"{bare_cpu / akhbar_cpu:.2f})"
    )
    if bare_pages != akhbar_pages or stored != n:
        print(
            f"WARNING: not the same work: bare fetched {len(bare_pages)} pages, akhbar "
            f"{len(akhbar_pages)}, {stored} stored of {n}; differ: "
            + ", ".join(sorted(bare_pages ^ akhbar_pages)[:5])
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "n", nargs="?", type=int, default=None, help="articles (default 2000; 1500 --page-path)"
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rest-refused", action="store_true", help="sitemaps + pages path")
    parser.add_argument(
        "--no-article-pages", action="store_true", help="no page kept beside REST revisions"
    )
    parser.add_argument("--keep", action="store_true", help="keep the created database")
    parser.add_argument(
        "--page-path", action="store_true", help="REST refused, side by side with bare Scrapy"
    )
    parser.add_argument("--profile", type=Path, help="--page-path: cProfile akhbar's crawl")
    args = parser.parse_args()
    n = args.n or (1500 if args.page_path else 2000)

    url = args.database_url or database_url_from_env()
    created = None
    if url is None:
        created = f"akhbar_bench_crawl_{secrets.token_hex(4)}"
        admin = make_url(LOCAL_SERVER).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(created)))
        url = make_url(LOCAL_SERVER).set(database=created).render_as_string(hide_password=False)
    session.upgrade(url)
    if args.page_path:
        try:
            page_path(url, n, args.profile)
        finally:
            drop(created, args.keep)
        return

    site = WordPressSite.furatpost(
        n, include_data=False, rest_status=403 if args.rest_refused else None
    )
    print(
        f"crawl benchmark: {n} generated articles, "
        f"{'sitemaps + pages' if args.rest_refused else 'REST API'}, "
        f"article pages {'off' if args.no_article_pages else 'on'}, "
        f"database {session.masked_url(url)}, {os.cpu_count()} CPUs"
    )
    try:
        with Replica([site]) as replica, tempfile.TemporaryDirectory() as home:
            settings = {**SETTINGS, "KEEP_ARTICLE_PAGES": not args.no_article_pages}
            first = crawl(url, replica, Path(home), settings)
            report("first crawl", n, first)
            again = crawl(url, replica, Path(home), settings)
            report("unchanged recrawl", n, again)
    finally:
        drop(created, args.keep)


def drop(created: str | None, keep: bool) -> None:
    """Drop the database this run created (unless ``keep``)."""
    session.dispose_engines()
    if created and not keep:
        admin = make_url(LOCAL_SERVER).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(created))
            )


if __name__ == "__main__":
    main()

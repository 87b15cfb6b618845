"""Crawl benchmark: ``scrapy crawl furatpost`` over a replica of N generated articles.

    python bench/crawl.py [N] [--database-url URL] [--rest-refused] [--no-article-pages] [--keep]

The replica (``crawler.replica``) serves N generated Furat Post articles (about 5 KB of
Arabic each); the real spider crawls them through it into PostgreSQL with politeness delays
off. Two crawls, each its own process as in production:

1. first crawl of an empty archive: articles/s (whole process, start-up included, and the
   crawl alone), HTTP requests per article, peak memory of the crawl process;
2. recrawl of the unchanged site: HTTP requests per article (and time);

each with what the archive holds after it: fetch rows, distinct bodies and their compressed
size.

``--rest-refused`` makes the replica refuse the REST API (403), so discovery falls back to
sitemaps and every article is fetched as a page. ``--no-article-pages`` turns off the page
kept beside each new REST revision (``KEEP_ARTICLE_PAGES=False``), to show what keeping
them costs. Without ``--database-url`` (or
``DATABASE_URL``) a fresh database is created on the local server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crawler.config import database_url_from_env
from crawler.db import session
from crawler.replica.crawl import POLITENESS_OFF, run_crawl
from crawler.replica.server import Replica
from crawler.replica.wordpress import WordPressSite

ROOT = Path(__file__).resolve().parents[1]
LOCAL_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Politeness off for a throughput figure: no delays, no AutoThrottle, and 8 requests at once
# to the one site instead of 2 (only the page path makes enough requests for it to matter).
SETTINGS = {**POLITENESS_OFF, "LOG_LEVEL": "WARNING", "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000, help="articles (default 2000)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rest-refused", action="store_true", help="sitemaps + pages path")
    parser.add_argument(
        "--no-article-pages", action="store_true", help="no page kept beside REST revisions"
    )
    parser.add_argument("--keep", action="store_true", help="keep the created database")
    args = parser.parse_args()

    url = args.database_url or database_url_from_env()
    created = None
    if url is None:
        created = f"akhbar_bench_crawl_{secrets.token_hex(4)}"
        admin = make_url(LOCAL_SERVER).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(created)))
        url = make_url(LOCAL_SERVER).set(database=created).render_as_string(hide_password=False)
    session.upgrade(url)

    site = WordPressSite.furatpost(
        args.n, include_data=False, rest_status=403 if args.rest_refused else None
    )
    print(
        f"crawl benchmark: {args.n} generated articles, "
        f"{'sitemaps + pages' if args.rest_refused else 'REST API'}, "
        f"article pages {'off' if args.no_article_pages else 'on'}, "
        f"database {session.masked_url(url)}, {os.cpu_count()} CPUs"
    )
    try:
        with Replica([site]) as replica, tempfile.TemporaryDirectory() as home:
            settings = {**SETTINGS, "KEEP_ARTICLE_PAGES": not args.no_article_pages}
            first = crawl(url, replica, Path(home), settings)
            report("first crawl", args.n, first)
            again = crawl(url, replica, Path(home), settings)
            report("unchanged recrawl", args.n, again)
    finally:
        session.dispose_engines()
        if created and not args.keep:
            admin = make_url(LOCAL_SERVER).set(drivername="postgresql")
            with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
                c.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(created)
                    )
                )


if __name__ == "__main__":
    main()

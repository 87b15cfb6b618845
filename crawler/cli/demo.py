"""``akhbar demo``: the whole pipeline, offline, in about half a minute.

Starts the local replica of Furat Post (euphratespost.net), crawls it with the real
``furatpost`` spider into an embedded PostgreSQL of its own (a fresh demo directory, never
the user's archive or ``DATABASE_URL``), lets the replica edit one article, crawls again,
and prints what the archive holds: the articles, their revisions and the edit as a diff.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import Any

SPIDER = "furatpost"
# The replica is local: politeness delays would only make the demo slow.
CRAWL_SETTINGS = {"LOG_LEVEL": "WARNING", "STORE_BATCH_SECONDS": "0.5"}
EDIT = (
    "وأكد مسؤول في التحالف الدولي، في تصريح نُشر لاحقاً، أن الغارات استهدفت "
    "مواقع عسكرية فقط ولم تسفر عن إصابات بين المدنيين."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="offline demo: replica of Furat Post -> crawl -> edit -> recrawl -> diff",
        description=__doc__,
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="directory for the demo's embedded database (default: a temporary one, removed)",
    )
    parser.set_defaults(func=demo_command)


def _crawl(proxy_url: str, home: Path) -> float:
    from crawler.replica.crawl import POLITENESS_OFF, run_crawl

    # No database URL: the embedded database under the demo's home.
    result = run_crawl(
        SPIDER, None, proxy_url, home=home, settings={**POLITENESS_OFF, **CRAWL_SETTINGS}
    )
    if result.returncode != 0:
        from crawler.cli import CommandError

        raise CommandError(f"crawl failed:\n{result.log[-3000:]}")
    return result.seconds


def _last_run(conn: Any) -> dict[str, Any]:
    from sqlalchemy import text

    row = conn.execute(
        text("SELECT status, stats FROM crawl_runs WHERE spider = :s ORDER BY id DESC LIMIT 1"),
        {"s": SPIDER},
    ).one()
    return {"status": row.status, **(row.stats or {})}


def _summary(stats: dict[str, Any], seconds: float) -> str:
    def n(key: str) -> int:
        return int(stats.get(key) or 0)

    return (
        f"{n('store/new')} new, {n('store/revised')} revised, "
        f"{n('store/seen') + n('store/unchanged')} unchanged; "
        f"{n('downloader/request_count')} HTTP requests, {seconds:.1f} s ({stats['status']})"
    )


def demo_command(args: argparse.Namespace) -> int:
    from crawler.replica.server import Replica
    from crawler.replica.wordpress import WordPressSite

    temporary = args.home is None
    home = Path(tempfile.mkdtemp(prefix="akhbar-demo-")) if temporary else args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    # This process and the crawls use the demo's embedded database, nothing else.
    os.environ.pop("DATABASE_URL", None)
    os.environ["AKHBAR_HOME"] = str(home)
    try:
        site = WordPressSite.furatpost()
        with Replica([site]) as replica:
            _run(site, replica.proxy_url, home)
    finally:
        from crawler.db.session import dispose_engines

        dispose_engines()
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
    return 0


def _run(site: Any, proxy_url: str, home: Path) -> None:
    from sqlalchemy import text

    from crawler.db import queries
    from crawler.db.session import ensure_schema, get_engine
    from crawler.display import local_date, local_time

    print(f"akhbar demo: a replica of {site.meta['name']} ({site.host}) on this machine,")
    print(f"an embedded PostgreSQL in {home}\n")
    ensure_schema()
    engine = get_engine()

    seconds = _crawl(proxy_url, home)
    with engine.connect() as conn:
        print(f"1. first crawl (the whole archive): {_summary(_last_run(conn), seconds)}\n")
        rows = conn.execute(
            text(
                "SELECT a.external_id, r.published_at, r.title, r.authors, "
                "length(r.body_text) AS chars FROM articles a "
                "JOIN article_revisions r ON r.id = a.current_revision_id "
                "ORDER BY r.published_at DESC"
            )
        ).all()
    print(f"   {'post id':>8}  {'published':<10}  {'chars':>5}  title")
    for row in rows:
        when = local_date(row.published_at)
        title = textwrap.shorten(row.title, 70, placeholder="…")
        print(f"   {row.external_id:>8}  {when:<10}  {row.chars:>5}  {title}")

    post_id = site.meta.get("seed_post_id") or next(iter(site.posts))
    article = site.get(post_id)
    index = min(2, len(article.paragraphs) - 1)
    site.edit(post_id, index, EDIT)
    print(f"\n2. the site edits paragraph {index + 1} of post {post_id}: «{article.title}»\n")

    seconds = _crawl(proxy_url, home)
    with engine.connect() as conn:
        print(f"3. second crawl (incremental): {_summary(_last_run(conn), seconds)}\n")
        article_ref = queries.find_article(conn, f"{SPIDER}:{post_id}")
        revisions = queries.revisions(conn, article_ref.id) if article_ref else []
        totals = conn.execute(
            text("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_revisions)")
        ).one()
    print(f"   the archive: {totals[0]} articles, {totals[1]} revisions\n")
    if len(revisions) < 2:
        from crawler.cli import CommandError

        raise CommandError(f"expected a second revision of post {post_id}, found {len(revisions)}")
    old, new = revisions[-2], revisions[-1]
    print(f"4. post {post_id}, revision {old['revision_no']} -> {new['revision_no']}")
    observed = [local_time(r["observed_at"], seconds=True) for r in (old, new)]
    print(f"   observed {observed[0]} and {observed[1]}:\n")
    for line in queries.revision_diff(old, new):
        print(f"   {line}")
    print(
        "\nThe real crawl is `scrapy crawl furatpost` (into $DATABASE_URL, or the embedded "
        "database under AKHBAR_HOME)."
    )

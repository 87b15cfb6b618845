"""``akhbar crawl SITE [-a NAME=VALUE ...]`` and ``akhbar sites``.

``akhbar crawl`` is ``scrapy crawl`` (crawler/commands/crawl.py) from any directory: the
same checks, the same lock and run record, the same exit status (docs/crawl-stats.md).
"""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    crawl = subparsers.add_parser(
        "crawl",
        help="crawl one site into the archive (the same as `scrapy crawl SITE`)",
        description="Crawl one site into the archive. Everything after SITE goes to "
        "`scrapy crawl` (-a NAME=VALUE spider arguments, -s NAME=VALUE settings, -L LEVEL).",
    )
    crawl.add_argument("site", help="the spider's name (see `akhbar sites`)")
    crawl.add_argument("scrapy_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    crawl.set_defaults(func=crawl_command)

    sites = subparsers.add_parser("sites", help="the outlets akhbar can crawl")
    sites.add_argument("--format", choices=("table", "json"), default="table")
    sites.set_defaults(func=sites_command)


def crawl_command(args: argparse.Namespace) -> int:
    from crawler.commands import crawl_command, crawl_environment

    # The crawl replaces this process, so signals and the exit status are the crawl's own.
    command = crawl_command(args.site, args.scrapy_args)
    sys.stdout.flush()
    os.execvpe(command[0], command, crawl_environment())
    return 1  # not reached


def sites_command(args: argparse.Namespace) -> int:
    import json

    from crawler.display import display_url, local_time, utc_iso
    from crawler.scheduler import CrawlJob
    from crawler.spiders import spider_classes

    rows = []
    for name, cls in spider_classes().items():
        next_run = CrawlJob(name, cls.schedule).next_run() if cls.schedule else None
        rows.append(
            {
                "site": name,
                "outlet": cls.outlet_name,
                "url": cls.base_url,
                "platform": cls.__mro__[1].__name__,
                "schedule": cls.schedule,
                "next_run": utc_iso(next_run),
                "_next_run_local": local_time(next_run) if next_run else "",
            }
        )
    if args.format == "json":
        machine = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
        print(json.dumps(machine, ensure_ascii=False, indent=2))
        return 0
    width = max((len(r["site"]) for r in rows), default=4)
    for row in rows:
        schedule = (
            f"{row['schedule']}  next: {row['_next_run_local']}"
            if row["schedule"]
            else "not scheduled"
        )
        print(
            f"{row['site']:<{width}}  {row['outlet']}  {display_url(row['url'])}  {row['platform']}"
            f"  {schedule}"
        )
    return 0

"""``akhbar schedule``: the crawls each spider declares, as a service or a crontab."""

from __future__ import annotations

import argparse
import logging

from crawler.cli import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schedule", help="scheduled crawls: list, run the service, crontab"
    )
    commands = parser.add_subparsers(dest="schedule_command", required=True)

    listing = commands.add_parser("list", help="each scheduled spider, its schedule and next run")
    listing.set_defaults(func=list_command)

    run = commands.add_parser(
        "run", help="run the crawls on their schedules until stopped (SIGTERM or Ctrl-C)"
    )
    run.add_argument("spiders", nargs="*", help="only these spiders (default: all scheduled)")
    run.add_argument(
        "--max-concurrent", type=int, default=2, help="crawls at once, each its own process"
    )
    run.add_argument("--run-now", action="store_true", help="also crawl every site at start")
    run.add_argument(
        "--crawl-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="passed to every crawl as -a NAME=VALUE (e.g. since=recent)",
    )
    run.set_defaults(func=run_command)

    cron = commands.add_parser("crontab", help="print the same schedule as crontab lines")
    cron.add_argument("spiders", nargs="*", help="only these spiders (default: all scheduled)")
    cron.set_defaults(func=crontab_command)


def _jobs(spiders: list[str]) -> list:
    from crawler.scheduler import declared_jobs

    try:
        jobs = declared_jobs(spiders)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if not jobs:
        raise CommandError("no spider declares a schedule")
    return jobs


def list_command(args: argparse.Namespace) -> int:
    from crawler.display import local_time

    jobs = _jobs([])
    width = max(len(job.spider) for job in jobs)
    for job in jobs:
        next_run = job.next_run()
        print(f"{job.spider:<{width}}  {job.schedule:<16}  next: {local_time(next_run)}")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from crawler.scheduler import CrawlService

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s"
    )
    crawl_args: list[str] = []
    for pair in args.crawl_arg:
        if "=" not in pair:
            raise CommandError(f"--crawl-arg takes NAME=VALUE, not {pair!r}")
        crawl_args += ["-a", pair]
    service = CrawlService(
        _jobs(args.spiders), max_concurrent=args.max_concurrent, crawl_args=crawl_args
    )
    service.start(run_now=args.run_now)
    # A stopped service exits cleanly; how each crawl ended is in crawl_runs and the log.
    return 0


def crontab_command(args: argparse.Namespace) -> int:
    from crawler.scheduler import crontab

    print(crontab(_jobs(args.spiders)), end="")
    return 0

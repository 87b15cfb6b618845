"""``akhbar schedule``: the crawls each spider declares, as a service or a crontab."""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
from pathlib import Path

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

    cron = commands.add_parser(
        "crontab",
        help="print the same schedule as crontab lines (a marked block), or install it",
    )
    cron.add_argument("spiders", nargs="*", help="only these spiders (default: all scheduled)")
    action = cron.add_mutually_exclusive_group()
    action.add_argument(
        "--install",
        action="store_true",
        help="put the block into the crontab, replacing an earlier akhbar block and keeping"
        " every other line",
    )
    action.add_argument(
        "--uninstall", action="store_true", help="remove the akhbar block from the crontab"
    )
    cron.add_argument(
        "--file",
        type=Path,
        default=None,
        help="edit this crontab file instead of the user's crontab (crontab -l / crontab -)",
    )
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
    from crawler.scheduler import crontab, with_block

    block = "" if args.uninstall else crontab(_jobs(args.spiders))
    if not (args.install or args.uninstall):
        if args.file is not None:
            raise CommandError("--file goes with --install or --uninstall")
        print(block, end="")
        return 0
    existing = _read_crontab(args.file)
    try:
        updated = with_block(existing, block)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _write_crontab(args.file, updated)
    where = args.file or "the crontab"
    print(f"akhbar block {'removed from' if args.uninstall else 'installed in'} {where}")
    return 0


def _read_crontab(path: Path | None) -> str:
    if path is not None:
        return path.read_text() if path.exists() else ""
    done = _crontab(["-l"])
    if done.returncode != 0:
        if "no crontab" in done.stderr.lower():
            return ""
        raise CommandError(f"crontab -l failed: {done.stderr.strip()}")
    return done.stdout


def _write_crontab(path: Path | None, text: str) -> None:
    if path is not None:
        tmp = path.with_name(path.name + ".akhbar-tmp")
        tmp.write_text(text)
        tmp.replace(path)
        return
    done = _crontab(["-"], text)
    if done.returncode != 0:
        raise CommandError(f"crontab - failed: {done.stderr.strip()}")


def _crontab(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if shutil.which("crontab") is None:
        raise CommandError("no crontab command here (Debian: apt-get install cron); or use --file")
    return subprocess.run(
        ["crontab", *args], input=stdin, capture_output=True, text=True, timeout=60
    )

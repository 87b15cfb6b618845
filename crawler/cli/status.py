"""``akhbar status``: the health of every site, one row each, with a verdict (ok, warn, fail).

The rules are ``crawler.health`` (documented in docs/status.md); this module gathers the
facts (``crawler.db.queries``, the spiders' declared schedules) and prints them: an aligned
table in Asia/Damascus time, or ``--format json`` (ISO 8601 UTC) for machines. The exit
status is 1 when any site fails, else 0, so cron, systemd and monitoring can act on it.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawler.cli import CommandError
from crawler.display import local_time, utc_iso

if TYPE_CHECKING:  # at run time these load inside the handler (a fast `akhbar --help`)
    from sqlalchemy import Connection

    from crawler.health import Health, Run, SiteFacts

GROWTH_WINDOW = timedelta(days=7)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status",
        help="the health of every site: last crawl, counts, coverage, verdict (exit 1 on fail)",
    )
    parser.add_argument(
        "sites", nargs="*", help="only these sites (default: every declared spider and every"
        " site in the database)"
    )  # fmt: skip
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=status_command)


def status_command(args: argparse.Namespace) -> int:
    from crawler import health
    from crawler.db.session import ensure_schema, get_engine

    now = datetime.now(UTC)
    ensure_schema()
    with get_engine().connect() as conn:
        facts = gather(conn, now, args.sites)
    results = [health.assess(site, now) for site in facts]
    if args.format == "json":
        print(json.dumps(report_json(results, now), ensure_ascii=False, indent=2))
    else:
        print(report_table(results, now))
    return 1 if any(result.verdict == health.FAIL for result in results) else 0


def gather(conn: Connection, now: datetime, only: list[str]) -> list[SiteFacts]:
    """``SiteFacts`` of every declared spider and every site the database knows."""
    from crawler import health
    from crawler.db import queries
    from crawler.scheduler import declared_jobs
    from crawler.spiders import spider_classes

    declared = spider_classes()
    jobs = {job.spider: job for job in declared_jobs()}
    archive = queries.archive_sizes(conn)
    names = sorted(set(declared) | set(archive) | set(queries.crawled_spiders(conn)))
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise CommandError(f"no site named {', '.join(unknown)}", code=2)
        names = [name for name in names if name in only]
    runs = queries.recent_runs(conn, names, health.HISTORY_RUNS)
    succeeded = queries.last_runs_with_status(conn, names, sorted(health.SUCCESS_STATUSES))
    week = queries.run_totals_since(conn, names, now - GROWTH_WINDOW)
    facts = []
    for name in names:
        job = jobs.get(name)
        size = archive.get(name, {})
        totals = week.get(name, {})
        spider = declared.get(name)
        facts.append(
            health.SiteFacts(
                site=name,
                name=size.get("name") or (spider.outlet_name if spider else None),
                declared=spider is not None,
                schedule=job.schedule if job else None,
                period=health.schedule_period(job.next_run, now) if job else None,
                next_run=job.next_run(now) if job else None,
                runs=tuple(health.run_from_row(row) for row in runs[name]),
                last_success_at=succeeded.get(name),
                archive=health.Archive(
                    articles=int(size.get("articles", 0)),
                    removed=int(size.get("removed", 0)),
                    revisions=int(size.get("revisions", 0)),
                    new_articles_7d=int(totals.get("new", 0)),
                    new_revisions_7d=int(totals.get("new", 0)) + int(totals.get("revised", 0)),
                ),
            )
        )
    return facts


# -- JSON -----------------------------------------------------------------------------------


def _seconds(delta: timedelta | None) -> float | None:
    return round(delta.total_seconds(), 3) if delta is not None else None


def _fraction(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "finish_reason": run.finish_reason,
        "started_at": utc_iso(run.started_at),
        "finished_at": utc_iso(run.finished_at),
        "duration_seconds": _seconds(run.duration),
        "bounded": run.bounded,
        "articles": run.articles,
        "new": run.new,
        "revised": run.revised,
        "unchanged": run.unchanged,
        "removed": run.removed,
        "dropped": run.dropped,
        "blocked": run.blocked,
        "errors": run.errors,
        "requests": run.requests,
    }


def coverage_json(run: Run) -> dict[str, Any]:
    coverage = run.coverage
    return {
        "run_id": run.id,
        "articles": coverage.articles,
        "published_at": _fraction(coverage.published_at),
        "authors": _fraction(coverage.authors),
        "body": _fraction(coverage.body),
    }


def site_json(result: Health, now: datetime) -> dict[str, Any]:
    facts, archive, running = result.facts, result.facts.archive, result.running
    return {
        "site": facts.site,
        "name": facts.name,
        "declared": facts.declared,
        "verdict": result.verdict,
        "reasons": [
            {"level": r.level, "rule": r.rule, "message": r.message} for r in result.reasons
        ],
        "last_crawl": run_json(result.last_crawl) if result.last_crawl else None,
        "running": None
        if running is None
        else {
            "id": running.id,
            "started_at": utc_iso(running.started_at),
            "age_seconds": _seconds(now - running.started_at),
            "hostname": running.hostname,
            "pid": running.pid,
        },
        "skipped_since_last_crawl": result.skipped_since,
        "last_success_at": utc_iso(facts.last_success_at),
        "coverage": coverage_json(result.coverage_run) if result.coverage_run else None,
        "usual": {
            "articles": result.usual_articles,
            "duration_seconds": _seconds(result.usual_duration),
            "coverage": {k: _fraction(v) for k, v in result.usual_coverage.items()},
        },
        "archive": {
            "articles": archive.articles,
            "removed": archive.removed,
            "revisions": archive.revisions,
            "growth_7d": {
                "articles": archive.new_articles_7d,
                "revisions": archive.new_revisions_7d,
            },
        },
        "schedule": facts.schedule,
        "schedule_period_seconds": _seconds(facts.period),
        "next_run_at": utc_iso(facts.next_run),
        "runs_considered": len(facts.runs),
    }


def report_json(results: list[Health], now: datetime) -> dict[str, Any]:
    from crawler.health import worst

    return {
        "checked_at": utc_iso(now),
        "verdict": worst([r.verdict for r in results]),
        "sites": [site_json(result, now) for result in results],
    }


# -- table ----------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


COLUMNS = (
    ("SITE", "<"),
    ("VERDICT", "<"),
    ("LAST CRAWL", "<"),
    ("OUTCOME", "<"),
    ("TOOK", ">"),
    ("NEW", ">"),
    ("REVISED", ">"),
    ("SAME", ">"),
    ("REMOVED", ">"),
    ("ERRORS", ">"),
    ("BLOCKED", ">"),
    ("DATED", ">"),
    ("AUTHOR", ">"),
    ("BODY", ">"),
    ("ARTICLES", ">"),
    ("7 DAYS", ">"),
    ("NEXT RUN", "<"),
)


def table_row(result: Health) -> list[str]:
    from crawler.health import human

    run, facts = result.last_crawl, result.facts
    coverage = result.coverage_run.coverage if result.coverage_run else None
    counts = (
        [str(n) for n in (run.new, run.revised, run.unchanged, run.removed, run.errors)]
        + [str(run.blocked)]
        if run
        else ["-"] * 6
    )
    outcome = run.status if run else "never"
    if result.running is not None:
        outcome += ", now running"
    return [
        facts.site,
        result.verdict,
        local_time(run.started_at, utc=False) if run else "-",
        outcome,
        human(run.duration) if run and run.duration is not None else "-",
        *counts,
        _percent(coverage.published_at if coverage else None),
        _percent(coverage.authors if coverage else None),
        _percent(coverage.body if coverage else None),
        str(facts.archive.articles),
        f"+{facts.archive.new_articles_7d}",
        local_time(facts.next_run, utc=False) if facts.next_run else "not scheduled",
    ]


def report_table(results: list[Health], now: datetime) -> str:
    from crawler.health import FAIL, WARN

    rows = [[name for name, _ in COLUMNS], *(table_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        f"akhbar status at {local_time(now)}:"
        f" {len(results)} site{'' if len(results) == 1 else 's'},"
        f" {sum(r.verdict == FAIL for r in results)} failing,"
        f" {sum(r.verdict == WARN for r in results)} warning"
    ]
    for row in rows:
        cells = [
            f"{cell:{align}{width}}"
            for cell, (_, align), width in zip(row, COLUMNS, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    reasons = [(r.facts.site, reason) for r in results for reason in r.reasons]
    if reasons:
        lines.append("")
        width = max(len(site) for site, _ in reasons)
        for site, reason in reasons:
            lines.append(f"{site:<{width}}  {reason.level:<4}  {reason.rule}: {reason.message}")
    lines.append(
        "(times in Asia/Damascus; DATED/AUTHOR/BODY: field coverage of the newest crawl that"
        " examined articles; 7 DAYS: new articles)"
    )
    return "\n".join(lines)

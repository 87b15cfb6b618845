"""The health of each archived site: per-site facts in, a verdict (ok, warn, fail) with reasons out.

Pure functions, no database and no clock of their own: ``crawler/cli/status.py`` gathers the
facts (``crawler.db.queries``, the declared schedules) and prints what ``assess`` decides.
Every threshold is a named constant below; docs/status.md states the rules in words.

Words used here: a *crawl* is a closed run that did something (any status but ``running`` and
``skipped``); the *last crawl* is the newest one. A crawl's *yield* is the articles it stored
or confirmed (``summary/new`` + ``revised`` + ``unchanged``). *Usual* values are medians over
the earlier successful crawls (``finished`` or ``partial``) among the site's recent runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

OK, WARN, FAIL = "ok", "warn", "fail"
LEVELS = (OK, WARN, FAIL)  # in order of severity

# How many of a site's newest runs are looked at (queries are bounded by this, not history).
HISTORY_RUNS = 10
# Earlier successful crawls needed before "usual" yield means anything.
MIN_USUAL_RUNS = 3
# A run's coverage counts only if it examined at least this many articles (noise below).
COVERAGE_MIN_ARTICLES = 3
# A coverage this far (absolute share) below the median of earlier runs is a drop.
COVERAGE_DROP = 0.2
# Blocked responses (bot challenges) and errors per request in the last crawl.
BLOCKED_WARN_RATE = 0.05
BLOCKED_FAIL_RATE = 0.5
ERROR_WARN_RATE = 0.05
ERROR_FAIL_RATE = 0.5
# No successful crawl for longer than this many schedule periods.
STALE_PERIODS = 3
# A run still "running" after this many usual durations (and at least the floor).
LOCK_WARN_FACTOR = 3
LOCK_FAIL_FACTOR = 10
LOCK_WARN_FLOOR = timedelta(minutes=15)
LOCK_FAIL_FLOOR = timedelta(hours=1)
LOCK_NO_HISTORY = timedelta(hours=6)  # when there is no usual duration to compare with
# Schedule period: the longest gap among this many next fire times.
PERIOD_SAMPLES = 8

SUCCESS_STATUSES = frozenset({"finished", "partial"})
STATUS_LEVELS = {"failed": FAIL, "partial": WARN, "spooled": WARN, "interrupted": WARN}
STATUS_MESSAGES = {
    "failed": "last crawl failed ({reason})",
    "partial": "last crawl partial: a discovery source was cut short ({reason})",
    "spooled": "last crawl only spooled its observations: the database was unreachable"
    " (see `akhbar spool status`)",
    "interrupted": "last crawl interrupted ({reason})",
}
# Article pages (or REST entries) that came without a usable body.
BODY_LOST_STATS = (
    "spider/not_article/empty_body",
    "spider/not_article/short_body",
    "validate/dropped/short_body",
)
COVERAGE_FIELDS = {"published_at": "publication date", "authors": "author", "body": "body"}


@dataclass(frozen=True, slots=True)
class Coverage:
    """Of the articles a run examined, the share with each field (None: unknown)."""

    articles: int = 0  # examined: extracted, plus article pages that came without a body
    published_at: float | None = None  # of the articles that passed validation
    authors: float | None = None
    body: float | None = None  # of the examined ones

    def get(self, name: str) -> float | None:
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class Run:
    """One ``crawl_runs`` row, as the rules see it."""

    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    finish_reason: str | None = None
    bounded: bool = False  # -a since=: a partial view, not compared for yield
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    removed: int = 0
    dropped: int = 0
    blocked: int = 0
    errors: int = 0
    requests: int = 0
    coverage: Coverage = field(default_factory=Coverage)
    hostname: str | None = None
    pid: int | None = None

    @property
    def articles(self) -> int:
        """The yield: articles stored or confirmed."""
        return self.new + self.revised + self.unchanged

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None


@dataclass(frozen=True, slots=True)
class Archive:
    articles: int = 0
    removed: int = 0
    revisions: int = 0
    new_articles_7d: int = 0  # summed over the crawls of the last 7 days
    new_revisions_7d: int = 0  # new + revised, same crawls


@dataclass(frozen=True, slots=True)
class SiteFacts:
    site: str
    name: str | None = None
    declared: bool = True  # a spider in crawler/spiders (else only known from the database)
    schedule: str | None = None
    period: timedelta | None = None
    next_run: datetime | None = None
    runs: tuple[Run, ...] = ()  # newest first, at most HISTORY_RUNS
    last_success_at: datetime | None = None  # newest successful crawl, however old
    archive: Archive = field(default_factory=Archive)


@dataclass(frozen=True, slots=True)
class Reason:
    level: str
    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Health:
    facts: SiteFacts
    verdict: str
    reasons: tuple[Reason, ...]
    last_crawl: Run | None
    running: Run | None  # the oldest run still "running" (the one holding the lock)
    skipped_since: int  # skipped runs newer than the last crawl
    usual_articles: float | None
    usual_duration: timedelta | None
    coverage_run: Run | None  # the newest run whose coverage counts
    usual_coverage: dict[str, float | None]


# -- facts from rows ----------------------------------------------------------------------


def _count(stats: Mapping[str, Any], key: str) -> int:
    value = stats.get(key)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _share(part: int, whole: int) -> float | None:
    return min(1.0, max(0.0, part / whole)) if whole > 0 else None


def coverage_of(stats: Mapping[str, Any]) -> Coverage:
    """Field coverage of one run from its stats (docs/status.md, "Coverage").

    Examined = articles extracted (``spider/articles/rest`` + ``spider/articles/page``) plus
    article pages rejected for an empty or short body. Date and author shares are over the
    articles that passed validation (``validate/has/*``, absent in runs older than those
    counters: unknown).
    """
    extracted = _count(stats, "spider/articles/rest") + _count(stats, "spider/articles/page")
    rejected_by_spider = sum(_count(stats, key) for key in BODY_LOST_STATS[:2])
    examined = extracted + rejected_by_spider
    with_body = extracted - _count(stats, "validate/dropped/short_body")
    passed = _count(stats, "validate/passed")

    def has(name: str) -> float | None:
        key = f"validate/has/{name}"
        return _share(_count(stats, key), passed) if key in stats else None

    return Coverage(
        articles=examined,
        published_at=has("published_at"),
        authors=has("authors"),
        body=_share(max(0, with_body), examined),
    )


def run_from_row(row: Mapping[str, Any]) -> Run:
    """A ``crawl_runs`` row (id, status, started_at, finished_at, finish_reason, args, stats,
    hostname, pid) as a ``Run``."""
    stats: Mapping[str, Any] = row.get("stats") or {}
    args: Mapping[str, Any] = row.get("args") or {}
    return Run(
        id=int(row["id"]),
        status=str(row["status"]),
        started_at=row["started_at"],
        finished_at=row.get("finished_at"),
        finish_reason=row.get("finish_reason"),
        bounded=bool(args.get("since")),
        new=_count(stats, "summary/new"),
        revised=_count(stats, "summary/revised"),
        unchanged=_count(stats, "summary/unchanged"),
        removed=_count(stats, "summary/removed"),
        dropped=_count(stats, "summary/dropped"),
        blocked=_count(stats, "summary/blocked"),
        errors=_count(stats, "summary/errors"),
        requests=_count(stats, "downloader/request_count"),
        coverage=coverage_of(stats),
        hostname=row.get("hostname"),
        pid=row.get("pid"),
    )


def schedule_period(
    next_fire: Callable[[datetime], datetime | None], now: datetime
) -> timedelta | None:
    """The longest gap between a schedule's next ``PERIOD_SAMPLES`` fire times (a schedule
    like ``0 6,18 * * *`` has uneven gaps; staleness must allow the longest)."""
    fires: list[datetime] = []
    moment = now
    for _ in range(PERIOD_SAMPLES):
        fire = next_fire(moment)
        if fire is None:
            break
        fires.append(fire)
        moment = fire + timedelta(seconds=1)
    gaps = [later - earlier for earlier, later in zip(fires, fires[1:], strict=False)]
    return max(gaps) if gaps else None


# -- the rules ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _View:
    """What the rules share: the facts sorted into last crawl, earlier crawls, running."""

    facts: SiteFacts
    now: datetime
    last: Run | None
    earlier: tuple[Run, ...]  # crawls before the last one, newest first
    running: Run | None
    usual_articles: float | None
    usual_duration: timedelta | None


def _view(facts: SiteFacts, now: datetime) -> _View:
    crawls = [r for r in facts.runs if r.status not in ("running", "skipped")]
    last = crawls[0] if crawls else None
    earlier = tuple(crawls[1:])
    running = [r for r in facts.runs if r.status == "running"]
    successful = [r for r in earlier if r.status in SUCCESS_STATUSES]
    yields = [r.articles for r in successful if not r.bounded]
    durations = [r.duration for r in crawls if r.status in SUCCESS_STATUSES and r.duration]
    return _View(
        facts=facts,
        now=now,
        last=last,
        earlier=earlier,
        running=min(running, key=lambda r: r.started_at) if running else None,
        usual_articles=statistics.median(yields) if len(yields) >= MIN_USUAL_RUNS else None,
        usual_duration=statistics.median(durations) if durations else None,
    )


def rule_last_status(view: _View) -> list[Reason]:
    """failed → fail; partial, spooled, interrupted → warn; skipped is not a crawl."""
    last = view.last
    if last is None or last.status not in STATUS_LEVELS:
        return []
    message = STATUS_MESSAGES[last.status].format(reason=last.finish_reason or "no reason")
    return [Reason(STATUS_LEVELS[last.status], "last_status", message)]


def rule_zero_articles(view: _View) -> list[Reason]:
    """A crawl that yielded nothing where the site usually yields some → fail."""
    last = view.last
    if last is None or last.bounded or last.articles > 0:
        return []
    if view.usual_articles is None or view.usual_articles < 1:
        return []
    return [
        Reason(
            FAIL,
            "zero_articles",
            f"last crawl stored or confirmed no article; the site usually yields "
            f"{view.usual_articles:g}",
        )
    ]


def coverage_runs(runs: Sequence[Run]) -> list[Run]:
    """The runs (newest first) whose coverage counts: enough articles examined."""
    return [r for r in runs if r.coverage.articles >= COVERAGE_MIN_ARTICLES]


def usual_coverage(runs: Sequence[Run]) -> dict[str, float | None]:
    """Median coverage of each field over ``runs`` (those with the field known)."""
    out: dict[str, float | None] = {}
    for name in COVERAGE_FIELDS:
        values = [v for r in runs if (v := r.coverage.get(name)) is not None]
        out[name] = statistics.median(values) if values else None
    return out


def rule_coverage_drop(view: _View) -> list[Reason]:
    """The newest run with enough articles against the median of the earlier ones: a body
    drop is a fail (articles are lost), a date or author drop a warn."""
    eligible = coverage_runs([r for r in view.facts.runs if r.status != "running"])
    if len(eligible) < 2:
        return []
    latest, before = eligible[0], eligible[1:]
    usual = usual_coverage(before)
    reasons = []
    for name, label in COVERAGE_FIELDS.items():
        now, then = latest.coverage.get(name), usual[name]
        if now is None or then is None or then - now < COVERAGE_DROP:
            continue
        reasons.append(
            Reason(
                FAIL if name == "body" else WARN,
                "coverage_drop",
                f"{label} coverage fell to {now:.0%} of {latest.coverage.articles} articles"
                f" in run {latest.id}, usually {then:.0%}",
            )
        )
    return reasons


def _rate_reason(
    count: int, requests: int, warn: float, fail: float, rule: str, what: str
) -> list[Reason]:
    if count <= 0:
        return []
    rate = count / max(requests, count)
    if rate < warn:
        return []
    level = FAIL if rate >= fail else WARN
    return [Reason(level, rule, f"{count} {what} in {max(requests, count)} requests ({rate:.0%})")]


def rule_blocked_rate(view: _View) -> list[Reason]:
    last = view.last
    if last is None:
        return []
    return _rate_reason(
        last.blocked,
        last.requests,
        BLOCKED_WARN_RATE,
        BLOCKED_FAIL_RATE,
        "blocked_rate",
        "blocked responses (bot challenges)",
    )


def rule_error_rate(view: _View) -> list[Reason]:
    last = view.last
    if last is None:
        return []
    return _rate_reason(
        last.errors, last.requests, ERROR_WARN_RATE, ERROR_FAIL_RATE, "error_rate", "errors"
    )


def rule_stale(view: _View) -> list[Reason]:
    """No successful crawl for longer than ``STALE_PERIODS`` schedule periods → fail; a
    scheduled site never crawled at all → warn."""
    facts = view.facts
    if facts.period is None:
        return []
    limit = facts.period * STALE_PERIODS
    if facts.last_success_at is None:
        if not facts.runs:
            return [Reason(WARN, "stale", "no crawl recorded yet")]
        first = min(r.started_at for r in facts.runs)
        if view.now - first <= limit:
            return []
        return [
            Reason(
                FAIL,
                "stale",
                f"no successful crawl recorded; crawls tried for {human(view.now - first)}",
            )
        ]
    age = view.now - facts.last_success_at
    if age <= limit:
        return []
    return [
        Reason(
            FAIL,
            "stale",
            f"no successful crawl for {human(age)}"
            f" ({age / facts.period:.1f} schedule periods of {human(facts.period)})",
        )
    ]


def rule_lock_held(view: _View) -> list[Reason]:
    """A run "running" far longer than the site's usual duration holds its crawl lock."""
    run = view.running
    if run is None:
        return []
    age = view.now - run.started_at
    where = f" on {run.hostname} (pid {run.pid})" if run.hostname else ""
    if view.usual_duration is None:
        if age <= LOCK_NO_HISTORY:
            return []
        return [Reason(WARN, "lock_held", f"run {run.id} has been running for {human(age)}{where}")]
    warn_after = max(view.usual_duration * LOCK_WARN_FACTOR, LOCK_WARN_FLOOR)
    fail_after = max(view.usual_duration * LOCK_FAIL_FACTOR, LOCK_FAIL_FLOOR)
    if age <= warn_after:
        return []
    return [
        Reason(
            FAIL if age > fail_after else WARN,
            "lock_held",
            f"run {run.id} has been running for {human(age)}{where},"
            f" usually {human(view.usual_duration)}",
        )
    ]


RULES: tuple[Callable[[_View], list[Reason]], ...] = (
    rule_last_status,
    rule_zero_articles,
    rule_coverage_drop,
    rule_blocked_rate,
    rule_error_rate,
    rule_stale,
    rule_lock_held,
)


def worst(levels: Sequence[str]) -> str:
    return max(levels, key=LEVELS.index, default=OK)


def assess(facts: SiteFacts, now: datetime) -> Health:
    """The verdict of one site at ``now`` (timezone-aware): the worst level of its reasons."""
    view = _view(facts, now)
    reasons = tuple(reason for rule in RULES for reason in rule(view))
    eligible = coverage_runs([r for r in facts.runs if r.status != "running"])
    skipped = 0
    for run in facts.runs:
        if run is view.last:
            break
        skipped += run.status == "skipped"
    return Health(
        facts=facts,
        verdict=worst([r.level for r in reasons]),
        reasons=reasons,
        last_crawl=view.last,
        running=view.running,
        skipped_since=skipped,
        usual_articles=view.usual_articles,
        usual_duration=view.usual_duration,
        coverage_run=eligible[0] if eligible else None,
        usual_coverage=usual_coverage(eligible[1:]),
    )


def human(delta: timedelta) -> str:
    """A duration in two units at most: ``0.5s``, ``45s``, ``3m12s``, ``2h05m``, ``4d03h``."""
    exact = max(0.0, delta.total_seconds())
    if exact < 10:
        return f"{exact:.1f}s"
    seconds = int(exact)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"

"""The health rules (``crawler.health``) on constructed facts: no database, no crawl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler import health
from crawler.health import Coverage, Run, SiteFacts, assess, coverage_of, run_from_row
from crawler.scheduler import CrawlJob

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
PERIOD = timedelta(hours=2)
FULL = Coverage(articles=20, published_at=1.0, authors=0.9, body=1.0)


def run(age_hours: float, status: str = "finished", **fields) -> Run:
    started = NOW - timedelta(hours=age_hours)
    defaults = dict(
        id=int(1000 - age_hours * 10),
        status=status,
        started_at=started,
        finished_at=None if status == "running" else started + timedelta(seconds=60),
        finish_reason=None if status == "running" else "finished",
        new=2,
        unchanged=100,
        requests=20,
    )
    return Run(**{**defaults, **fields})


def site(
    *runs: Run, period: timedelta | None = PERIOD, last_success: float | None = 0
) -> SiteFacts:
    if last_success == 0:  # default: the newest successful run among those given
        ends = [r.finished_at for r in runs if r.status in health.SUCCESS_STATUSES]
        success_at = max(ends) if ends else None
    else:
        success_at = NOW - timedelta(hours=last_success) if last_success is not None else None
    return SiteFacts(site="furatpost", period=period, runs=tuple(runs), last_success_at=success_at)


def history(*newest: Run) -> SiteFacts:
    """``newest`` runs (newest first) on top of four healthy two-hourly crawls."""
    start = max((r.started_at for r in newest), default=NOW - timedelta(hours=2))
    age = (NOW - start).total_seconds() / 3600
    healthy = [run(age + 2 * (i + 1), coverage=FULL) for i in range(4)]
    return site(*newest, *healthy)


def verdict(facts: SiteFacts) -> tuple[str, dict[str, health.Reason]]:
    result = assess(facts, NOW)
    return result.verdict, {r.rule: r for r in result.reasons}


def test_a_healthy_site_is_ok():
    facts = history(run(0.5, coverage=FULL))
    assert verdict(facts) == ("ok", {})
    result = assess(facts, NOW)
    assert result.usual_articles == 102 and result.usual_duration == timedelta(seconds=60)
    assert result.coverage_run is facts.runs[0] and result.skipped_since == 0


def test_challenge_pages_fail_on_blocked_responses_and_zero_articles():
    level, reasons = verdict(history(run(0.5, new=0, unchanged=0, blocked=14, requests=14)))
    assert level == "fail"
    assert reasons["blocked_rate"].level == "fail"
    assert reasons["blocked_rate"].message == (
        "14 blocked responses (bot challenges) in 14 requests (100%)"
    )
    assert reasons["zero_articles"].level == "fail"


@pytest.mark.parametrize(
    ("blocked", "requests", "level"),
    [(0, 20, "ok"), (1, 100, "ok"), (1, 20, "warn"), (9, 20, "warn"), (10, 20, "fail")],
)
def test_blocked_rate_thresholds(blocked, requests, level):
    assert verdict(history(run(0.5, blocked=blocked, requests=requests)))[0] == level


def test_error_rate():
    level, reasons = verdict(history(run(0.5, errors=3, requests=30)))
    assert level == "warn" and reasons["error_rate"].message == "3 errors in 30 requests (10%)"


def test_emptied_bodies_fail_on_body_coverage():
    emptied = Coverage(articles=4, published_at=None, authors=None, body=0.0)
    level, reasons = verdict(history(run(0.5, new=0, coverage=emptied)))
    assert level == "fail" and set(reasons) == {"coverage_drop"}
    assert reasons["coverage_drop"].message == (
        "body coverage fell to 0% of 4 articles in run 995, usually 100%"
    )


def test_a_date_or_author_drop_warns():
    undated = Coverage(articles=20, published_at=0.5, authors=0.85, body=1.0)
    level, reasons = verdict(history(run(0.5, coverage=undated)))
    assert level == "warn"
    assert reasons["coverage_drop"].message.startswith("publication date coverage fell to 50%")


def test_coverage_needs_enough_articles_and_keeps_the_newest_evidence():
    # Three articles without a body are evidence; two are not (noise).
    few = Coverage(articles=2, body=0.0)
    assert verdict(history(run(0.5, coverage=few)))[0] == "ok"
    # A crawl that examined nothing does not clear an earlier drop.
    emptied = Coverage(articles=3, body=0.0)
    facts = history(run(0.5), run(2.5, coverage=emptied))
    assert verdict(facts)[1]["coverage_drop"].level == "fail"


def test_zero_articles_needs_a_usual_and_ignores_bounded_crawls():
    empty = run(0.5, new=0, unchanged=0)
    assert "zero_articles" in verdict(history(empty))[1]
    assert verdict(history(run(0.5, new=0, unchanged=0, bounded=True)))[0] == "ok"
    # Two earlier crawls are not enough to know what the site usually yields.
    assert verdict(site(empty, run(2.5), run(4.5)))[0] == "ok"
    # Nor does a site that usually yields nothing.
    quiet = [run(2 * i + 2.5, new=0, unchanged=0) for i in range(4)]
    assert verdict(site(empty, *quiet))[0] == "ok"


@pytest.mark.parametrize(
    ("status", "level"),
    [("failed", "fail"), ("partial", "warn"), ("spooled", "warn"), ("interrupted", "warn")],
)
def test_the_last_crawls_status(status, level):
    got, reasons = verdict(history(run(0.5, status=status)))
    assert got == level and reasons["last_status"].level == level


def test_skipped_runs_are_neutral_and_counted():
    facts = history(run(0.1, "skipped", new=0, unchanged=0), run(0.5))
    result = assess(facts, NOW)
    assert result.verdict == "ok" and result.last_crawl is facts.runs[1]
    assert result.skipped_since == 1


def test_no_successful_crawl_for_three_periods_fails():
    failing = [run(h, "failed", new=0, unchanged=0) for h in (0.5, 2.5, 4.5, 6.5)]
    facts = site(*failing, run(8.5), last_success=8.5 - 1 / 60)
    level, reasons = verdict(facts)
    assert level == "fail" and reasons["stale"].message.startswith("no successful crawl for 8h29m")
    # Within three periods: only the failed crawl itself.
    assert "stale" not in verdict(site(*failing[:2], run(4.5)))[1]
    # Never a success at all, for long enough.
    assert (
        "no successful crawl recorded"
        in verdict(site(*failing, last_success=None))[1]["stale"].message
    )


def test_a_scheduled_site_never_crawled_warns_and_an_unscheduled_one_is_not_stale():
    level, reasons = verdict(site())
    assert level == "warn" and set(reasons) == {"stale"}
    assert reasons["stale"].message == "no crawl recorded yet"
    assert verdict(site(period=None)) == ("ok", {})
    assert verdict(site(run(100), period=None))[0] == "ok"


@pytest.mark.parametrize(
    ("minutes", "level"), [(5, "ok"), (14, "ok"), (20, "warn"), (59, "warn"), (61, "fail")]
)
def test_a_run_held_far_longer_than_usual(minutes, level):
    running = run(minutes / 60, "running", new=0, unchanged=0, hostname="crawler1", pid=42)
    got, reasons = verdict(history(running, run(2)))
    assert got == level
    if level != "ok":
        assert reasons["lock_held"].message.startswith(f"run {running.id} has been running for")
        assert "on crawler1 (pid 42), usually 1m00s" in reasons["lock_held"].message


def test_a_long_running_run_without_history_warns_after_hours():
    assert verdict(site(run(5, "running"), period=None))[0] == "ok"
    assert verdict(site(run(7, "running"), period=None))[1]["lock_held"].level == "warn"


def test_coverage_of_stats():
    stats = {
        "spider/articles/rest": 8,
        "spider/articles/page": 2,
        "spider/not_article/empty_body": 5,
        "spider/not_article/listing": 7,  # not an article page: not counted
        "validate/dropped/short_body": 1,
        "validate/passed": 9,
        "validate/has/published_at": 9,
        "validate/has/authors": 3,
    }
    assert coverage_of(stats) == Coverage(articles=15, published_at=1.0, authors=1 / 3, body=9 / 15)
    # A run older than the validate/has/* counters: date and author coverage unknown.
    old = coverage_of({"spider/articles/rest": 4, "validate/passed": 4})
    assert (old.published_at, old.authors, old.body) == (None, None, 1.0)
    assert coverage_of({}) == Coverage()


def test_run_from_row():
    row = {
        "id": 7,
        "status": "finished",
        "started_at": NOW - timedelta(minutes=3),
        "finished_at": NOW,
        "finish_reason": "finished",
        "args": {"since": "2026-11-30T00:00:00+00:00", "refetch": False},
        "stats": {"summary/new": 3, "summary/unchanged": 9, "summary/blocked": 1,
                  "downloader/request_count": 40, "summary/errors": "2"},
        "hostname": "h",
        "pid": 1,
    }  # fmt: skip
    got = run_from_row(row)
    assert (got.articles, got.blocked, got.errors, got.requests) == (12, 1, 2, 40)
    assert got.bounded and got.duration == timedelta(minutes=3)
    assert not run_from_row({**row, "args": {"since": None}, "stats": {}}).bounded


@pytest.mark.parametrize(
    ("cron", "hours"), [("17 */2 * * *", 2), ("0 6,18 * * *", 12), ("0 6,9 * * *", 21)]
)
def test_schedule_period_is_the_longest_gap(cron, hours):
    job = CrawlJob("furatpost", cron)
    assert health.schedule_period(job.next_run, NOW) == timedelta(hours=hours)


def test_human_durations():
    assert [health.human(timedelta(seconds=s)) for s in (0.42, 45, 192, 7500, 356400)] == [
        "0.4s",
        "45s",
        "3m12s",
        "2h05m",
        "4d03h",
    ]

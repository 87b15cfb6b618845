"""When to look at an article again: often while it is fresh, rarely once it is old.

Fresh articles are where edits happen (corrections, updated casualty figures, retitles);
an article a year old almost never changes, so re-checking it monthly is enough.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# (age below which, re-check interval), youngest first.
CADENCE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(hours=1)),
    (timedelta(days=7), timedelta(hours=6)),
    (timedelta(days=30), timedelta(days=1)),
    (timedelta(days=365), timedelta(days=7)),
)
OLDEST_INTERVAL = timedelta(days=30)


def recheck_interval(age: timedelta) -> timedelta:
    """How long to wait before re-checking an article of this age."""
    # total_seconds(), never .seconds: .seconds drops the days (diffengine's bug).
    age_s = age.total_seconds()
    for limit, interval in CADENCE:
        if age_s < limit.total_seconds():
            return interval
    return OLDEST_INTERVAL


def next_check_at(
    checked_at: datetime, published_at: datetime | None, first_seen_at: datetime
) -> datetime:
    """The next re-check after ``checked_at``; age counts from publication, else first sight."""
    born = published_at or first_seen_at
    return checked_at + recheck_interval(checked_at - born)

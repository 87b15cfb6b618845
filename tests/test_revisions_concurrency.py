"""Rule 8: concurrent writers, each on its own connection and transaction, started together.

Every observation in a round carries the same fetched_at, so none is stale and each one
with new content must become exactly one revision: revision numbers end up 1..n with no
gap (a lost revision) and no duplicate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from crawler.db.revisions import ensure_site, record
from crawler.items import ArticleGone, ArticleItem, ArticleSeen, Observation, SiteInfo

SITE = "furatpost"
BASE = "https://euphratespost.net"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
THREADS = 4
ROUNDS = 12


def item(
    at: datetime, body: str, *, ext: str | None, url: str, urls: list[str] | None = None
) -> ArticleItem:
    return ArticleItem(
        site=SITE,
        url=url,
        canonical_url=url,
        fetched_at=at,
        title="خبر",
        body_text=body,
        external_id=ext,
        urls=urls or [],
    )


def race(
    engine: Engine,
    work: Callable[[int, int], list[Observation]],
    threads: int = THREADS,
    rounds: int = ROUNDS,
) -> None:
    """Run ``work(thread, round)``'s batch in every thread at once, round after round."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(t: int) -> None:
        conn: Connection = engine.connect()
        try:
            for r in range(rounds):
                batch = work(t, r)
                barrier.wait(timeout=60)
                with conn.begin():
                    record(conn, batch)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()
        finally:
            conn.close()

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    assert not any(w.is_alive() for w in workers)


def revision_numbers(engine: Engine) -> dict[int, list[int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT article_id, revision_no FROM article_revisions ORDER BY 1, 2")
        )
        out: dict[int, list[int]] = {}
        for article_id, no in rows:
            out.setdefault(article_id, []).append(no)
        return out


def assert_consistent(engine: Engine) -> None:
    """articles.revision_count and current_revision_id agree with the revisions."""
    with engine.connect() as conn:
        bad = conn.execute(
            text(
                "SELECT a.id FROM articles a LEFT JOIN article_revisions r ON r.id = a.current_revision_id"
                " WHERE r.revision_no IS DISTINCT FROM a.revision_count"
                " OR a.revision_count <> (SELECT count(*) FROM article_revisions x WHERE x.article_id = a.id)"
            )
        ).all()
    assert bad == []


@pytest.fixture(autouse=True)
def site(engine: Engine) -> None:
    with engine.begin() as conn:
        ensure_site(conn, SiteInfo(SITE, "فرات بوست", BASE + "/"))


def test_same_new_article_from_many_writers_is_one_article_with_consecutive_revisions(engine):
    shared = f"{BASE}/2026/03/خبر-عاجل/"

    def work(t: int, r: int) -> list[Observation]:
        # Half the writers know the post id, half only the URL: both paths race.
        ext = "900" if t % 2 == 0 else None
        return [
            item(
                T0 + timedelta(minutes=r),
                f"نص {r}-{t}",
                ext=ext,
                url=shared,
                urls=[f"{BASE}/?p=900"] if ext else [],
            )
        ]

    race(engine, work)
    numbers = revision_numbers(engine)
    assert len(numbers) == 1, numbers
    (nos,) = numbers.values()
    assert nos == list(range(1, THREADS * ROUNDS + 1))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT external_id FROM articles")).scalar_one() == "900"
    assert_consistent(engine)


def test_writers_reaching_one_article_through_different_keys_are_serialised(engine):
    # Known article: post id 5, old slug and shortlink. One writer comes by post id with a
    # fresh URL each time, the other only by the shortlink: no identity key in common.
    old, short = f"{BASE}/old-slug/", f"{BASE}/?p=5"
    with engine.begin() as conn:
        record(conn, [item(T0 - timedelta(hours=1), "أصل", ext="5", url=old, urls=[short])])

    def work(t: int, r: int) -> list[Observation]:
        at = T0 + timedelta(minutes=r)
        if t % 2 == 0:
            return [item(at, f"نص {r}-{t}", ext="5", url=f"{BASE}/slug-{r}-{t}/")]
        return [item(at, f"نص {r}-{t}", ext=None, url=short)]

    race(engine, work)
    numbers = revision_numbers(engine)
    assert len(numbers) == 1, numbers
    (nos,) = numbers.values()
    assert nos == list(range(1, THREADS * ROUNDS + 2))
    assert_consistent(engine)


def test_overlapping_batches_in_opposite_orders_never_deadlock(engine):
    n = 40

    def work(t: int, r: int) -> list[Observation]:
        at = T0 + timedelta(minutes=r)
        batch = [item(at, f"نص {i} {r}-{t}", ext=str(i), url=f"{BASE}/a-{i}/") for i in range(n)]
        return batch if t % 2 == 0 else batch[::-1]

    race(engine, work, threads=2, rounds=8)
    numbers = revision_numbers(engine)
    assert len(numbers) == n
    assert all(nos == list(range(1, 2 * 8 + 1)) for nos in numbers.values()), numbers
    assert_consistent(engine)


def test_racing_gone_and_seen_record_each_removal_and_restoration_once(engine):
    url = f"{BASE}/2026/03/خبر-محذوف/"
    with engine.begin() as conn:
        record(conn, [item(T0 - timedelta(hours=1), "أصل", ext="7", url=url)])

    def work(t: int, r: int) -> list[Observation]:
        at = T0 + timedelta(minutes=r)
        # Even rounds: every writer sees the article gone; odd rounds: every writer sees it back.
        if r % 2 == 0:
            return [ArticleGone(SITE, url, at, 404, "http 404")]
        return [ArticleSeen(SITE, at, external_id="7")]

    race(engine, work)
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind FROM article_events ORDER BY id")).scalars().all()
        removed_at = conn.execute(text("SELECT removed_at FROM articles")).scalar_one()
    assert kinds == ["removed", "restored"] * (ROUNDS // 2)
    assert removed_at is None

"""The only writer of articles, their URLs, revisions, events, fetches and response bodies.

``record`` applies a batch of observations inside the caller's transaction, set-based:
a handful of round trips per batch whatever its size.

1. take transaction-level advisory locks on the identity keys of the batch
   ((site, external_id) and (site, url_key), hashed into LOCK_BUCKETS per site), in sorted
   order, so two writers never deadlock;
2. find the articles those keys already name;
3. lock those article rows (sorted by id), then read their fresh state and current hash;
4. resolve and apply each observation in memory, in observed order;
5. write: response bodies, fetches, new articles, revisions, URLs, events, one bulk article
   update, each as one ``INSERT/UPDATE ... FROM unnest(arrays)`` statement.

Fetches are stored for new revisions (the one extracted from, and the article's page kept
beside a REST entry) and removals; an unchanged article's fetch is not kept (the revision
it matches already has one). A fetch is one row however many items share it (a REST list
response behind a hundred revisions), named by its ``record_id`` across batches and
replays; a body is one row per distinct sha256, whichever fetches received it.

Why two lock phases: two observations may reach one existing article through different
keys (one by external id, one by an old URL), so key locks alone do not serialise them; the
row locks do. Key locks come first and cover everything a writer can create (articles,
external ids, URLs), so resolution cannot change under us once they are held. Unique
constraints ((site, external_id), url, (article, revision_no), sha256, record_id) are the
backstop.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import zstandard
from psycopg.types.json import Jsonb
from sqlalchemy import (
    BigInteger,
    Connection,
    Text,
    any_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by

from crawler.db.models import Article, ArticleRevision, ArticleUrl, Site
from crawler.db.models import Fetch as FetchRow
from crawler.db.schedule import next_check_at
from crawler.extract.text import content_hash
from crawler.extract.urls import url_key
from crawler.identity import IdentityIndex
from crawler.items import (
    REVISION_FIELDS,
    ArticleGone,
    ArticleItem,
    ArticleSeen,
    Fetch,
    KnownArticle,
    Observation,
    SiteInfo,
)

sites_t = Site.__table__
articles_t = Article.__table__
revisions_t = ArticleRevision.__table__
fetches_t = FetchRow.__table__

GONE_STATUSES = frozenset({404, 410, 200})  # 200 = a recognised soft 404
ZSTD_LEVEL = 3
LOCK_NAMESPACE = 0x616B0000  # "ak": first int4 of record()'s advisory locks, plus site id
LOCK_BUCKETS = 128


@dataclass(slots=True)
class RecordStats:
    new: int = 0  # first observation: article + URLs + revision 1
    revised: int = 0  # content changed, same extractor: the site's edit, revision n+1
    # content changed and so did the extractor or its version (a site's page declaration
    # bumped, a page class upgraded): revision n+1 by a re-extraction, not the site's edit
    reextracted: int = 0
    unchanged: int = 0  # same content: only last_seen_at/last_checked_at moved
    seen: int = 0  # ArticleSeen of a known article
    stale: int = 0  # older than the article's last check: ignored for revisions
    removed: int = 0  # a Gone of an article already removed counts nothing
    restored: int = 0
    unknown: int = 0  # ArticleSeen/ArticleGone of an article the archive never had
    urls_added: int = 0
    redirected: int = 0  # redirected events: a known article's URL leads to another

    def as_stats(self, prefix: str = "store/") -> dict[str, int]:
        return {prefix + k: v for k, v in asdict(self).items() if v}


def ensure_site(conn: Connection, site: SiteInfo) -> int:
    """Insert or update the ``sites`` row; return its id."""
    row = conn.execute(
        text(
            "INSERT INTO sites (slug, name, base_url, language)"
            " VALUES (:slug, :name, :base_url, :language)"
            " ON CONFLICT (slug) DO UPDATE SET name = excluded.name,"
            " base_url = excluded.base_url, language = excluded.language"
            " WHERE (sites.name, sites.base_url, sites.language)"
            " IS DISTINCT FROM (excluded.name, excluded.base_url, excluded.language)"
            " RETURNING id"
        ),
        asdict(site),
    ).first()
    if row is not None:
        return int(row[0])
    # Unchanged row: nothing was written (no dead tuple per crawl), so look it up.
    return int(conn.execute(select(sites_t.c.id).where(sites_t.c.slug == site.slug)).scalar_one())


def known_articles(conn: Connection, site_slug: str) -> list[KnownArticle]:
    """Every article of a site the archive knows, for incremental crawls and deletion checks.

    ``modified_at`` is the current revision's (the site's date when the content last
    changed); a later date bump without a content change moves only ``last_checked_at``."""
    a, r = articles_t, revisions_t
    u = ArticleUrl.__table__
    keys = (
        select(func.array_agg(aggregate_order_by(u.c.url_key.distinct(), u.c.url_key)))
        .where(u.c.article_id == a.c.id)
        .scalar_subquery()
    )
    f = fetches_t
    headers = f.c.response_headers
    # Scrapy title-cases header names ("Etag"); other writers may not.
    etag = func.coalesce(
        headers["Etag"][0].astext, headers["ETag"][0].astext, headers["etag"][0].astext
    )
    last_modified = func.coalesce(
        headers["Last-Modified"][0].astext, headers["last-modified"][0].astext
    )
    rows = conn.execute(
        select(
            a.c.id,
            a.c.external_id,
            a.c.canonical_url,
            r.c.modified_at,
            a.c.last_checked_at,
            a.c.removed_at,
            keys,
            f.c.url,
            etag,
            last_modified,
        )
        .select_from(
            a.join(sites_t, sites_t.c.id == a.c.site_id)
            .outerjoin(r, r.c.id == a.c.current_revision_id)
            .outerjoin(f, f.c.id == func.coalesce(r.c.page_fetch_id, r.c.fetch_id))
        )
        .where(sites_t.c.slug == site_slug)
        .order_by(a.c.id)
    )
    known = []
    for *fields, url_keys, fetch_url, fetch_etag, fetch_last_modified in rows:
        url_keys = tuple(url_keys or ())
        # Only a page's own validators validate that page (not a REST response's).
        own_page = bool(fetch_url) and url_key(fetch_url) in url_keys
        known.append(
            KnownArticle(
                *fields,
                url_keys=url_keys,
                etag=fetch_etag if own_page else None,
                last_modified=fetch_last_modified if own_page else None,
            )
        )
    return known


# --- internal state of one batch -----------------------------------------------------


@dataclass(slots=True, eq=False)
class _Obs:
    index: int
    obs: Observation
    at: datetime
    site_id: int | None
    external_id: str | None
    urls: list[str]  # raw, as seen, without duplicates
    keys: list[str]  # url_key of each of urls


@dataclass(slots=True, eq=False)
class _Art:
    """An article as this batch sees it; ``id`` is None until a new one is inserted."""

    id: int | None
    site_id: int
    external_id: str | None
    canonical_url: str
    first_seen_at: datetime
    last_seen_at: datetime
    last_checked_at: datetime
    last_changed_at: datetime
    next_check_at: datetime | None
    removed_at: datetime | None
    revision_count: int
    current_revision_id: int | None
    current_hash: bytes | None
    published_at: datetime | None  # of the current revision: the cadence counts from it
    # (extractor, extractor_version) of the current revision
    extracted_by: tuple[str, str] | None = None
    dirty: bool = False
    last_revision: dict[str, Any] | None = None  # pending row of this batch, if any


@dataclass(slots=True)
class _Writes:
    fetches: dict[str, Fetch] = field(default_factory=dict)  # by record_id
    new_articles: list[_Art] = field(default_factory=list)
    revisions: list[tuple[_Art, dict[str, Any]]] = field(default_factory=list)
    urls: dict[str, tuple[_Art, str, datetime, datetime]] = field(default_factory=dict)
    url_seen: dict[str, datetime] = field(default_factory=dict)  # existing URL rows
    events: list[tuple[_Art, dict[str, Any]]] = field(default_factory=list)
    # (article id, from, to) of the redirected events already recorded or pending
    redirects: set[tuple[int, str, str]] = field(default_factory=set)


def record(
    conn: Connection, observations: Sequence[Observation], *, crawl_run_id: int | None = None
) -> RecordStats:
    """Record a batch of observations inside the caller's transaction.

    Several observations of one article are applied in observed order (``fetched_at`` /
    ``observed_at``; ties keep batch order). Raises ValueError on an observation that breaks
    the items contract (naive datetime, a Gone status other than 404/410/200) before
    writing anything.

    Call it once per transaction: its locks are taken in one global order only within a
    call, so a second call in the same transaction could deadlock with another writer.
    """
    stats = RecordStats()
    if not observations:
        return stats
    for o in observations:
        _validate(o)
    site_ids = _site_ids(conn, observations)
    batch = sorted(
        (_prepare(i, o, site_ids.get(o.site)) for i, o in enumerate(observations)),
        key=lambda b: (b.at, b.index),
    )

    _lock_identity_keys(conn, batch)
    by_key, by_url, article_ids = _find_existing(conn, batch)
    arts = _load_locked(conn, article_ids)

    writes = _Writes(redirects=_known_redirects(conn, batch, list(arts)))
    # One identity index per site: the articles found, under their external ids and keys.
    identities: defaultdict[int, IdentityIndex[_Art]] = defaultdict(IdentityIndex)
    for aid in sorted(arts):
        identities[arts[aid].site_id].add(arts[aid])
    for key, aid in by_key:
        identities[arts[aid].site_id].add(arts[aid], [key])
    url_map = {u: arts[i] for u, i in by_url.items()}
    for b in batch:
        _apply(b, identities, url_map, writes, stats, crawl_run_id)

    _write(conn, writes, list(arts.values()), crawl_run_id)
    return stats


def _any(values: list[Any], sqltype: type) -> Any:
    """``= ANY(array)``: one parameter whatever the number of values."""
    return any_(bindparam(None, values, type_=ARRAY(sqltype())))


def _validate(o: Observation) -> None:
    if not isinstance(o, ArticleItem | ArticleSeen | ArticleGone):
        raise TypeError(f"not an observation: {type(o).__name__}")
    if isinstance(o, ArticleItem):
        stamps = {
            "fetched_at": o.fetched_at,
            "published_at": o.published_at,
            "modified_at": o.modified_at,
        }
    else:
        stamps = {"observed_at": o.observed_at}
    for name, at in stamps.items():
        if at is not None and at.utcoffset() is None:
            raise ValueError(f"naive {name} in {type(o).__name__} of {o.site}: {at!r}")
    for fetch in _fetches_of(o):
        if fetch.fetched_at.utcoffset() is None:
            raise ValueError(f"naive fetched_at in a fetch of {o.site}: {fetch.fetched_at!r}")
        try:
            canonical = str(uuid.UUID(fetch.record_id))
        except (TypeError, ValueError):
            canonical = None
        if canonical != fetch.record_id:
            raise ValueError(f"fetch record_id is no lower-case UUID: {fetch.record_id!r}")
    if isinstance(o, ArticleGone) and o.status not in GONE_STATUSES:
        raise ValueError(f"ArticleGone with status {o.status}: only 404, 410 or a soft 404 (200)")


def _fetches_of(o: Observation) -> list[Fetch]:
    if isinstance(o, ArticleItem):
        return [f for f in (o.fetch, o.page_fetch) if f is not None]
    if isinstance(o, ArticleGone) and o.fetch is not None:
        return [o.fetch]
    return []


def _site_ids(conn: Connection, observations: Sequence[Observation]) -> dict[str, int]:
    slugs = sorted({o.site for o in observations})
    found = dict(
        conn.execute(
            select(sites_t.c.slug, sites_t.c.id).where(sites_t.c.slug == _any(slugs, Text))
        ).all()
    )
    missing = {
        o.site: o for o in observations if o.site not in found and isinstance(o, ArticleItem)
    }
    if missing:
        # A site nobody declared with ensure_site: keep the articles, name it by its slug.
        for slug, item in sorted(missing.items()):
            parts = urlsplit(item.url)
            conn.execute(
                text(
                    "INSERT INTO sites (slug, name, base_url, language)"
                    " VALUES (:slug, :slug, :base, :lang) ON CONFLICT (slug) DO NOTHING"
                ),
                {"slug": slug, "base": f"{parts.scheme}://{parts.netloc}/", "lang": item.language},
            )
        found.update(
            conn.execute(
                select(sites_t.c.slug, sites_t.c.id).where(
                    sites_t.c.slug == _any(sorted(missing), Text)
                )
            ).all()
        )
    return found


def _prepare(index: int, o: Observation, site_id: int | None) -> _Obs:
    if isinstance(o, ArticleItem):
        at = o.fetched_at
        urls = o.all_urls()
    else:
        at = o.observed_at
        urls = [o.url] if o.url else []
    ext = o.external_id if o.external_id not in (None, "") else None
    return _Obs(index, o, at, site_id, ext, urls, [url_key(u) for u in urls])


def _lock_key(site_id: int, kind: str, key: str) -> tuple[int, int]:
    """The advisory lock guarding one identity key: (namespace + site, hash bucket).

    The two-int4 form never overlaps the one-bigint space (the migration lock). Keys share
    LOCK_BUCKETS buckets per site because every advisory lock takes a slot in the server's
    shared lock table (max_locks_per_transaction x max_connections, 6,400 by default): a
    lock per key would cost ~800 slots per batch and exhaust it with a few concurrent
    writers. A bucket shared by two keys only serialises more, never less."""
    digest = hashlib.blake2b(f"{kind}\x1f{key}".encode(), digest_size=8).digest()
    return LOCK_NAMESPACE + site_id, int.from_bytes(digest, "big") % LOCK_BUCKETS


def _lock_identity_keys(conn: Connection, batch: list[_Obs]) -> None:
    keys: set[tuple[int, int]] = set()
    for b in batch:
        if b.site_id is None:
            continue
        if b.external_id is not None:
            keys.add(_lock_key(b.site_id, "e", b.external_id))
        keys.update(_lock_key(b.site_id, "u", k) for k in b.keys)
    ordered = sorted(keys)  # one global order: no deadlock between writers
    conn.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(k1, k2))"
            " FROM unnest(CAST(:k1 AS int[]), CAST(:k2 AS int[])) AS t(k1, k2)"
        ),
        {"k1": [k[0] for k in ordered], "k2": [k[1] for k in ordered]},
    )


def _find_existing(
    conn: Connection, batch: list[_Obs]
) -> tuple[list[tuple[str, int]], dict[str, int], list[int]]:
    """Articles named by the batch's keys: by (site, ext id), by url_key, by raw URL.

    Returns (url_key, article) pairs lowest article id first, raw URL -> article, and every
    article id found. Which of them an observation is, ``crawler.identity`` decides. One
    statement; each branch is a plain index lookup (arrays, not IN lists, so the plan and
    psycopg's prepared statement do not depend on the batch size)."""
    live = [b for b in batch if b.site_id is not None]
    keys = sorted({k for b in live for k in b.keys})
    urls = sorted({u for b in live for u in b.urls})
    by_key: list[tuple[str, int]] = []
    by_url: dict[str, int] = {}
    if not live:
        return by_key, by_url, []
    pairs = sorted({(b.site_id, b.external_id) for b in live if b.external_id is not None})
    # LATERAL ... LIMIT: one index probe per key, whatever the planner's statistics say
    # (a freshly created or never analysed table otherwise gets sequential scans).
    rows = conn.execute(
        text(
            "SELECT 'e', a.id, a.external_id, NULL"
            " FROM unnest(CAST(:e_site AS smallint[]), CAST(:e_ext AS text[])) AS q(site, ext)"
            " CROSS JOIN LATERAL (SELECT id, external_id FROM articles"
            "  WHERE site_id = q.site AND external_id = q.ext LIMIT 1) AS a"
            " UNION ALL SELECT 'k', u.article_id, u.url, u.url_key"
            " FROM unnest(CAST(:keys AS text[])) AS q(key)"
            " CROSS JOIN LATERAL (SELECT article_id, url, url_key FROM article_urls"
            "  WHERE url_key = q.key LIMIT 100) AS u"
            " UNION ALL SELECT 'u', u.article_id, u.url, u.url_key"
            " FROM unnest(CAST(:urls AS text[])) AS q(url)"
            " CROSS JOIN LATERAL (SELECT article_id, url, url_key FROM article_urls"
            "  WHERE url = q.url LIMIT 1) AS u"
        ),
        {
            "e_site": [p[0] for p in pairs],
            "e_ext": [p[1] for p in pairs],
            "keys": keys,
            "urls": urls,
        },
    ).all()
    ids = {aid for _, aid, _, _ in rows}
    # Lowest article id wins a key (or URL) shared by two articles.
    for kind, aid, url, key in sorted(rows, key=lambda r: r[1]):
        if kind == "e":
            continue
        by_url.setdefault(url, aid)
        if kind == "k":
            by_key.append((key, aid))
    return by_key, by_url, sorted(ids)


def _load_locked(conn: Connection, ids: list[int]) -> dict[int, _Art]:
    """Lock the articles (sorted), then read their state in a fresh statement.

    The read must come after the lock in its own statement: under READ COMMITTED a new
    statement sees everything committed by whoever held the lock before us."""
    if not ids:
        return {}
    a, r = articles_t, revisions_t
    conn.execute(
        select(a.c.id).where(a.c.id == _any(ids, BigInteger)).order_by(a.c.id).with_for_update()
    ).all()
    rows = conn.execute(
        select(
            a.c.id,
            a.c.site_id,
            a.c.external_id,
            a.c.canonical_url,
            a.c.first_seen_at,
            a.c.last_seen_at,
            a.c.last_checked_at,
            a.c.last_changed_at,
            a.c.next_check_at,
            a.c.removed_at,
            a.c.revision_count,
            a.c.current_revision_id,
            r.c.content_hash,
            r.c.published_at,
            r.c.extractor,
            r.c.extractor_version,
        )
        .select_from(a.outerjoin(r, r.c.id == a.c.current_revision_id))
        .where(a.c.id == _any(ids, BigInteger))
    )
    arts = {
        row[0]: _Art(*row[:-2], extracted_by=(row[-2], row[-1]) if row[-2] else None)
        for row in rows
    }
    for art in arts.values():
        if art.current_hash is not None:
            art.current_hash = bytes(art.current_hash)
    return arts


def _apply(
    b: _Obs,
    identities: defaultdict[int, IdentityIndex[_Art]],
    url_map: dict[str, _Art],
    w: _Writes,
    stats: RecordStats,
    crawl_run_id: int | None,
) -> None:
    o = b.obs
    if b.site_id is None:
        stats.unknown += 1
        return
    identity = identities[b.site_id]
    art = identity.resolve(b.external_id, b.keys)
    created = False
    if art is None:
        if not isinstance(o, ArticleItem):
            stats.unknown += 1
            return
        art = _new_article(b, o)
        w.new_articles.append(art)
        created = True
    if b.external_id is not None and art.external_id is None:
        # First time this article shows its stable id (it was known by URL only).
        art.external_id = b.external_id
        art.dirty = True
    identity.add(art, b.keys)

    _add_urls(b, art, url_map, w, stats, announce=not created, crawl_run_id=crawl_run_id)
    if not created and isinstance(o, ArticleItem) and o.redirected_from:
        _add_redirects(b, o, art, w, stats, crawl_run_id)

    if created:
        stats.new += 1
        _add_revision(art, o, b, w, crawl_run_id)
        return
    if b.at < art.last_checked_at:
        # Older than what we already know: history must not be rewritten by a late replay.
        stats.stale += 1
        if not isinstance(o, ArticleGone) and b.at > art.last_seen_at:
            art.last_seen_at = b.at
            art.dirty = True
        return

    art.dirty = True
    if isinstance(o, ArticleGone):
        art.last_checked_at = b.at
        if art.removed_at is None:
            art.removed_at = b.at
            stats.removed += 1
            fetch = _add_fetch(w, o.fetch)
            w.events.append(
                (
                    art,
                    _event(
                        "removed",
                        b.at,
                        o.reason,
                        {"status": o.status, "url": o.url},
                        fetch,
                        crawl_run_id,
                    ),
                )
            )
        _schedule(art, b.at)
        return

    if art.removed_at is not None:
        art.removed_at = None
        stats.restored += 1
        w.events.append(
            (
                art,
                _event(
                    "restored",
                    b.at,
                    None,
                    {"url": b.urls[0] if b.urls else None},
                    None,
                    crawl_run_id,
                ),
            )
        )
    art.last_seen_at = max(art.last_seen_at, b.at)
    art.last_checked_at = b.at
    if isinstance(o, ArticleSeen):
        stats.seen += 1
    else:
        if _canonical_moved(b, o, art):
            w.events.append(
                (
                    art,
                    _event(
                        "canonical_changed",
                        b.at,
                        None,
                        {"from": art.canonical_url, "to": o.canonical_url},
                        None,
                        crawl_run_id,
                    ),
                )
            )
            art.canonical_url = o.canonical_url
        h = o.content_hash or content_hash(**o.hashed_fields())
        if h != art.current_hash:
            if art.extracted_by not in (None, (o.extractor, o.extractor_version)):
                stats.reextracted += 1  # what changed may be only how the page is read
            else:
                stats.revised += 1
            _add_revision(art, o, b, w, crawl_run_id, h)
        else:
            stats.unchanged += 1
    _schedule(art, b.at)


def _add_redirects(
    b: _Obs, o: ArticleItem, art: _Art, w: _Writes, stats: RecordStats, crawl_run_id: int | None
) -> None:
    """A known article's URL now redirects to another: the site moved it (a retitle's new
    slug). Once per (article, from, to); a redirect within one identity (http to https, a
    trailing slash) is no move."""
    target_key = b.keys[b.urls.index(o.url)]
    for source in dict.fromkeys(o.redirected_from):
        if b.keys[b.urls.index(source)] == target_key:
            continue
        move = (art.id, source, o.url)
        if move in w.redirects:
            continue
        w.redirects.add(move)  # type: ignore[arg-type]
        stats.redirected += 1
        detail = {"from": source, "to": o.url}
        w.events.append((art, _event("redirected", b.at, None, detail, None, crawl_run_id)))


def _known_redirects(
    conn: Connection, batch: list[_Obs], article_ids: list[int]
) -> set[tuple[int, str, str]]:
    """The moves already recorded for the batch's articles (only if it carries redirects)."""
    if not article_ids or not any(
        isinstance(b.obs, ArticleItem) and b.obs.redirected_from for b in batch
    ):
        return set()
    rows = conn.execute(
        text(
            "SELECT article_id, detail->>'from', detail->>'to' FROM article_events"
            " WHERE article_id = ANY(CAST(:ids AS bigint[])) AND kind = 'redirected'"
        ),
        {"ids": article_ids},
    )
    return {(int(a), f, t) for a, f, t in rows}


def _canonical_moved(b: _Obs, o: ArticleItem, art: _Art) -> bool:
    """A different canonical URL, not just another spelling of the same one."""
    if not o.canonical_url or o.canonical_url == art.canonical_url:
        return False  # the common case, without parsing any URL
    return b.keys[b.urls.index(o.canonical_url)] != url_key(art.canonical_url)


def _new_article(b: _Obs, o: ArticleItem) -> _Art:
    return _Art(
        id=None,
        site_id=b.site_id,  # type: ignore[arg-type]
        external_id=b.external_id,
        canonical_url=o.canonical_url or o.url,
        first_seen_at=b.at,
        last_seen_at=b.at,
        last_checked_at=b.at,
        last_changed_at=b.at,
        next_check_at=None,
        removed_at=None,
        revision_count=0,
        current_revision_id=None,
        current_hash=None,
        published_at=None,
        dirty=True,
    )


def _add_revision(
    art: _Art,
    o: ArticleItem,
    b: _Obs,
    w: _Writes,
    crawl_run_id: int | None,
    h: bytes | None = None,
) -> None:
    h = h if h is not None else (o.content_hash or content_hash(**o.hashed_fields()))
    art.revision_count += 1
    art.current_hash = h
    art.published_at = o.published_at
    art.extracted_by = (o.extractor, o.extractor_version)
    art.last_changed_at = b.at
    art.dirty = True
    row = {
        "revision_no": art.revision_count,
        "observed_at": b.at,
        "content_hash": h,
        **{name: _copy(getattr(o, name)) for name in REVISION_FIELDS},
        "body_html": o.body_html,
        "extractor": o.extractor,
        "extractor_version": o.extractor_version,
        "_fetch": _add_fetch(w, o.fetch),
        "fetch_entry": o.fetch_entry if o.fetch is not None else None,
        "_page_fetch": _add_fetch(w, o.page_fetch),
        "crawl_run_id": crawl_run_id,
    }
    art.last_revision = row
    w.revisions.append((art, row))
    _schedule(art, b.at)


def _copy(value: Any) -> Any:
    """A revision row's own copy of a list field (authors, tags), the value else."""
    return list(value) if isinstance(value, list) else value


def _schedule(art: _Art, at: datetime) -> None:
    art.next_check_at = next_check_at(at, art.published_at, art.first_seen_at)


def _add_fetch(w: _Writes, fetch: Fetch | None) -> str | None:
    if fetch is None:
        return None
    w.fetches.setdefault(fetch.record_id, fetch)
    return fetch.record_id


def _event(
    kind: str,
    at: datetime,
    reason: str | None,
    detail: dict[str, Any],
    fetch_record_id: str | None,
    crawl_run_id: int | None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "occurred_at": at,
        "reason": reason,
        "detail": detail,
        "_fetch": fetch_record_id,
        "crawl_run_id": crawl_run_id,
    }


def _add_urls(
    b: _Obs,
    art: _Art,
    url_map: dict[str, _Art],
    w: _Writes,
    stats: RecordStats,
    *,
    announce: bool,
    crawl_run_id: int | None,
) -> None:
    seen = not isinstance(b.obs, ArticleGone)
    for url, key in zip(b.urls, b.keys, strict=True):
        owner = url_map.get(url)
        if owner is None:
            url_map[url] = art
            w.urls[url] = (art, key, b.at, b.at)
            if announce:
                stats.urls_added += 1
                w.events.append(
                    (art, _event("url_added", b.at, None, {"url": url}, None, crawl_run_id))
                )
        elif owner is art and seen:
            pending = w.urls.get(url)
            if pending is not None:
                a, k, first, last = pending
                w.urls[url] = (a, k, min(first, b.at), max(last, b.at))
            else:
                w.url_seen[url] = max(w.url_seen.get(url, b.at), b.at)
        # A URL that belongs to another article stays with it.


# --- writing ---------------------------------------------------------------------------


def _write(conn: Connection, w: _Writes, existing: list[_Art], crawl_run_id: int | None) -> None:
    fetch_ids = _write_fetches(conn, w.fetches, crawl_run_id)

    if w.revisions:
        article_ids, revision_ids = _allocate_ids(conn, len(w.new_articles), len(w.revisions))
        for a, i in zip(w.new_articles, article_ids, strict=True):
            a.id = i
        for (art, row), i in zip(w.revisions, revision_ids, strict=True):
            if art.last_revision is row:
                art.current_revision_id = i
        # New articles and all revisions in one statement: articles point at their current
        # revision and revisions at their article, and foreign keys are checked at the end
        # of the statement.
        new_articles = _unnest_insert(
            "articles",
            "a_",
            {
                "id": ("bigint", [a.id for a in w.new_articles]),
                "site_id": ("smallint", [a.site_id for a in w.new_articles]),
                "canonical_url": ("text", [a.canonical_url for a in w.new_articles]),
                "external_id": ("text", [a.external_id for a in w.new_articles]),
                "first_seen_at": ("timestamptz", [a.first_seen_at for a in w.new_articles]),
                **_article_state(w.new_articles),
            },
        )
        revisions = _unnest_insert(
            "article_revisions",
            "r_",
            {
                "id": ("bigint", revision_ids),
                "article_id": ("bigint", [art.id for art, _ in w.revisions]),
                "fetch_id": ("bigint", [fetch_ids.get(r["_fetch"]) for _, r in w.revisions]),
                "page_fetch_id": (
                    "bigint",
                    [fetch_ids.get(r["_page_fetch"]) for _, r in w.revisions],
                ),
                **{
                    col: (pgtype, [r[col] for _, r in w.revisions])
                    for col, pgtype in _REVISION_COLUMNS.items()
                },
            },
        )
        conn.execute(
            text(f"WITH new_articles AS ({new_articles[0]}) {revisions[0]}"),
            {**new_articles[1], **revisions[1]},
        )

    if w.urls:
        sql, params = _unnest_insert(
            "article_urls",
            "",
            {
                "article_id": ("bigint", [a.id for a, _, _, _ in w.urls.values()]),
                "url": ("text", list(w.urls)),
                "url_key": ("text", [k for _, k, _, _ in w.urls.values()]),
                "first_seen_at": ("timestamptz", [f for _, _, f, _ in w.urls.values()]),
                "last_seen_at": ("timestamptz", [last for _, _, _, last in w.urls.values()]),
            },
            overriding=False,
        )
        # Backstop only: key locks already keep two writers off the same URL.
        conn.execute(text(sql + " ON CONFLICT (url) DO NOTHING"), params)

    if w.events:
        sql, params = _unnest_insert(
            "article_events",
            "",
            {
                "article_id": ("bigint", [art.id for art, _ in w.events]),
                "kind": ("text", [e["kind"] for _, e in w.events]),
                "occurred_at": ("timestamptz", [e["occurred_at"] for _, e in w.events]),
                "reason": ("text", [e["reason"] for _, e in w.events]),
                "detail": ("jsonb", [e["detail"] for _, e in w.events]),
                "fetch_id": ("bigint", [fetch_ids.get(e["_fetch"]) for _, e in w.events]),
                "crawl_run_id": ("bigint", [e["crawl_run_id"] for _, e in w.events]),
            },
            overriding=False,
        )
        conn.execute(text(sql), params)

    dirty = [a for a in existing if a.dirty]
    if dirty:
        _update_articles(conn, dirty)
    if w.url_seen:
        ordered = sorted(w.url_seen.items())
        conn.execute(
            text(
                "UPDATE article_urls AS u SET last_seen_at = v.at"
                " FROM unnest(CAST(:url AS text[]), CAST(:at AS timestamptz[])) AS v(url, at)"
                " WHERE u.url = v.url AND u.last_seen_at < v.at"
            ),
            {"url": [u for u, _ in ordered], "at": [t for _, t in ordered]},
        )


# Revision columns taken as they are from the pending row, the revision fields typed as the
# schema declares them; text[] travels as jsonb.
_REVISION_COLUMNS = {
    "revision_no": "int",
    "observed_at": "timestamptz",
    "content_hash": "bytea",
    **{
        name: revisions_t.c[name].type.compile(dialect=postgresql.dialect()).lower()
        for name in REVISION_FIELDS
    },
    "body_html": "text",
    "extractor": "text",
    "extractor_version": "text",
    "fetch_entry": "text",
    "crawl_run_id": "bigint",
}


def _allocate_ids(
    conn: Connection, n_articles: int, n_revisions: int
) -> tuple[list[int], list[int]]:
    """Ids for new rows before inserting them, so one statement can link them all."""
    row = conn.execute(
        text(
            "SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('articles', 'id'))"
            "  FROM generate_series(1, :na)),"
            " ARRAY(SELECT nextval(pg_get_serial_sequence('article_revisions', 'id'))"
            "  FROM generate_series(1, :nr))"
        ),
        {"na": n_articles, "nr": n_revisions},
    ).one()
    return list(row[0]), list(row[1])


def _unnest_insert(
    table: str, prefix: str, cols: dict[str, tuple[str, list[Any]]], *, overriding: bool = True
) -> tuple[str, dict[str, Any]]:
    """``INSERT INTO table ... SELECT ... FROM unnest(arrays)``: one short statement (prepared
    once by psycopg) whatever the number of rows, instead of a huge VALUES list."""
    args, exprs, params = [], [], {}
    for name, (pgtype, values) in cols.items():
        param = prefix + name
        if pgtype in ("text[]", "jsonb"):
            # unnest flattens a 2-D array, so list-valued cells travel as jsonb; the column
            # as one jsonb array, unpacked in order by the server (a jsonb[] parameter is
            # quoted element by element in Python, a backslash before each '"').
            args.append(
                f"ARRAY(SELECT e FROM jsonb_array_elements(CAST(:{param} AS jsonb))"
                " WITH ORDINALITY AS t(e, i) ORDER BY i)"
            )
            params[param] = Jsonb(list(values))
            if pgtype == "text[]":
                exprs.append(f"ARRAY(SELECT jsonb_array_elements_text(v.{name}))")
            else:
                exprs.append(f"v.{name}")
        else:
            args.append(f"CAST(:{param} AS {pgtype}[])")
            params[param] = values
            exprs.append(f"v.{name}")
    sql = (
        f"INSERT INTO {table} ({', '.join(cols)})"
        + (" OVERRIDING SYSTEM VALUE" if overriding else "")
        + f" SELECT {', '.join(exprs)} FROM unnest({', '.join(args)}) AS v({', '.join(cols)})"
    )
    return sql, params


def _article_state(arts: list[_Art]) -> dict[str, tuple[str, list[Any]]]:
    return {
        "last_seen_at": ("timestamptz", [a.last_seen_at for a in arts]),
        "last_checked_at": ("timestamptz", [a.last_checked_at for a in arts]),
        "last_changed_at": ("timestamptz", [a.last_changed_at for a in arts]),
        "next_check_at": ("timestamptz", [a.next_check_at for a in arts]),
        "removed_at": ("timestamptz", [a.removed_at for a in arts]),
        "revision_count": ("int", [a.revision_count for a in arts]),
        "current_revision_id": ("bigint", [a.current_revision_id for a in arts]),
    }


def _write_bodies(conn: Connection, bodies: dict[bytes, bytes]) -> dict[bytes, int]:
    """Each distinct body once (sha256 -> id): existing rows reused, new ones inserted."""
    shas = sorted(bodies)  # sorted: concurrent writers meet on sha256 in one order
    ids = _ids_by(conn, "response_bodies", "sha256", shas, "bytea")
    todo = [s for s in shas if s not in ids]
    if todo:
        zc = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        sql, params = _unnest_insert(
            "response_bodies",
            "",
            {
                "sha256": ("bytea", todo),
                "size": ("int", [len(bodies[s]) for s in todo]),
                "compression": ("text", ["zstd"] * len(todo)),
                "body": ("bytea", [zc.compress(bodies[s]) for s in todo]),
            },
            overriding=False,
        )
        inserted = conn.execute(
            text(sql + " ON CONFLICT (sha256) DO NOTHING RETURNING sha256, id"), params
        )
        ids.update((bytes(sha), i) for sha, i in inserted)
        late = [s for s in todo if s not in ids]
        if late:  # inserted by a concurrent writer between our lookup and insert
            ids.update(_ids_by(conn, "response_bodies", "sha256", late, "bytea"))
    return ids


def _write_fetches(
    conn: Connection, fetches: dict[str, Fetch], crawl_run_id: int | None
) -> dict[str, int]:
    """The batch's fetches (record_id -> id), each one row however many items share it.

    A fetch already stored (by an earlier batch of the same REST response, or a replay)
    is found by its record_id and never written twice."""
    if not fetches:
        return {}
    rids = list(fetches)  # in batch order: ids follow the order of the crawl
    ids = _ids_by(conn, "fetches", "record_id", rids, "uuid")
    todo = [r for r in rids if r not in ids]
    if not todo:
        return ids
    shas = {r: hashlib.sha256(fetches[r].body).digest() for r in todo}
    body_ids = _write_bodies(conn, {shas[r]: fetches[r].body for r in todo})
    rows = [fetches[r] for r in todo]
    sql, params = _unnest_insert(
        "fetches",
        "",
        {
            "record_id": ("uuid", todo),
            "crawl_run_id": ("bigint", [crawl_run_id] * len(todo)),
            "method": ("text", [f.method for f in rows]),
            "requested_url": ("text", [f.requested_url or f.url for f in rows]),
            "url": ("text", [f.url for f in rows]),
            "redirects": ("jsonb", [list(f.redirects) for f in rows]),
            "request_headers": ("jsonb", [dict(f.request_headers) for f in rows]),
            "status": ("smallint", [f.status for f in rows]),
            "response_headers": ("jsonb", [dict(f.headers) for f in rows]),
            "fetched_at": ("timestamptz", [f.fetched_at for f in rows]),
            "protocol": ("text", [f.protocol for f in rows]),
            "ip_address": ("text", [f.ip_address for f in rows]),
            "body_id": ("bigint", [body_ids[shas[r]] for r in todo]),
            "synthetic": ("boolean", [f.synthetic for f in rows]),
        },
        overriding=False,
    )
    inserted = conn.execute(
        text(sql + " ON CONFLICT (record_id) DO NOTHING RETURNING record_id, id"), params
    )
    ids.update((str(rid), i) for rid, i in inserted)
    late = [r for r in todo if r not in ids]
    if late:  # the same fetch, written by a concurrent replay of its batch
        ids.update(_ids_by(conn, "fetches", "record_id", late, "uuid"))
    return ids


def _ids_by(conn: Connection, table: str, column: str, values: list[Any], pgtype: str) -> dict:
    """``{value: id}`` of the rows of ``table`` whose ``column`` is one of ``values``."""
    rows = conn.execute(
        text(f"SELECT {column}, id FROM {table} WHERE {column} = ANY(CAST(:v AS {pgtype}[]))"),
        {"v": values},
    )
    return {bytes(v) if isinstance(v, bytes | memoryview) else str(v): i for v, i in rows}


def _update_articles(conn: Connection, arts: list[_Art]) -> None:
    arts = sorted(arts, key=lambda a: a.id)  # type: ignore[arg-type, return-value]
    cols = {
        "id": ("bigint", [a.id for a in arts]),
        "external_id": ("text", [a.external_id for a in arts]),
        "canonical_url": ("text", [a.canonical_url for a in arts]),
        **_article_state(arts),
    }
    sets = ", ".join(f"{c} = v.{c}" for c in cols if c != "id")
    args = ", ".join(f"CAST(:{c} AS {t}[])" for c, (t, _) in cols.items())
    conn.execute(
        text(
            f"UPDATE articles AS a SET {sets} FROM unnest({args}) AS v({', '.join(cols)})"
            " WHERE a.id = v.id"
        ),
        {c: vals for c, (_, vals) in cols.items()},
    )

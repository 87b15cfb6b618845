"""The archive's schema: typed SQLAlchemy 2 models.

This is the analysts' contract; docs/schema.md documents every table and column and
must change with this file. Only ``crawler.db.revisions`` writes articles, their URLs,
revisions, events, fetches and response bodies.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Text,
    Unicode,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Column kinds used again and again.
bigid = Annotated[int, mapped_column(BigInteger, Identity(always=True), primary_key=True)]
tstz = Annotated[datetime, mapped_column(DateTime(timezone=True))]
tstz_now = Annotated[datetime, mapped_column(DateTime(timezone=True), server_default=func.now())]
text_list = Annotated[list[str], mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))]

# What each status means, and the exit status of the crawl process: docs/crawl-stats.md.
CRAWL_STATUSES = ("running", "finished", "failed", "interrupted", "skipped", "partial", "spooled")
EVENT_KINDS = ("removed", "restored", "url_added", "redirected", "canonical_changed")


class Base(DeclarativeBase):
    metadata = metadata


class Site(Base):
    """An outlet. ``slug`` is the spider's name."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(SmallInteger, Identity(always=True), primary_key=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)  # the outlet's own (Arabic) name
    base_url: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, server_default="ar")
    created_at: Mapped[tstz_now]


class CrawlRun(Base):
    """One ``scrapy crawl`` process: when, how it ended, and what it counted."""

    __tablename__ = "crawl_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CRAWL_STATUSES) + ")",
            name="status",
        ),
        Index(None, "spider", "started_at"),
    )

    id: Mapped[bigid]
    spider: Mapped[str] = mapped_column(Text)
    started_at: Mapped[tstz_now]
    finished_at: Mapped[tstz | None]
    status: Mapped[str] = mapped_column(Text, server_default="running")
    finish_reason: Mapped[str | None] = mapped_column(Text)
    args: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    hostname: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)


class SchedulerJob(Base):
    """APScheduler's job store (``akhbar schedule run``): each job's next run time, so a
    restarted service knows which runs it missed. The layout is APScheduler's own
    ``SQLAlchemyJobStore`` table; only the scheduler writes it."""

    __tablename__ = "scheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class ResponseBody(Base):
    """A response body exactly as a fetch received it, stored once per distinct content."""

    __tablename__ = "response_bodies"

    id: Mapped[bigid]
    sha256: Mapped[bytes] = mapped_column(LargeBinary, unique=True)  # of the uncompressed body
    size: Mapped[int] = mapped_column(Integer)  # uncompressed length in bytes
    compression: Mapped[str] = mapped_column(Text, server_default="zstd")
    body: Mapped[bytes] = mapped_column(LargeBinary)  # compressed with `compression`


class Fetch(Base):
    """One HTTP exchange behind an observation: what was asked, what came back, its body."""

    __tablename__ = "fetches"
    __table_args__ = (Index(None, "body_id"),)

    id: Mapped[bigid]
    # Names the exchange across batches and spool replays; a WARC export's WARC-Record-ID.
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    method: Mapped[str] = mapped_column(Text, server_default="GET")
    requested_url: Mapped[str] = mapped_column(Text)  # the request that got this response
    url: Mapped[str] = mapped_column(Text)  # the response URL
    # Earlier hops, first first: [{"url": ..., "status": ...}]; [] without redirects.
    redirects: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    request_headers: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    status: Mapped[int] = mapped_column(SmallInteger)
    response_headers: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    fetched_at: Mapped[tstz]
    protocol: Mapped[str | None] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(Text)
    body_id: Mapped[int] = mapped_column(ForeignKey("response_bodies.id"))
    # Made up by the archive, never received (REST entries re-serialized before 2026-12).
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Article(Base):
    """One real article, however many URLs and revisions it has."""

    __tablename__ = "articles"
    __table_args__ = (
        # Sites without a stable id are identified by URL only (article_urls).
        Index(
            "uq_articles_site_id_external_id",
            "site_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index(None, "site_id", "next_check_at"),
        Index(None, "canonical_url"),
    )

    id: Mapped[bigid]
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    canonical_url: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[tstz]
    last_seen_at: Mapped[tstz]
    last_checked_at: Mapped[tstz]
    last_changed_at: Mapped[tstz]
    next_check_at: Mapped[tstz | None]
    removed_at: Mapped[tstz | None]
    revision_count: Mapped[int] = mapped_column(Integer, server_default="0")
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("article_revisions.id", use_alter=True)
    )

    site: Mapped[Site] = relationship()
    current_revision: Mapped[ArticleRevision | None] = relationship(
        foreign_keys=[current_revision_id], post_update=True
    )


class ArticleUrl(Base):
    """Every URL an article was seen under, exactly as seen."""

    __tablename__ = "article_urls"
    __table_args__ = (Index(None, "url_key"), Index(None, "article_id"))

    id: Mapped[bigid]
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    url: Mapped[str] = mapped_column(Text, unique=True)
    # The identity form of the URL (crawler.extract.urls.url_key): encodings unified,
    # tracking parameters and fragments dropped. Several raw URLs share one key.
    url_key: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[tstz]
    last_seen_at: Mapped[tstz]


class ArticleRevision(Base):
    """Append-only: one row per distinct content of an article. Never updated or deleted."""

    __tablename__ = "article_revisions"
    __table_args__ = (
        UniqueConstraint("article_id", "revision_no"),
        CheckConstraint("revision_no >= 1", name="revision_no_positive"),
        Index(None, "content_hash"),
        Index(None, "published_at"),
    )

    id: Mapped[bigid]
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    revision_no: Mapped[int] = mapped_column(Integer)
    observed_at: Mapped[tstz]
    content_hash: Mapped[bytes] = mapped_column(LargeBinary)
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[text_list]
    published_at: Mapped[tstz | None]
    modified_at: Mapped[tstz | None]
    section: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[text_list]
    image_url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(Text, server_default="ar")
    extractor: Mapped[str] = mapped_column(Text)
    extractor_version: Mapped[str] = mapped_column(Text)
    fetch_id: Mapped[int | None] = mapped_column(ForeignKey("fetches.id"))
    # JSON pointer to the entry of the fetch's body the fields came from ("/17" in a REST
    # list response); NULL when the body is the article's page.
    fetch_entry: Mapped[str | None] = mapped_column(Text)
    # The article's HTML page fetched with a REST-extracted revision.
    page_fetch_id: Mapped[int | None] = mapped_column(ForeignKey("fetches.id"))
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))

    article: Mapped[Article] = relationship(foreign_keys=[article_id])


class ArticleEvent(Base):
    """What happened to an article besides revisions (removed, restored, URL added...)."""

    __tablename__ = "article_events"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in EVENT_KINDS) + ")", name="kind"),
        Index(None, "article_id", "occurred_at"),
    )

    id: Mapped[bigid]
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    kind: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[tstz]
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    fetch_id: Mapped[int | None] = mapped_column(ForeignKey("fetches.id"))
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))

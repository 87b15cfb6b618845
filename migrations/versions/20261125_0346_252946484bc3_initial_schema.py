"""Initial schema: every table of crawler/db/models.py, and the append-only guard.

Revision ID: 252946484bc3
Revises:
Create Date: 2026-11-25 03:46:32.753059+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "252946484bc3"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Revisions are history: once written, a row is never changed or removed. Enforced in
# the database so no code path (or analyst with a write role) can rewrite the record.
# TRUNCATE is an administrator's whole-table action and is not covered.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION article_revisions_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'article_revisions is append-only: % of revision % refused',
        TG_OP, OLD.id
        USING HINT = 'Record a new revision instead of changing an old one.';
END;
$$
"""

APPEND_ONLY_TRIGGER = """
CREATE TRIGGER article_revisions_append_only
BEFORE UPDATE OR DELETE ON article_revisions
FOR EACH ROW EXECUTE FUNCTION article_revisions_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("spider", sa.Text(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column("finish_reason", sa.Text(), nullable=True),
        sa.Column(
            "args",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "stats",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("hostname", sa.Text(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'failed', 'interrupted', 'skipped')",
            name=op.f("ck_crawl_runs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_runs")),
    )
    op.create_index(
        op.f("ix_crawl_runs_spider_started_at"),
        "crawl_runs",
        ["spider", "started_at"],
        unique=False,
    )
    op.create_table(
        "page_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("compression", sa.Text(), server_default="zstd", nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_snapshots")),
        sa.UniqueConstraint("sha256", name=op.f("uq_page_snapshots_sha256")),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.SmallInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), server_default="ar", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("slug", name=op.f("uq_sites_slug")),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("site_id", sa.SmallInteger(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("current_revision_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_articles_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
    )
    op.create_index(op.f("ix_articles_canonical_url"), "articles", ["canonical_url"], unique=False)
    op.create_index(
        op.f("ix_articles_site_id_next_check_at"),
        "articles",
        ["site_id", "next_check_at"],
        unique=False,
    )
    op.create_index(
        "uq_articles_site_id_external_id",
        "articles",
        ["site_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_table(
        "article_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=True),
        sa.Column("crawl_run_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('removed', 'restored', 'url_added', 'redirected', 'canonical_changed')",
            name=op.f("ck_article_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_events_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_article_events_crawl_run_id_crawl_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["page_snapshots.id"],
            name=op.f("fk_article_events_snapshot_id_page_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_events")),
    )
    op.create_index(
        op.f("ix_article_events_article_id_occurred_at"),
        "article_events",
        ["article_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "article_revisions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("revision_no", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column(
            "authors",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("section", sa.Text(), nullable=True),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), server_default="ar", nullable=False),
        sa.Column("extractor", sa.Text(), nullable=False),
        sa.Column("extractor_version", sa.Text(), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=True),
        sa.Column("crawl_run_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "revision_no >= 1", name=op.f("ck_article_revisions_revision_no_positive")
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_revisions_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_article_revisions_crawl_run_id_crawl_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["page_snapshots.id"],
            name=op.f("fk_article_revisions_snapshot_id_page_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_revisions")),
        sa.UniqueConstraint(
            "article_id", "revision_no", name=op.f("uq_article_revisions_article_id_revision_no")
        ),
    )
    op.create_index(
        op.f("ix_article_revisions_content_hash"),
        "article_revisions",
        ["content_hash"],
        unique=False,
    )
    op.create_index(
        op.f("ix_article_revisions_published_at"),
        "article_revisions",
        ["published_at"],
        unique=False,
    )
    op.create_table(
        "article_urls",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_key", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_urls_article_id_articles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_urls")),
        sa.UniqueConstraint("url", name=op.f("uq_article_urls_url")),
    )
    op.create_index(
        op.f("ix_article_urls_article_id"), "article_urls", ["article_id"], unique=False
    )
    op.create_index(op.f("ix_article_urls_url_key"), "article_urls", ["url_key"], unique=False)
    # articles and article_revisions point at each other: this key comes last.
    op.create_foreign_key(
        op.f("fk_articles_current_revision_id_article_revisions"),
        "articles",
        "article_revisions",
        ["current_revision_id"],
        ["id"],
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER article_revisions_append_only ON article_revisions")
    op.execute("DROP FUNCTION article_revisions_append_only()")
    op.drop_constraint(
        op.f("fk_articles_current_revision_id_article_revisions"), "articles", type_="foreignkey"
    )
    op.drop_index(op.f("ix_article_urls_url_key"), table_name="article_urls")
    op.drop_index(op.f("ix_article_urls_article_id"), table_name="article_urls")
    op.drop_table("article_urls")
    op.drop_index(op.f("ix_article_revisions_published_at"), table_name="article_revisions")
    op.drop_index(op.f("ix_article_revisions_content_hash"), table_name="article_revisions")
    op.drop_table("article_revisions")
    op.drop_index(op.f("ix_article_events_article_id_occurred_at"), table_name="article_events")
    op.drop_table("article_events")
    op.drop_index(
        "uq_articles_site_id_external_id",
        table_name="articles",
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_articles_site_id_next_check_at"), table_name="articles")
    op.drop_index(op.f("ix_articles_canonical_url"), table_name="articles")
    op.drop_table("articles")
    op.drop_table("sites")
    op.drop_table("page_snapshots")
    op.drop_index(op.f("ix_crawl_runs_spider_started_at"), table_name="crawl_runs")
    op.drop_table("crawl_runs")

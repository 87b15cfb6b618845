"""Fetch records apart from bodies: ``fetches`` and ``response_bodies`` replace ``page_snapshots``.

Every old ``page_snapshots`` row becomes the fetch with the same id (so the revisions and
events pointing at it keep their links: ``article_revisions`` is append-only, and renaming
``snapshot_id`` to ``fetch_id`` is DDL, not an UPDATE) and its body the response body with
the same id. Old rows stored under a REST post URL (``/wp-json/wp/v2/posts/<id>``,
``?rest_route=.../wp/v2/posts/<id>``) were re-serialized entries, never received: they are
marked ``synthetic``. What old rows never recorded (method, request headers, redirects,
protocol, address) is left at its default or NULL; their headers, one string per name,
become one-element lists.

The downgrade turns each body back into one snapshot (the first fetch of it gives URL,
status, headers and time) and points revisions and events at it, with the append-only
trigger disabled for that one statement; ``fetch_entry`` and ``page_fetch_id`` have no
place in the old schema and are lost.

Revision ID: 8e3f1a6c2d57
Revises: 5c1d2e7a9b40
Create Date: 2026-12-01 21:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8e3f1a6c2d57"
down_revision: str | Sequence[str] | None = "5c1d2e7a9b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The URLs under which a REST crawl stored re-serialized post entries (as
# crawler.extract.snapshot recognises them).
REST_POST_URL = r"/wp-json/wp/v2/posts/[0-9]+|[?&]rest_route=[^&]*/wp/v2/posts/[0-9]+"


def _jsonb(default: str) -> dict:
    return {
        "type_": postgresql.JSONB(astext_type=sa.Text()),
        "server_default": sa.text(f"'{default}'::jsonb"),
        "nullable": False,
    }


def _identity_restart(table: str) -> None:
    """After rows inserted with their own ids, new ids continue above them."""
    op.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
        f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
    )


def upgrade() -> None:
    op.create_table(
        "response_bodies",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("compression", sa.Text(), server_default="zstd", nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_bodies")),
        sa.UniqueConstraint("sha256", name=op.f("uq_response_bodies_sha256")),
    )
    op.create_table(
        "fetches",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("crawl_run_id", sa.BigInteger(), nullable=True),
        sa.Column("method", sa.Text(), server_default="GET", nullable=False),
        sa.Column("requested_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("redirects", **_jsonb("[]")),
        sa.Column("request_headers", **_jsonb("{}")),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("response_headers", **_jsonb("{}")),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("protocol", sa.Text(), nullable=True),
        sa.Column("ip_address", sa.Text(), nullable=True),
        sa.Column("body_id", sa.BigInteger(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"], ["response_bodies.id"], name=op.f("fk_fetches_body_id_response_bodies")
        ),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"], ["crawl_runs.id"], name=op.f("fk_fetches_crawl_run_id_crawl_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fetches")),
        sa.UniqueConstraint("record_id", name=op.f("uq_fetches_record_id")),
    )
    op.create_index(op.f("ix_fetches_body_id"), "fetches", ["body_id"], unique=False)

    # Old rows, ids kept: snapshot n becomes body n and fetch n.
    op.execute(
        "INSERT INTO response_bodies (id, sha256, size, compression, body)"
        " OVERRIDING SYSTEM VALUE"
        " SELECT id, sha256, size, compression, body FROM page_snapshots"
    )
    op.execute(
        "INSERT INTO fetches (id, record_id, requested_url, url, status, response_headers,"
        " fetched_at, body_id, synthetic) OVERRIDING SYSTEM VALUE"
        " SELECT s.id, gen_random_uuid(), s.url, s.url, s.status,"
        "  coalesce((SELECT jsonb_object_agg(h.key, CASE jsonb_typeof(h.value)"
        "    WHEN 'array' THEN h.value ELSE jsonb_build_array(h.value) END)"
        "   FROM jsonb_each(s.headers) AS h), '{}'::jsonb),"
        f"  s.fetched_at, s.id, s.url ~ '{REST_POST_URL}'"
        " FROM page_snapshots s"
    )
    _identity_restart("response_bodies")
    _identity_restart("fetches")

    for table in ("article_revisions", "article_events"):
        op.drop_constraint(
            op.f(f"fk_{table}_snapshot_id_page_snapshots"), table, type_="foreignkey"
        )
        op.alter_column(table, "snapshot_id", new_column_name="fetch_id")
        op.create_foreign_key(
            op.f(f"fk_{table}_fetch_id_fetches"), table, "fetches", ["fetch_id"], ["id"]
        )
    op.add_column("article_revisions", sa.Column("fetch_entry", sa.Text(), nullable=True))
    op.add_column("article_revisions", sa.Column("page_fetch_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_article_revisions_page_fetch_id_fetches"),
        "article_revisions",
        "fetches",
        ["page_fetch_id"],
        ["id"],
    )
    op.drop_table("page_snapshots")


def downgrade() -> None:
    op.create_table(
        "page_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("headers", **_jsonb("{}")),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("compression", sa.Text(), server_default="zstd", nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_snapshots")),
        sa.UniqueConstraint("sha256", name=op.f("uq_page_snapshots_sha256")),
    )
    # One snapshot per body, described by the first fetch that received it.
    op.execute(
        "INSERT INTO page_snapshots (id, url, status, headers, fetched_at, body, compression,"
        " size, sha256) OVERRIDING SYSTEM VALUE"
        " SELECT b.id, f.url, f.status,"
        "  coalesce((SELECT jsonb_object_agg(h.key, (SELECT string_agg(v, ', ')"
        "    FROM jsonb_array_elements_text(h.value) AS v))"
        "   FROM jsonb_each(f.response_headers) AS h), '{}'::jsonb),"
        "  f.fetched_at, b.body, b.compression, b.size, b.sha256"
        " FROM response_bodies b CROSS JOIN LATERAL (SELECT * FROM fetches"
        "  WHERE body_id = b.id ORDER BY fetched_at, id LIMIT 1) AS f"
    )
    _identity_restart("page_snapshots")
    op.drop_constraint(
        op.f("fk_article_revisions_page_fetch_id_fetches"), "article_revisions", type_="foreignkey"
    )
    op.drop_column("article_revisions", "page_fetch_id")
    op.drop_column("article_revisions", "fetch_entry")
    # Fetch ids become snapshot (= body) ids. The only rewrite of revisions ever made, by
    # the schema owner, inside this migration's transaction.
    op.execute("ALTER TABLE article_revisions DISABLE TRIGGER article_revisions_append_only")
    for table in ("article_revisions", "article_events"):
        op.drop_constraint(op.f(f"fk_{table}_fetch_id_fetches"), table, type_="foreignkey")
        op.execute(
            f"UPDATE {table} AS t SET fetch_id = f.body_id FROM fetches f WHERE f.id = t.fetch_id"
        )
        op.alter_column(table, "fetch_id", new_column_name="snapshot_id")
        op.create_foreign_key(
            op.f(f"fk_{table}_snapshot_id_page_snapshots"),
            table,
            "page_snapshots",
            ["snapshot_id"],
            ["id"],
        )
    op.execute("ALTER TABLE article_revisions ENABLE TRIGGER article_revisions_append_only")
    op.drop_index(op.f("ix_fetches_body_id"), table_name="fetches")
    op.drop_table("fetches")
    op.drop_table("response_bodies")

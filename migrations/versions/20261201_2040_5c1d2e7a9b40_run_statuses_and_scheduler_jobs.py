"""Run statuses ``partial`` and ``spooled``; the scheduler's job store.

Revision ID: 5c1d2e7a9b40
Revises: 252946484bc3
Create Date: 2026-12-01 20:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1d2e7a9b40"
down_revision: str | Sequence[str] | None = "252946484bc3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("running", "finished", "failed", "interrupted", "skipped")
NEW_STATUSES = (*OLD_STATUSES, "partial", "spooled")


def _status_check(statuses: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_crawl_runs_status"), "crawl_runs", type_="check")
    op.create_check_constraint(
        op.f("ck_crawl_runs_status"),
        "crawl_runs",
        "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")",
    )


def upgrade() -> None:
    _status_check(NEW_STATUSES)
    op.create_table(
        "scheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_jobs")),
    )
    op.create_index(op.f("ix_scheduler_jobs_next_run_time"), "scheduler_jobs", ["next_run_time"])


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduler_jobs_next_run_time"), table_name="scheduler_jobs")
    op.drop_table("scheduler_jobs")
    # Runs with the new statuses would violate the old constraint.
    op.execute("UPDATE crawl_runs SET status = 'failed' WHERE status IN ('partial', 'spooled')")
    _status_check(OLD_STATUSES)

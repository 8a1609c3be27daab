"""job runs (reconcile, key cleanup, backup) and the key cleanup's exemptions

Revision ID: 0006_job_runs
Revises: 0005_usage
Create Date: 2026-12-04 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_job_runs"
down_revision: str | Sequence[str] | None = "0005_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="running", nullable=False),
        sa.Column(
            "counts", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("triggered_by", sa.String(length=255), nullable=False),
        sa.Column("triggered_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name=op.f("ck_job_runs_status")),
        sa.ForeignKeyConstraint(
            ["triggered_by_id"], ["users.id"], name=op.f("fk_job_runs_triggered_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index("ix_job_runs_job_started_at", "job_runs", ["job", "started_at"], unique=False)
    op.create_table(
        "key_cleanup_exemptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("key_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("(user_id IS NULL) <> (key_id IS NULL)", name=op.f("ck_key_cleanup_exemptions_one_target")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_key_cleanup_exemptions_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_key_cleanup_exemptions_key_id_api_keys"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_key_cleanup_exemptions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_cleanup_exemptions")),
    )
    op.create_index("uq_key_cleanup_exemptions_user_id", "key_cleanup_exemptions", ["user_id"], unique=True)
    op.create_index("uq_key_cleanup_exemptions_key_id", "key_cleanup_exemptions", ["key_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_key_cleanup_exemptions_key_id", table_name="key_cleanup_exemptions")
    op.drop_index("uq_key_cleanup_exemptions_user_id", table_name="key_cleanup_exemptions")
    op.drop_table("key_cleanup_exemptions")
    op.drop_index("ix_job_runs_job_started_at", table_name="job_runs")
    op.drop_table("job_runs")

"""usage cache: daily usage rows copied from LiteLLM and the state of each cached day

Revision ID: 0005_usage
Revises: 0004_playground_keys
Create Date: 2026-12-04 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_usage"
down_revision: str | Sequence[str] | None = "0004_playground_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=128), nullable=False),
        sa.Column("litellm_user_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("key_id", sa.Uuid(), nullable=True),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("successful_requests", sa.BigInteger(), nullable=False),
        sa.Column("failed_requests", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("spend", sa.Float(), nullable=False),
        sa.Column("response_time_ms", sa.BigInteger(), nullable=False),
        sa.Column("timed_requests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "token_hash", "model", "provider", "endpoint", "litellm_user_id", name=op.f("pk_usage_daily")
        ),
    )
    op.create_index("ix_usage_daily_user_id_day", "usage_daily", ["user_id", "day"], unique=False)
    op.create_index("ix_usage_daily_key_id_day", "usage_daily", ["key_id", "day"], unique=False)
    op.create_index(
        "ix_usage_daily_unattributed",
        "usage_daily",
        ["token_hash"],
        unique=False,
        postgresql_where=sa.text("key_id IS NULL"),
    )
    op.create_table(
        "usage_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("rows", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("fetches", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), server_default="", nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_usage_days")),
    )


def downgrade() -> None:
    op.drop_table("usage_days")
    op.drop_index("ix_usage_daily_unattributed", table_name="usage_daily")
    op.drop_index("ix_usage_daily_key_id_day", table_name="usage_daily")
    op.drop_index("ix_usage_daily_user_id_day", table_name="usage_daily")
    op.drop_table("usage_daily")

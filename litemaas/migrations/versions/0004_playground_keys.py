"""playground keys: an api_keys row per user that only the backend uses (purpose = 'playground')

Revision ID: 0004_playground_keys
Revises: 0003_revoked_sessions
Create Date: 2026-12-04 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_playground_keys"
down_revision: str | Sequence[str] | None = "0003_revoked_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("purpose", sa.String(length=16), server_default="user", nullable=False))
    op.create_check_constraint(op.f("ck_api_keys_purpose"), "api_keys", "purpose IN ('user', 'playground')")
    op.create_index(
        "uq_api_keys_user_id_playground_active",
        "api_keys",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active' AND purpose = 'playground'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_api_keys_user_id_playground_active",
        table_name="api_keys",
        postgresql_where=sa.text("status = 'active' AND purpose = 'playground'"),
    )
    op.drop_constraint(op.f("ck_api_keys_purpose"), "api_keys", type_="check")
    op.drop_column("api_keys", "purpose")

"""users: trigram indexes for the admin list's substring search, and filter + order indexes

Revision ID: 0007_users_indexes
Revises: 0006_job_runs
Create Date: 2026-12-04 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_users_indexes"
down_revision: str | Sequence[str] | None = "0006_job_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One trigram index over the three searched columns: PostgreSQL uses it for the list's
# substring search (a bitmap scan), where three per-column indexes ORed lose to a full scan.
_SEARCH_TEXT = "lower(username || ' ' || coalesce(email, '') || ' ' || coalesce(display_name, ''))"


def upgrade() -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # fastupdate off: new users (a login at a time) go straight into the index, so no pending list
    # makes the planner fall back to a full scan between vacuums.
    op.execute(
        f"CREATE INDEX ix_users_search_trgm ON users USING gin (({_SEARCH_TEXT}) gin_trgm_ops) WITH (fastupdate = off)"
    )
    op.create_index("ix_users_role_username", "users", ["role", "username"])
    op.create_index("ix_users_identity_provider_username", "users", ["identity_provider", "username"])


def downgrade() -> None:
    op.drop_index("ix_users_identity_provider_username", table_name="users")
    op.drop_index("ix_users_role_username", table_name="users")
    op.drop_index("ix_users_search_trgm", table_name="users")

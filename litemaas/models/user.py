"""A person who has logged in at least once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from litemaas.db import Base, TimestampMixin, UUIDPk

ROLE_VALUES = "('user', 'admin_readonly', 'admin')"
# What the admin list's search matches (lower case), exactly as ix_users_search_trgm indexes it.
SEARCH_TEXT = "lower(username || ' ' || coalesce(email, '') || ' ' || coalesce(display_name, ''))"
# Indexes a migration creates that SQLAlchemy cannot declare (expression + operator class);
# the models-vs-migrations check leaves exactly these out.
MIGRATION_ONLY_INDEXES = frozenset({"ix_users_search_trgm"})


class User(UUIDPk, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("identity_provider", "subject"),
        CheckConstraint(f"role IN {ROLE_VALUES}", name="role"),
        CheckConstraint(f"group_role IS NULL OR group_role IN {ROLE_VALUES}", name="group_role"),
        CheckConstraint(f"manual_role IS NULL OR manual_role IN {ROLE_VALUES}", name="manual_role"),
        # The admin list's substring search uses the trigram index ix_users_search_trgm on
        # SEARCH_TEXT (an expression index: created by migration 0007, listed in MIGRATION_ONLY_INDEXES).
        Index("ix_users_role_username", "role", "username"),
        Index("ix_users_identity_provider_username", "identity_provider", "username"),
    )

    username: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    # Which login created the user ("openshift", "oidc", "dev") and its stable subject id there.
    identity_provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    groups: Mapped[list[str]] = mapped_column(ARRAY(String(255)), default=list, server_default=text("'{}'"))
    # Effective role = the highest of group_role (follows the IdP groups at each login)
    # and manual_role (granted by an admin or the CLI, kept until revoked).
    role: Mapped[str] = mapped_column(String(32), default="user", server_default="user")
    group_role: Mapped[str | None] = mapped_column(String(32))
    manual_role: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    deactivated_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # When LiteLLM last confirmed it has this user (/user/new); NULL = retry at next login.
    litellm_synced_at: Mapped[datetime | None]

"""branding (texts and images) and banners (with per-user dismissals)

Revision ID: 0008_branding_banners
Revises: 0007_users_indexes
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_branding_banners"
down_revision: str | Sequence[str] | None = "0007_users_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "branding",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("subtitle", sa.String(length=500), nullable=True),
        sa.Column("footer_text", sa.String(length=500), nullable=True),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("id = 1", name=op.f("ck_branding_single_row")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_branding_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branding")),
    )
    op.create_table(
        "branding_images",
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("slot IN ('login_logo', 'logo_light', 'logo_dark')", name=op.f("ck_branding_images_slot")),
        sa.CheckConstraint(
            "content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml')",
            name=op.f("ck_branding_images_content_type"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_branding_images_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_branding_images")),
    )
    op.create_table(
        "banners",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("message_format", sa.String(length=16), server_default="text", nullable=False),
        sa.Column("severity", sa.String(length=16), server_default="info", nullable=False),
        sa.Column("link_url", sa.String(length=2048), nullable=True),
        sa.Column("link_text", sa.String(length=200), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("target_roles", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("dismissible", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("severity IN ('info', 'warning', 'danger', 'success')", name=op.f("ck_banners_severity")),
        sa.CheckConstraint("message_format IN ('text', 'markdown')", name=op.f("ck_banners_message_format")),
        sa.CheckConstraint(
            "starts_at IS NULL OR ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_banners_window")
        ),
        sa.CheckConstraint("cardinality(target_roles) > 0", name=op.f("ck_banners_target_roles")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_banners_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banners")),
    )
    op.create_index("ix_banners_position", "banners", ["position"], unique=False)
    op.create_table(
        "banner_dismissals",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("banner_id", sa.Uuid(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_banner_dismissals_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["banner_id"], ["banners.id"], name=op.f("fk_banner_dismissals_banner_id_banners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "banner_id", name=op.f("pk_banner_dismissals")),
    )


def downgrade() -> None:
    op.drop_table("banner_dismissals")
    op.drop_index("ix_banners_position", table_name="banners")
    op.drop_table("banners")
    op.drop_table("branding_images")
    op.drop_table("branding")

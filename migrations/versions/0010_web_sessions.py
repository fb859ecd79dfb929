"""web_sessions: server-side sessions of the web app at /

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from taskhub.migration_columns import (
    cascade_fk,
    create_indexes,
    drop_indexes,
    primary_key,
    timestamp,
    uuid_column,
)

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        uuid_column(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        uuid_column("user_id"),
        sa.Column("csrf_secret", sa.String(length=64), nullable=False),
        timestamp("created_at"),
        timestamp("expires_at"),
        timestamp("last_seen_at"),
        cascade_fk("web_sessions", "user_id", "users"),
        primary_key("web_sessions"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    create_indexes(
        "web_sessions",
        ("ix_web_sessions_expires_at", ["expires_at"]),
        ("ix_web_sessions_user_id", ["user_id"]),
    )


def downgrade() -> None:
    drop_indexes("web_sessions", "ix_web_sessions_user_id", "ix_web_sessions_expires_at")
    op.drop_table("web_sessions")

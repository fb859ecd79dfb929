"""personal tokens and idempotency keys

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01 16:32:12.181052
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

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        uuid_column(),
        sa.Column("caller", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("lease", sa.String(length=32), nullable=False),
        timestamp("lease_until"),
        timestamp("created_at"),
        timestamp("expires_at"),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        primary_key("idempotency_keys"),
        sa.UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),
    )
    create_indexes("idempotency_keys", ("ix_idempotency_keys_expires_at", ["expires_at"]))

    op.create_table(
        "personal_tokens",
        uuid_column(),
        uuid_column("user_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=20), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        timestamp("created_at"),
        timestamp("expires_at", nullable=True),
        timestamp("last_used_at", nullable=True),
        cascade_fk("personal_tokens", "user_id", "users"),
        primary_key("personal_tokens"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_personal_tokens_token_hash")),
    )
    create_indexes("personal_tokens", ("ix_personal_tokens_user_id", ["user_id"]))


def downgrade() -> None:
    drop_indexes("personal_tokens", "ix_personal_tokens_user_id")
    op.drop_table("personal_tokens")
    drop_indexes("idempotency_keys", "ix_idempotency_keys_expires_at")
    op.drop_table("idempotency_keys")

"""imports

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from taskhub.migration_columns import (
    cascade_fk,
    create_indexes,
    drop_indexes,
    primary_key,
    timestamp,
    uuid_column,
)

revision: str = "0009"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(name: str) -> sa.Column[object]:
    # JSON everywhere, JSONB on PostgreSQL (as the models declare it).
    return sa.Column(
        name,
        sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
        nullable=False,
    )


def _state(name: str, enum_name: str, *values: str) -> sa.Column[object]:
    # Enums stored as bounded strings (native_enum=False), so SQLite and PostgreSQL agree.
    return sa.Column(
        name, sa.Enum(*values, name=enum_name, native_enum=False, length=16), nullable=False
    )


def _count(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "import_keys",
        uuid_column("user_id"),
        sa.Column("key", sa.String(length=64), nullable=False),
        uuid_column("target_id", nullable=True),
        timestamp("created_at"),
        cascade_fk("import_keys", "user_id", "users"),
        primary_key("import_keys", "user_id", "key"),
    )
    op.create_table(
        "imports",
        uuid_column(),
        uuid_column("owner_id"),
        _state("format", "import_format", "json", "csv", "todoist"),
        _state("status", "import_status", "queued", "running", "done"),
        sa.Column("size", sa.BigInteger(), nullable=False),
        *(_count(name) for name in ("total", "processed", "created", "skipped", "failed")),
        _json("errors"),
        _count("cursor"),
        timestamp("created_at"),
        timestamp("updated_at"),
        timestamp("finished_at", nullable=True),
        cascade_fk("imports", "owner_id", "users"),
        primary_key("imports"),
    )
    create_indexes("imports", ("ix_imports_owner_id", ["owner_id"]))

    op.create_table(
        "import_rows",
        uuid_column("import_id"),
        _count("seq"),
        _count("line"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("parent_ref", sa.String(length=64), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        _json("data"),
        _state("state", "import_row_state", "pending", "applied", "failed"),
        uuid_column("target_id", nullable=True),
        cascade_fk("import_rows", "import_id", "imports"),
        primary_key("import_rows", "import_id", "seq"),
    )
    create_indexes("import_rows", ("ix_import_rows_import_id_ref", ["import_id", "ref"]))


def downgrade() -> None:
    drop_indexes("import_rows", "ix_import_rows_import_id_ref")
    op.drop_table("import_rows")
    drop_indexes("imports", "ix_imports_owner_id")
    op.drop_table("imports")
    op.drop_table("import_keys")

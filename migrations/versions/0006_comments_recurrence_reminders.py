"""comments, recurrence and reminders

Revision ID: 0006
Revises: 0009
Create Date: 2026-12-01 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import taskhub.db

revision: str = "0006"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch "recreate" of `tasks`: SQLite's full-text index
    # (0004) is keyed by the rows' rowids, which a rebuilt table would not keep.
    op.add_column("tasks", sa.Column("recurrence", sa.String(length=500), nullable=True))
    op.add_column(
        "tasks", sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
    )
    op.add_column(
        "tasks", sa.Column("remind_at", taskhub.db.UTCDateTime(timezone=True), nullable=True)
    )

    op.create_table(
        "comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", taskhub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", taskhub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_comments_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            "ix_comments_task_id_created_at", ["task_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "task_reminders",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("remind_at", taskhub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fired_at", taskhub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_reminders_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "remind_at", name=op.f("pk_task_reminders")),
    )


def downgrade() -> None:
    op.drop_table("task_reminders")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_task_id_created_at")
        batch_op.drop_index(batch_op.f("ix_comments_author_id"))
    op.drop_table("comments")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), for the same reason as above.
    for column in ("remind_at", "timezone", "recurrence"):
        op.drop_column("tasks", column)

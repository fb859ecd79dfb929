"""task embeddings: pgvector on PostgreSQL (when available), sqlite-vec on SQLite

Revision ID: 0005
Revises: 0006
Create Date: 2026-12-01 17:00:00

Where semantic search (SPEC §7) keeps one vector per task, and what it was computed from
(model name, dimension, content hash), so a job re-embeds only a changed text and a model
change is detected instead of mixing vectors of two models.

PostgreSQL: `task_embeddings` with a `vector(384)` column and an HNSW cosine index,
created only when the server offers the `vector` extension (`pg_available_extensions`).
Without it nothing is created and the server runs with semantic search off (one warning
at start; text search works). Rows go with their task (ON DELETE CASCADE); visibility is
a join on `tasks` inside the KNN query.

SQLite: a plain bookkeeping table `task_embeddings` (model, dimension, hash), and, when
this Python can load sqlite-vec, the `task_vectors` vec0 table whose metadata columns
(`scope`: `u:<owner>` for an inbox task, `p:<project>` for a project task; `done`) let the
KNN query apply visibility itself. Triggers on `tasks` keep that metadata in step with
every write (a task moved or completed) and delete the vector with its task, whichever
code path makes the change. Caveat: every connection that deletes or moves tasks must
have sqlite-vec loaded (taskhub's engines and migrations load it).

These objects are outside the models (neither type exists on the other backend);
migrations/env.py keeps autogenerate from reporting them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSION = 384  # all-MiniLM-L6-v2; a model of another size rebuilds the vector column

POSTGRESQL_UP = (
    "CREATE EXTENSION IF NOT EXISTS vector",
    f"""
    CREATE TABLE task_embeddings (
        task_id uuid PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
        model text NOT NULL,
        dimension integer NOT NULL,
        content_hash text NOT NULL,
        embedding vector({DIMENSION}) NOT NULL
    )
    """,
    "CREATE INDEX ix_task_embeddings_hnsw ON task_embeddings "
    "USING hnsw (embedding vector_cosine_ops)",
)
POSTGRESQL_DOWN = ("DROP TABLE IF EXISTS task_embeddings",)

SQLITE_BOOKKEEPING = """
    CREATE TABLE task_embeddings (
        task_id CHAR(32) NOT NULL PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        dimension INTEGER NOT NULL,
        content_hash TEXT NOT NULL
    )
"""
SQLITE_VECTORS = (
    f"""
    CREATE VIRTUAL TABLE task_vectors USING vec0(
        task_id text primary key,
        embedding float[{DIMENSION}] distance_metric=cosine,
        scope text,
        done integer
    )
    """,
    """
    CREATE TRIGGER task_vectors_place AFTER UPDATE OF project_id, owner_id, done ON tasks
    BEGIN
        UPDATE task_vectors
        SET scope = CASE WHEN new.project_id IS NULL THEN 'u:' || new.owner_id
                         ELSE 'p:' || new.project_id END,
            done = new.done
        WHERE task_id = new.id;
    END
    """,
    """
    CREATE TRIGGER task_vectors_delete AFTER DELETE ON tasks BEGIN
        DELETE FROM task_vectors WHERE task_id = old.id;
    END
    """,
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS task_vectors_delete",
    "DROP TRIGGER IF EXISTS task_vectors_place",
    "DROP TABLE IF EXISTS task_vectors",
    "DROP TABLE IF EXISTS task_embeddings",
)


def _sqlite_vec_loaded() -> bool:
    try:
        op.get_bind().exec_driver_sql("SELECT vec_version()")
    except sa.exc.OperationalError:
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        offered = bind.exec_driver_sql(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
        ).first()
        statements: Sequence[str] = POSTGRESQL_UP if offered else ()
    else:
        statements = (SQLITE_BOOKKEEPING, *(SQLITE_VECTORS if _sqlite_vec_loaded() else ()))
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_DOWN
    for statement in statements:
        op.execute(statement)

"""search full-text: an FTS5 index on SQLite, a GIN-indexed tsvector on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:30:00

`q` (SPEC §4, §7) is a word match on title and description. Both databases split text
the same way, so one query finds the same tasks on either:

* a word is a run of Unicode letters and digits; everything else separates words
  ("milk, eggs" -> milk | eggs, "snake_case" -> snake | case, "bob@x.org" -> bob | x | org);
* words compare case-folded for all of Unicode ("ÉTÉ" finds "été"), and nothing more:
  no stemming, no stop words, accents kept ("ete" does not find "été").

SQLite: an external-content FTS5 table over `tasks(title, description)` with the
`unicode61 remove_diacritics 0` tokenizer. External content: the text is stored once, in
`tasks`; the index is keyed by the task row's rowid. Triggers keep it in step with every
write to `tasks`, whichever code path makes it (requests, jobs, the admin, cascades).
Diacritics are kept because PostgreSQL's `simple` configuration keeps them and the
`unaccent` extension is not available everywhere; the two backends must agree.
Caveat for later migrations: `tasks` has no INTEGER PRIMARY KEY, so its rowids are only
stable while the table is not rebuilt. A migration that recreates `tasks` (Alembic batch
mode "recreate", or VACUUM on an old SQLite) must re-create these triggers and run
`INSERT INTO tasks_fts(tasks_fts) VALUES ('rebuild')`.

PostgreSQL: a stored generated column `tasks.search_vector` (tsvector) with a GIN index.
Config `simple`: it lower-cases and nothing else. `english` would stem what people type
("running" -> "run", "news" -> "new") and drop stop words ("to do", "the who"), which
makes a search for a short title find nothing or the wrong thing, and assumes every
user writes English. Non-alphanumerics become spaces before parsing so that the default
parser's e-mail, URL, file path and decimal tokens ("bob@x.org", "3.5") are split into
words exactly as FTS5 splits them. The title is weighted A and the description B for
ranking (ts_rank_cd). Case-folding follows the database's LC_CTYPE: a UTF-8 locale
(C.UTF-8, en_US.UTF-8, ...) folds all of Unicode; the bare "C" locale folds only ASCII.

Stored rather than an index on the expression, measured at 100,000 tasks for the user
and 1,000,000 in all: ranking the 19,000 matches of a common word took 100 ms instead of
370 ms (ts_rank_cd reads the vector instead of re-parsing the text), and a list that
walks the user's tasks in date order, testing each, took 130 ms instead of 680-880 ms
(the plan PostgreSQL falls back to for a word the user never wrote, or under a generic
prepared-statement plan). The price: about 45% more heap for short tasks, and the
column is computed on each write. The column is not in the models (SQLite has no such
type); migrations/env.py keeps autogenerate from reporting it. Adding it rewrites the
table under an exclusive lock: about a minute per million tasks on a small machine.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = (
    """
    CREATE VIRTUAL TABLE tasks_fts USING fts5(
        title, description,
        content='tasks', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 0'
    )
    """,
    """
    CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
        INSERT INTO tasks_fts(rowid, title, description)
        VALUES (new.rowid, new.title, new.description);
    END
    """,
    # External content: FTS5 removes a row's words only when told the exact old text.
    """
    CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
        INSERT INTO tasks_fts(tasks_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
    END
    """,
    # Only when the text changes: completing or moving a task does not touch the index.
    """
    CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description ON tasks BEGIN
        INSERT INTO tasks_fts(tasks_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
        INSERT INTO tasks_fts(rowid, title, description)
        VALUES (new.rowid, new.title, new.description);
    END
    """,
    "INSERT INTO tasks_fts(tasks_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS tasks_fts_update",
    "DROP TRIGGER IF EXISTS tasks_fts_delete",
    "DROP TRIGGER IF EXISTS tasks_fts_insert",
    "DROP TABLE IF EXISTS tasks_fts",
)

POSTGRESQL_UP = (
    r"""
    ALTER TABLE tasks ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig,
                              regexp_replace(title, '[^[:alnum:]]+', ' ', 'g')), 'A')
        || setweight(to_tsvector('simple'::regconfig,
                                 regexp_replace(description, '[^[:alnum:]]+', ' ', 'g')), 'B')
    ) STORED
    """,
    "CREATE INDEX ix_tasks_search ON tasks USING gin (search_vector)",
)
POSTGRESQL_DOWN = (
    "DROP INDEX IF EXISTS ix_tasks_search",
    "ALTER TABLE tasks DROP COLUMN IF EXISTS search_vector",
)


def upgrade() -> None:
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_DOWN
    for statement in statements:
        op.execute(statement)

"""search full-text: an FTS5 index on SQLite, a GIN-indexed tsvector on PostgreSQL

Revision ID: 0004
Revises: 0002
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

PostgreSQL: a GIN index on the expression `tasks_search_vector(title, description)`, an
IMMUTABLE SQL function defined here, so the query and the index name the very same
expression (the application calls the function; it never repeats its body). Config
`simple`: it lower-cases and nothing else. `english` would stem what people type
("running" -> "run", "news" -> "new") and drop stop words ("to do", "the who"), which
makes a search for a short title find nothing or the wrong thing, and assumes every
user writes English. Non-alphanumerics become spaces before parsing so that the default
parser's e-mail, URL, file path and decimal tokens ("bob@x.org", "3.5") are split into
words exactly as FTS5 splits them. The title is weighted A and the description B for
ranking (ts_rank_cd). Case-folding follows the database's LC_CTYPE: a UTF-8 locale
(C.UTF-8, en_US.UTF-8, ...) folds all of Unicode; the bare "C" locale folds only ASCII.
No stored column: the index holds the lexemes, rows stay as they were, and `tasks` is
written no more than before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
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
    CREATE FUNCTION tasks_search_vector(title text, description text)
    RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT setweight(to_tsvector('simple'::regconfig,
                                     regexp_replace(title, '[^[:alnum:]]+', ' ', 'g')), 'A')
            || setweight(to_tsvector('simple'::regconfig,
                                     regexp_replace(description, '[^[:alnum:]]+', ' ', 'g')), 'B')
    $$
    """,
    "CREATE INDEX ix_tasks_search ON tasks USING gin (tasks_search_vector(title, description))",
)
POSTGRESQL_DOWN = (
    "DROP INDEX IF EXISTS ix_tasks_search",
    "DROP FUNCTION IF EXISTS tasks_search_vector(text, text)",
)


def upgrade() -> None:
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_DOWN
    for statement in statements:
        op.execute(statement)

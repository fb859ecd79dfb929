"""Dedupe keys: the same file imported twice creates nothing the second time.

A key is a SHA-256 over the row's normalised content, its parent's key, and how many
identical rows came before it in the file. Counting identical rows instead of using the
line number keeps keys stable when unrelated rows are added or removed, while two
identical rows in one file still make two tasks. The import job stores keys per user.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from dataclasses import replace

import orjson

from taskhub.transfer.records import TaskRow

KEY_VERSION = 1


def normalise(text: str) -> str:
    """NFC, whitespace runs collapsed, trimmed: what the key sees of a text field."""
    return " ".join(unicodedata.normalize("NFC", text).split())


class DedupeKeys:
    """Issues the keys of one file, in file order."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def keyed(self, kind: str, row: TaskRow, parent: TaskRow | None) -> TaskRow:
        """`row` with its key (and its parent's line) filled in."""
        key = self._issue(
            kind,
            normalise(row.title),
            normalise(row.description),
            row.done,
            row.priority,
            row.due_at.isoformat() if row.due_at else None,
            sorted(normalise(label).casefold() for label in row.labels),
            normalise(row.project) if row.project else None,
            parent.key if parent else None,
        )
        return replace(row, key=key, parent_line=parent.line if parent else None)

    def note_key(self, body: str, task: TaskRow) -> str:
        return self._issue("note", normalise(body), task.key)

    def _issue(self, *content: object) -> str:
        digest = hashlib.sha256(orjson.dumps([KEY_VERSION, *content])).hexdigest()
        occurrence = self._seen[digest]
        self._seen[digest] += 1
        return hashlib.sha256(f"{digest}:{occurrence}".encode()).hexdigest()

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
from datetime import datetime

import orjson

KEY_VERSION = 1


def normalise(text: str) -> str:
    """NFC, whitespace runs collapsed, trimmed: what the key sees of a text field."""
    return " ".join(unicodedata.normalize("NFC", text).split())


class DedupeKeys:
    """Issues the keys of one file, in file order."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def key(
        self,
        kind: str,
        *,
        title: str,
        description: str = "",
        done: bool = False,
        priority: int = 0,
        due_at: datetime | None = None,
        labels: tuple[str, ...] = (),
        project: str | None = None,
        parent_key: str | None = None,
    ) -> str:
        content = orjson.dumps(
            [
                KEY_VERSION,
                kind,
                normalise(title),
                normalise(description),
                done,
                priority,
                due_at.isoformat() if due_at else None,
                sorted(normalise(label).casefold() for label in labels),
                normalise(project) if project else None,
                parent_key,
            ]
        )
        digest = hashlib.sha256(content).hexdigest()
        occurrence = self._seen[digest]
        self._seen[digest] += 1
        return hashlib.sha256(f"{digest}:{occurrence}".encode()).hexdigest()

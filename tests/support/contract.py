"""The public shape of resources as SPEC states it, written down once for the tests."""

from __future__ import annotations

# Every field of a Task in an answer (SPEC §4), nothing more.
_TASK = "id title description done priority due_at labels project_id parent_id position"
_STAMPS = "created_at updated_at completed_at version"
TASK_FIELDS = (*_TASK.split(), *_STAMPS.split())

__all__ = ["TASK_FIELDS"]

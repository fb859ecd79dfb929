"""The public shape of resources as SPEC states it, written down once for the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The import name of the client openapi-python-client generates from the app's schema.
GENERATED_CLIENT_PACKAGE = "taskhub_generated_client"

# Every field of a Task in an answer (SPEC §4), nothing more.
_TASK = "id title description done priority due_at labels project_id parent_id position"
_STAMPS = "created_at updated_at completed_at version"
_SCHEDULE = "recurrence timezone remind_at"  # SPEC §9
TASK_FIELDS = (*_TASK.split(), *_STAMPS.split(), *_SCHEDULE.split())
# Every field of a Comment (SPEC §9).
COMMENT_FIELDS = ("id", "task_id", "author_id", "body", "created_at", "updated_at")


def assert_public_user(body: dict[str, Any], email: str, display_name: str) -> None:
    """A User as SPEC §3 answers it: exactly these fields, an offset on the timestamp."""
    assert set(body) == {"id", "email", "display_name", "created_at"}, body
    assert body["email"] == email
    assert body["display_name"] == display_name
    assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None


__all__ = ["COMMENT_FIELDS", "GENERATED_CLIENT_PACKAGE", "TASK_FIELDS", "assert_public_user"]

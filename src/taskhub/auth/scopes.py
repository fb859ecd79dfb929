"""Which personal-token scope each operation needs: THE table (SPEC §10).

Every authenticated operation is listed here by its `operation_id`, with one of:

- a scope from `SCOPES` (`"tasks:read"`, ...): a token needs it;
- `ANY_SCOPE`: any valid token may call it (e.g. "who am I");
- `SESSION_ONLY`: only a signed-in session (JWT) may call it, never a token
  (minting tokens, changing the password: a leaked token must not grow into an account).

A session (JWT) caller may call everything. An operation missing from this table is
`SESSION_ONLY` (secure by default), and tests/test_scopes.py fails until it is listed
both here and in that test's expected table. The check itself runs in
`taskhub.auth.deps.get_caller`, so a route gets it by taking `CallerDep`.
"""

from __future__ import annotations

from typing import Final

from taskhub.auth.pat_format import SCOPES

ANY_SCOPE: Final = "*"
SESSION_ONLY: Final = ""

TASKS_READ, TASKS_WRITE, PROJECTS_READ, PROJECTS_WRITE, WEBHOOKS = SCOPES

# Keep it sorted by operation_id: concurrent additions then rarely touch the same lines.
OPERATION_SCOPES: Final[dict[str, str]] = {
    # Ask, duplicates and similar only read the caller's tasks (POST carries the text).
    "ask_tasks": TASKS_READ,
    # Export and import span tasks and projects at once: no single scope covers them.
    "create_import": SESSION_ONLY,
    "create_comment": TASKS_WRITE,
    "create_project": PROJECTS_WRITE,
    "create_task": TASKS_WRITE,
    "create_token": SESSION_ONLY,
    "delete_comment": TASKS_WRITE,
    "create_webhook": WEBHOOKS,
    "delete_project": PROJECTS_WRITE,
    "delete_task": TASKS_WRITE,
    "delete_token": SESSION_ONLY,
    "delete_webhook": WEBHOOKS,
    "export_data": SESSION_ONLY,
    "find_duplicates": TASKS_READ,
    "get_import": SESSION_ONLY,
    "get_comment": TASKS_READ,
    "get_me": ANY_SCOPE,
    "get_project": PROJECTS_READ,
    "get_task": TASKS_READ,
    "get_webhook": WEBHOOKS,
    "list_project_members": PROJECTS_READ,
    "list_projects": PROJECTS_READ,
    "list_task_activity": TASKS_READ,
    "list_task_comments": TASKS_READ,
    "list_tasks": TASKS_READ,
    "list_tokens": SESSION_ONLY,
    "list_webhook_deliveries": WEBHOOKS,
    "list_webhooks": WEBHOOKS,
    "put_project_member": PROJECTS_WRITE,
    "remove_project_member": PROJECTS_WRITE,
    "search_tasks": TASKS_READ,
    "update_comment": TASKS_WRITE,
    "similar_tasks": TASKS_READ,
    "stream_events": TASKS_READ,
    "test_webhook": WEBHOOKS,
    "update_project": PROJECTS_WRITE,
    "update_task": TASKS_WRITE,
    "update_webhook": WEBHOOKS,
}


def required_scope(operation_id: str | None) -> str:
    """The scope a token needs for `operation_id`; SESSION_ONLY when undeclared."""
    if operation_id is None:
        return SESSION_ONLY
    return OPERATION_SCOPES.get(operation_id, SESSION_ONLY)


def token_may_call(scopes: frozenset[str], operation_id: str | None) -> bool:
    """Whether a token with `scopes` may call the operation."""
    needed = required_scope(operation_id)
    if needed == SESSION_ONLY:
        return False
    return needed == ANY_SCOPE or needed in scopes

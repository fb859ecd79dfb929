"""Checking responses: every status assert shows the body when it fails."""

from __future__ import annotations

from typing import Any

import httpx

TASKS = "/api/v1/tasks"
PROJECTS = "/api/v1/projects"


def expect(response: httpx.Response, status: int) -> Any:
    """Assert the one status the contract names; return the JSON body (None if empty)."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: expected {status}, "
        f"got {response.status_code}: {response.text}"
    )
    return response.json() if response.content else None


def expect_not_found(response: httpx.Response, what: str = "Task") -> None:
    """The 404 of SPEC: the same body whether the object is missing or another user's."""
    assert expect(response, 404) == {"detail": f"{what} not found"}


def task_url(task: dict[str, Any] | str) -> str:
    return f"{TASKS}/{task if isinstance(task, str) else task['id']}"


def project_url(project: dict[str, Any] | str) -> str:
    return f"{PROJECTS}/{project if isinstance(project, str) else project['id']}"


__all__ = ["PROJECTS", "TASKS", "expect", "expect_not_found", "project_url", "task_url"]

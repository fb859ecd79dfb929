"""Helpers shared by the task tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from taskhub.db import Database
from taskhub.jobs.models import JobStatus, OutboxMessage
from tests.conftest import MakeProject, MakeUser, User

TASKS = "/api/v1/tasks"

MakeSharedProject = Callable[[User, User, str], Awaitable[dict[str, Any]]]


def task_url(task: dict[str, Any] | str) -> str:
    return f"{TASKS}/{task if isinstance(task, str) else task['id']}"


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    return await make_user()


@pytest.fixture
async def bob(make_user: MakeUser) -> User:
    return await make_user()


@pytest.fixture
def shared_project(
    make_project: MakeProject, share: Callable[..., Awaitable[None]]
) -> MakeSharedProject:
    """A project owned by `owner` in which `member` has `role`."""

    async def factory(owner: User, member: User, role: str) -> dict[str, Any]:
        project = await make_project(owner)
        await share(owner, project, member, role)
        return project

    return factory


async def list_all(client: httpx.AsyncClient, user: User, **params: Any) -> list[dict[str, Any]]:
    """Every item of a listing, following cursors."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        response = await client.get(TASKS, params=query, headers=user.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture(autouse=True)
async def _outbox_drained(app: FastAPI) -> AsyncIterator[None]:
    """Let the embedded runner finish the jobs a test queued before tables are emptied.

    The cleanup (DELETE FROM each table, tests/conftest.py) would otherwise race a job
    that holds its outbox row locked and writes task_activity.
    """
    yield
    database: Database = app.state.db
    unfinished = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status.in_((JobStatus.pending, JobStatus.running)))
    )
    for _ in range(250):
        async with database.reader() as session:
            if not await session.scalar(unfinished):
                return
        await asyncio.sleep(0.02)

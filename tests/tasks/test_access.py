"""The task access rule (`taskhub.tasks.access`), as every task read and write applies it.

One rule, several doors: a single GET from the database and from the cache, the
default list (cached first page), a list filtered by project, the activity
sub-resource, PATCH and DELETE. For each way a caller can relate to a task, every
door must give the same answer; a door that disagrees is a second copy of the rule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from taskhub.kv.memory_cache import InMemoryCache
from taskhub.tasks.cache import TaskCache
from tests.support.factories import MakeProject, MakeTask, MakeUser, User
from tests.support.http import TASKS, task_url

Share = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    caller: User
    task: dict[str, Any]


@dataclass(frozen=True)
class Case:
    sees: bool
    writes: bool


class Stage:
    """Builds one relationship between the caller and a task, through the API."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        make_user: MakeUser,
        make_task: MakeTask,
        make_project: MakeProject,
        share: Share,
    ) -> None:
        self.client = client
        self.make_user = make_user
        self.make_task = make_task
        self.make_project = make_project
        self.share = share

    async def warm(self, user: User, task: dict[str, Any]) -> None:
        """Let `user` read the task and their list, so both sit in the cache."""
        got = await self.client.get(task_url(task), headers=user.headers)
        assert got.status_code == 200, got.text
        listed = await self.client.get(TASKS, headers=user.headers)
        assert listed.status_code == 200, listed.text

    async def build(self, relation: str) -> Scene:
        owner, caller = await self.make_user(), await self.make_user()
        if relation == "own inbox":
            return Scene(caller, await self.make_task(caller))
        if relation == "another user's inbox":
            return Scene(caller, await self.make_task(owner))
        project = await self.make_project(owner)
        task = await self.make_task(owner, project_id=project["id"])
        if relation == "not a member":
            return Scene(caller, task)
        role = relation.removeprefix("project ")
        if relation == "removed member":
            role = "editor"
        await self.share(owner, project, caller, role)
        await self.warm(caller, task)
        if relation == "removed member":
            removed = await self.client.delete(
                f"/api/v1/projects/{project['id']}/members/{caller.id}", headers=owner.headers
            )
            assert removed.status_code == 204, removed.text
        return Scene(caller, task)


CASES = {
    "own inbox": Case(sees=True, writes=True),
    "another user's inbox": Case(sees=False, writes=False),
    "project owner": Case(sees=True, writes=True),
    "project editor": Case(sees=True, writes=True),
    "project viewer": Case(sees=True, writes=False),
    "not a member": Case(sees=False, writes=False),
    "removed member": Case(sees=False, writes=False),
}


@pytest.fixture
def stage(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_task: MakeTask,
    make_project: MakeProject,
    share: Share,
) -> Stage:
    return Stage(client, make_user, make_task, make_project, share)


@pytest.mark.parametrize("relation", CASES)
async def test_every_read_applies_the_same_rule(
    client: httpx.AsyncClient, app: FastAPI, stage: Stage, relation: str
) -> None:
    scene = await stage.build(relation)
    task, headers = scene.task, scene.caller.headers
    expected = 200 if CASES[relation].sees else 404

    cached = await client.get(task_url(task), headers=headers)
    app.state.task_cache = TaskCache(InMemoryCache())  # the next GET reads the database
    uncached = await client.get(task_url(task), headers=headers)
    listed = await client.get(TASKS, headers=headers)
    activity = await client.get(f"{task_url(task)}/activity", headers=headers)

    assert cached.status_code == expected, cached.text
    assert uncached.status_code == expected, uncached.text
    assert activity.status_code == expected, activity.text
    assert listed.status_code == 200, listed.text
    listed_ids = {item["id"] for item in listed.json()["items"]}
    assert (task["id"] in listed_ids) is CASES[relation].sees, listed.text
    if task["project_id"] is not None:
        in_project = await client.get(
            TASKS, params={"project_id": task["project_id"]}, headers=headers
        )
        assert in_project.status_code == expected, in_project.text
        if CASES[relation].sees:
            assert [item["id"] for item in in_project.json()["items"]] == [task["id"]]


@pytest.mark.parametrize("relation", CASES)
async def test_every_write_applies_the_same_rule(
    client: httpx.AsyncClient, stage: Stage, relation: str
) -> None:
    scene = await stage.build(relation)
    task, headers = scene.task, scene.caller.headers
    case = CASES[relation]
    expected = (200 if case.writes else 403) if case.sees else 404

    patched = await client.patch(task_url(task), json={"title": "changed"}, headers=headers)
    deleted = await client.delete(task_url(task), headers=headers)

    assert patched.status_code == expected, patched.text
    assert deleted.status_code == (204 if expected == 200 else expected), deleted.text

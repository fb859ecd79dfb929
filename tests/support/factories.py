"""Typed factories: users (registered and logged in), projects, memberships and tasks,
all made through the public HTTP API as a client would."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from tests.support.http import PROJECTS, TASKS, expect

PASSWORD = "correct horse battery"

_emails = itertools.count()


@dataclass
class User:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


def unique_email(stem: str = "user") -> str:
    return f"{stem}{next(_emails)}-{uuid.uuid4().hex[:6]}@example.com"


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Any:
    """The token response (access and refresh token) of a password login."""
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    return expect(response, 200)


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> User:
    email = email or unique_email()
    created = expect(
        await client.post("/api/v1/auth/register", json={"email": email, "password": password}),
        201,
    )
    tokens = await login(client, email, password)
    return User(
        id=created["id"],
        email=email.lower(),
        password=password,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )


@dataclass
class Factories:
    """Everything a test builds its world from, bound to one HTTP client."""

    client: httpx.AsyncClient

    async def user(self, email: str | None = None, password: str = PASSWORD) -> User:
        return await register(self.client, email, password)

    async def project(self, owner: User, name: str = "Project", **fields: Any) -> dict[str, Any]:
        response = await self.client.post(
            PROJECTS, json={"name": name, **fields}, headers=owner.headers
        )
        project: dict[str, Any] = expect(response, 201)
        return project

    async def share(
        self, owner: User, project: dict[str, Any], member: User, role: str
    ) -> dict[str, Any]:
        """Add `member` to `project` (owned by `owner`) with `role`."""
        response = await self.client.put(
            f"{PROJECTS}/{project['id']}/members/{member.id}",
            json={"role": role},
            headers=owner.headers,
        )
        membership: dict[str, Any] = expect(response, 200)
        return membership

    async def unshare(self, by: User, project: dict[str, Any], member: User) -> None:
        """Take `member` out of `project`, as `by` (its owner, or the member leaving)."""
        response = await self.client.delete(
            f"{PROJECTS}/{project['id']}/members/{member.id}", headers=by.headers
        )
        expect(response, 204)

    async def shared_project(self, owner: User, member: User, role: str) -> dict[str, Any]:
        """A project owned by `owner` in which `member` has `role`."""
        project = await self.project(owner)
        await self.share(owner, project, member, role)
        return project

    async def project_task(
        self, owner: User, **fields: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new project of `owner` and a task of theirs in it."""
        project = await self.project(owner)
        return project, await self.task(owner, project_id=project["id"], **fields)

    async def shared_task(
        self, owner: User, member: User, role: str, author: User, **fields: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A project of `owner` shared with `member` as `role`, and a task `author` made in it."""
        project = await self.shared_project(owner, member, role)
        return project, await self.task(author, project_id=project["id"], **fields)

    async def task(self, owner: User, **fields: Any) -> dict[str, Any]:
        fields.setdefault("title", f"task {uuid.uuid4().hex[:8]}")
        task: dict[str, Any] = expect(
            await self.client.post(TASKS, json=fields, headers=owner.headers), 201
        )
        return task


class MakeUser(Protocol):
    async def __call__(self, email: str | None = None, password: str = PASSWORD) -> User: ...


class MakeProject(Protocol):
    async def __call__(
        self, owner: User, name: str = "Project", **fields: Any
    ) -> dict[str, Any]: ...


class Share(Protocol):
    async def __call__(
        self, owner: User, project: dict[str, Any], member: User, role: str
    ) -> dict[str, Any]: ...


class MakeSharedProject(Protocol):
    async def __call__(self, owner: User, member: User, role: str) -> dict[str, Any]: ...


class MakeTask(Protocol):
    async def __call__(self, owner: User, **fields: Any) -> dict[str, Any]: ...


async def list_all(client: httpx.AsyncClient, user: User, **params: Any) -> list[dict[str, Any]]:
    """Every item of the task listing, following cursors."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        page = expect(await client.get(TASKS, params=query, headers=user.headers), 200)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


__all__ = [
    "PASSWORD",
    "Factories",
    "MakeProject",
    "MakeSharedProject",
    "MakeTask",
    "MakeUser",
    "Share",
    "User",
    "list_all",
    "login",
    "register",
    "unique_email",
]

"""The write load, its ledger of outcomes, and the check of the ledger against the server.

Every create carries a unique title (the key) and a body derived from it; half of the
acknowledged creates are then completed with a PATCH (task row + outbox row in one
transaction). Each request ends in exactly one outcome:

- `acked`: a 2xx answer. The write must be present, exactly as sent.
- `rejected`: a definite non-2xx answer. A 4xx write must be absent; a 5xx is
  reported and, like `unknown`, may or may not have been applied.
- `unsent`: the connection was refused, so the request never reached the server: absent.
- `unknown`: the connection broke after the request was sent (the server died). Either
  outcome is allowed, but never a half-written one.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

Kind = Literal["create", "patch", "read"]
Result = Literal["acked", "rejected", "unsent", "unknown"]
REQUEST_TIMEOUT = 15.0
PASSWORD = "fault-injection-password"


@dataclass(frozen=True, slots=True)
class Outcome:
    key: str
    kind: Kind
    result: Result
    status: int | None
    started: float
    ended: float
    error: str = ""
    task_id: str | None = None

    @property
    def latency(self) -> float:
        return self.ended - self.started


def create_body(key: str) -> dict[str, Any]:
    return {
        "title": key,
        "description": f"created {key}",
        "priority": sum(map(ord, key)) % 5,
        "labels": ["faults", key[-12:]],
    }


def patched_fields(key: str) -> dict[str, Any]:
    return {"done": True, "description": f"completed {key}"}


@dataclass
class Ledger:
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, kind: Kind) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    def statuses(self) -> Counter[str]:
        return Counter(
            str(o.status) if o.status is not None else f"{o.result}:{o.error}"
            for o in self.outcomes
        )


async def login(base_url: str) -> dict[str, str]:
    """Register a fresh user and return its Authorization header."""
    email = f"faults-{uuid.uuid4().hex[:10]}@example.com"
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        created = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        created.raise_for_status()
        tokens = await client.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
        tokens.raise_for_status()
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def _send(
    client: httpx.AsyncClient, ledger: Ledger, key: str, kind: Kind, request: httpx.Request
) -> httpx.Response | None:
    started = time.monotonic()
    response: httpx.Response | None = None
    error = ""
    try:
        response = await client.send(request)
    except httpx.ConnectError as exc:
        result: Result = "unsent"
        error = type(exc).__name__
    except httpx.TransportError as exc:  # includes timeouts: reported, never ignored
        result, error = "unknown", type(exc).__name__
    else:
        result = "acked" if response.is_success else "rejected"
    task_id = None
    if response is not None and response.is_success and kind == "create":
        task_id = response.json()["id"]
    ledger.outcomes.append(
        Outcome(
            key=key,
            kind=kind,
            result=result,
            status=response.status_code if response is not None else None,
            started=started,
            ended=time.monotonic(),
            error=error,
            task_id=task_id,
        )
    )
    return response


Step = Callable[[httpx.AsyncClient, int], Awaitable[bool]]


async def _until_stopped(base_url: str, stop: asyncio.Event, step: Step) -> None:
    """Run `step(client, n)` for n = 1, 2, ... until `stop`. A step returns False when the
    server did not answer; the loop then pauses a moment instead of spinning."""
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        n = 0
        while not stop.is_set():
            n += 1
            if not await step(client, n):
                await asyncio.sleep(0.02)


async def writer(
    base_url: str, headers: dict[str, str], ledger: Ledger, worker: int, stop: asyncio.Event
) -> None:
    """Create tasks with unique keys until `stop`; complete every other acknowledged one."""

    async def create(client: httpx.AsyncClient, n: int) -> bool:
        key = f"fault-{ledger.run}-w{worker:02d}-{n:05d}"
        request = client.build_request(
            "POST", "/api/v1/tasks", json=create_body(key), headers=headers
        )
        response = await _send(client, ledger, key, "create", request)
        if response is None:
            return False
        if n % 2 == 0 and response.is_success and not stop.is_set():
            patch = client.build_request(
                "PATCH",
                f"/api/v1/tasks/{response.json()['id']}",
                json=patched_fields(key),
                headers={**headers, "If-Match": '"1"'},
            )
            await _send(client, ledger, key, "patch", patch)
        return True

    await _until_stopped(base_url, stop, create)


async def reader(
    base_url: str, headers: dict[str, str], ledger: Ledger, worker: int, stop: asyncio.Event
) -> None:
    """List the newest tasks until `stop` (read traffic; outcomes are recorded too)."""

    async def read(client: httpx.AsyncClient, n: int) -> bool:
        request = client.build_request(
            "GET", "/api/v1/tasks", params={"limit": 20}, headers=headers
        )
        return await _send(client, ledger, f"read-{worker}-{n}", "read", request) is not None

    await _until_stopped(base_url, stop, read)


async def all_tasks(base_url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every task of the user, following cursors to the end."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100, "order_by": "created_at"}
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        while True:
            page = await client.get("/api/v1/tasks", params=params, headers=headers)
            page.raise_for_status()
            body = page.json()
            items.extend(body["items"])
            if body["next_cursor"] is None:
                return items
            params["cursor"] = body["next_cursor"]


async def _activity_actions(
    client: httpx.AsyncClient, headers: dict[str, str], task_id: str, gate: asyncio.Semaphore
) -> list[str]:
    async with gate:
        response = await client.get(f"/api/v1/tasks/{task_id}/activity", headers=headers)
    response.raise_for_status()
    return [entry["action"] for entry in response.json()]


@dataclass
class Verdict:
    acknowledged: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unknown_applied: list[str] = field(default_factory=list)  # "create key" / "patch key"

    @property
    def ok(self) -> bool:
        return self.lost == 0 and not self.problems

    def line(self, name: str) -> str:
        return f"{name}: acknowledged {self.acknowledged}, lost {self.lost}"


def _never_applied(outcome: Outcome) -> bool:
    """Refused connection or a 4xx: the server cannot have applied this write."""
    if outcome.result == "unsent":
        return True
    return outcome.result == "rejected" and outcome.status is not None and outcome.status < 500


def _matches(task: dict[str, Any], key: str, patched: bool) -> bool:
    sent = {**create_body(key), **(patched_fields(key) if patched else {})}
    sent.setdefault("done", False)
    same = all(task[name] == value for name, value in sent.items())
    return same and task["version"] == (2 if patched else 1)


JobRows = Callable[[], Awaitable[list[tuple[str, str]]]]


async def verify(
    base_url: str, headers: dict[str, str], ledger: Ledger, read_jobs: JobRows
) -> Verdict:
    """Compare the ledger with what the (restarted) server holds now."""
    verdict = Verdict()
    tasks = await all_tasks(base_url, headers)
    jobs = await read_jobs()
    by_title: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        by_title.setdefault(task["title"], []).append(task)
    creates = {o.key: o for o in ledger.of("create")}
    patches = {o.key: o for o in ledger.of("patch")}

    for title, copies in by_title.items():
        if title not in creates:
            verdict.problems.append(f"task {title!r} was never sent by this run")
        elif len(copies) > 1:
            verdict.problems.append(f"{title}: stored {len(copies)} times (sent once)")

    verdict.acknowledged = sum(o.result == "acked" for o in ledger.outcomes if o.kind != "read")
    to_check_activity: dict[str, bool] = {}
    for key, create in creates.items():
        stored = by_title.get(key, [None])[0]
        patch = patches.get(key)
        if create.result == "acked":
            if stored is None or stored["id"] != create.task_id:
                verdict.lost += 1
                verdict.problems.append(f"{key}: create acknowledged ({create.status}), missing")
                continue
        elif stored is None:
            continue
        elif _never_applied(create):
            verdict.problems.append(
                f"{key}: create failed ({create.result} {create.status}) but is stored"
            )
            continue
        # The task is stored: it must be exactly version 1 or exactly version 2.
        if patch is not None and patch.result == "acked":
            if not _matches(stored, key, patched=True):
                verdict.lost += 1
                verdict.problems.append(f"{key}: patch acknowledged, stored {stored}")
                continue
        elif patch is None or _never_applied(patch):
            if not _matches(stored, key, patched=False):
                what = "never patched" if patch is None else f"patch failed ({patch.status})"
                verdict.problems.append(f"{key}: {what}, but stored {stored}")
                continue
        elif not (_matches(stored, key, patched=False) or _matches(stored, key, patched=True)):
            verdict.problems.append(f"{key}: half-written task {stored}")
            continue
        to_check_activity[stored["id"]] = stored["version"] == 2

    await _check_activity(base_url, headers, to_check_activity, jobs, verdict)
    unknown = [o for o in ledger.outcomes if o.kind != "read" and o.result == "unknown"]
    verdict.unknown_applied = [
        f"{o.kind} {o.key}"
        for o in unknown
        if (o.kind == "create" and o.key in by_title)
        or (o.kind == "patch" and by_title.get(o.key, [{}])[0].get("version") == 2)
    ]
    applied = len(verdict.unknown_applied)
    verdict.notes.append(
        f"{len(tasks)} tasks stored; {len(unknown)} writes with unknown outcome "
        f"({applied} applied, {len(unknown) - applied} not); "
        f"{sum(o.result == 'unsent' for o in ledger.outcomes)} refused connections"
    )
    return verdict


async def _check_activity(
    base_url: str,
    headers: dict[str, str],
    stored: dict[str, bool],
    jobs: list[tuple[str, str]],
    verdict: Verdict,
) -> None:
    """Every stored task has one `created` outbox row, and a completed one also exactly
    one `completed` row, each committed with its write.

    Where all of a task's jobs already ran, their activity entries must be visible
    through the API.
    """
    by_task: dict[str, list[tuple[str, str]]] = {}
    for payload, status in jobs:
        data = json.loads(payload) if isinstance(payload, str) else payload
        by_task.setdefault(data["task_id"], []).append((data["action"], status))
    ran: dict[str, list[str]] = {}
    for task_id, completed in stored.items():
        rows = by_task.get(task_id, [])
        expected = sorted(["created", "completed"] if completed else ["created"])
        if sorted(action for action, _ in rows) != expected:
            verdict.problems.append(
                f"half-written: task {task_id} version {2 if completed else 1} "
                f"with activity jobs {rows}"
            )
        elif all(status == "done" for _, status in rows):
            ran[task_id] = expected
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        ids = list(ran)
        found = await asyncio.gather(
            *(_activity_actions(client, headers, task_id, gate) for task_id in ids)
        )
    verdict.problems += [
        f"task {task_id}: job done but activity {actions} (want {ran[task_id]})"
        for task_id, actions in zip(ids, found, strict=True)
        if sorted(actions) != ran[task_id]
    ]
    statuses = Counter(status for _, status in jobs)
    verdict.notes.append(
        "activity jobs: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    )

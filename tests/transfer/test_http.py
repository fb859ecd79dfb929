"""Export and import through HTTP (SPEC §10): the round trip, CSV and Todoist uploads,
row errors, re-runs, the upload limit and who may see an import."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from taskhub.app import create_app
from taskhub.settings import Settings
from tests.support.app import make_client, running
from tests.support.factories import MakeProject, MakeTask, MakeUser, Share, User, register

IMPORT_DEADLINE_SECONDS = 30.0
VOLATILE = ("id", "created_at", "updated_at", "completed_at", "exported_at")
TODOIST = (
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n"
    "task,Plan trip @travel,Where to?,4,1,Ann (1),,2026-07-01,en,Europe/Berlin\n"
    "task,Book flights,,3,2,Ann (1),,,en,\n"
    "task,Compare prices,,2,3,Ann (1),,,en,\n"
    "task,Book hotel,,1,2,Ann (1),,,en,\n"
    "task,Water plants,,1,1,Ann (1),,,en,\n"
)


async def export(client: httpx.AsyncClient, user: User, fmt: str = "json") -> httpx.Response:
    response = await client.get(f"/api/v1/export?format={fmt}", headers=user.headers)
    assert response.status_code == 200, response.text
    return response


async def upload(
    client: httpx.AsyncClient, user: User, body: bytes | str, content_type: str | None = None
) -> str:
    headers = dict(user.headers)
    if content_type:
        headers["Content-Type"] = content_type
    data = body.encode() if isinstance(body, str) else body
    response = await client.post("/api/v1/import", content=data, headers=headers)
    assert response.status_code == 202, response.text
    import_id: str = response.json()["id"]
    return import_id


async def finished(client: httpx.AsyncClient, user: User, import_id: str) -> dict[str, Any]:
    """The import's report once it is done (polled, with a deadline)."""
    deadline = time.monotonic() + IMPORT_DEADLINE_SECONDS
    while True:
        response = await client.get(f"/api/v1/imports/{import_id}", headers=user.headers)
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        if report["status"] == "done":
            return report
        assert time.monotonic() < deadline, report
        await asyncio.sleep(0.05)


async def imported(
    client: httpx.AsyncClient, user: User, body: bytes | str, content_type: str | None = None
) -> dict[str, Any]:
    return await finished(client, user, await upload(client, user, body, content_type))


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The document with ids and timestamps replaced by what they refer to."""
    projects = {p["id"]: p["name"] for p in document["projects"]}
    tasks = {t["id"]: t["title"] for t in document["tasks"]}

    def strip(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in VOLATILE}

    out_tasks = []
    for task in document["tasks"]:
        entry = strip(task)
        entry["project_id"] = projects.get(task["project_id"])
        entry["parent_id"] = tasks.get(task["parent_id"])
        entry["comments"] = [strip(comment) for comment in task["comments"]]
        out_tasks.append(entry)
    return {
        **strip(document),
        "projects": sorted((strip(p) for p in document["projects"]), key=lambda p: p["name"]),
        "tasks": sorted(out_tasks, key=lambda t: (t["project_id"] or "", t["title"])),
    }


async def comment(client: httpx.AsyncClient, user: User, task_id: str, body: str) -> None:
    response = await client.post(
        f"/api/v1/tasks/{task_id}/comments", json={"body": body}, headers=user.headers
    )
    assert response.status_code == 201, response.text


async def comments_on(client: httpx.AsyncClient, user: User, task_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/tasks/{task_id}/comments", headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_export_round_trips_through_a_fresh_account(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_task: MakeTask,
    make_project: MakeProject,
    share: Share,
) -> None:
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    home = await make_project(alice, "Home", description="chores")
    await make_project(alice, "Empty")
    parent = await make_task(
        alice, title="Paint", project_id=home["id"], labels=["diy", "weekend"], priority=3
    )
    child = await make_task(alice, title="Buy paint", project_id=home["id"], parent_id=parent["id"])
    await make_task(alice, title="Pick colour", project_id=home["id"], parent_id=child["id"])
    await make_task(
        alice, title="=HYPERLINK(1)", description="multi\nline", due_at="2026-05-01T09:00:00+02:00"
    )
    await make_task(alice, title="Done already", done=True)
    # A subtask created before its parent was attached: the export may list it first.
    early = await make_task(alice, title="Early child")
    late = await make_task(alice, title="Late parent")
    moved = await client.patch(
        f"/api/v1/tasks/{early['id']}", json={"parent_id": late["id"]}, headers=alice.headers
    )
    assert moved.status_code == 200, moved.text
    # Not alice's own: a project bob owns where she is an editor, and bob's tasks.
    shared = await make_project(bob, "Bob's")
    await share(bob, shared, alice, "editor")
    await make_task(alice, title="In bob's project", project_id=shared["id"])
    await make_task(bob, title="Bob's inbox")
    await comment(client, alice, parent["id"], "Which colour?")
    await comment(client, alice, parent["id"], "=SUM(A1) stays text\nover two lines")
    await comment(client, alice, early["id"], "Attach to the late parent")

    first = (await export(client, alice)).json()
    assert first["format"] == "taskhub-export"
    assert first["version"] == 1
    assert {p["name"] for p in first["projects"]} == {"Home", "Empty"}
    assert len(first["tasks"]) == 7
    said = {t["title"]: [c["body"] for c in t["comments"]] for t in first["tasks"]}
    assert said["Paint"] == ["Which colour?", "=SUM(A1) stays text\nover two lines"]
    assert said["Early child"] == ["Attach to the late parent"]
    assert said["Buy paint"] == []
    assert all(set(c) == {"body", "created_at"} for t in first["tasks"] for c in t["comments"])

    report = await imported(client, carol, orjson.dumps(first), "application/json")
    assert report["created"] == 9, report  # 2 projects + 7 tasks
    assert (report["failed"], report["errors"]) == (0, []), report

    again = (await export(client, carol)).json()
    assert comparable(again) == comparable(first)
    painted = next(t for t in again["tasks"] if t["title"] == "Paint")
    authors = {c["author_id"] for c in await comments_on(client, carol, painted["id"])}
    assert authors == {carol.id}


async def test_reimporting_the_same_file_creates_nothing(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice, bob = await make_user(), await make_user()
    root = await make_task(alice, title="Root")
    await make_task(alice, title="Leaf", parent_id=root["id"])
    document = (await export(client, alice)).content

    first = await imported(client, bob, document)
    second = await imported(client, bob, document)

    assert (first["created"], first["skipped"]) == (2, 0), first
    assert (second["created"], second["skipped"]) == (0, 2), second
    assert len((await export(client, bob)).json()["tasks"]) == 2


async def test_json_comments_are_imported_once_and_bad_ones_reported_on_the_task_line(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    document = orjson.dumps(
        {
            "format": "taskhub-export",
            "version": 1,
            "tasks": [
                {"title": "Plain"},
                {
                    "title": "Talked about",
                    "comments": [
                        {"body": "first"},
                        {"body": "   "},
                        {"body": "nul \u0000"},
                        "not an object",
                        {"body": "x" * 10_001},
                        {"body": "last", "created_at": "2026-01-01T00:00:00Z"},
                    ],
                },
                {"title": "Odd comments", "comments": {"body": "not a list"}},
            ],
        }
    )

    first = await imported(client, alice, document, "application/json")
    second = await imported(client, alice, document, "application/json")

    assert first["created"] == 3, first
    assert sorted((e["line"], e["reason"]) for e in first["errors"]) == [
        (2, "comment 2: body: Value error, must not be blank"),
        (2, "comment 3: contains a NUL character"),
        (2, "comment 4: not an object"),
        (2, "comment 5: body: String should have at most 10000 characters"),
        (3, "comments: not an array"),
    ], first
    assert (second["created"], second["skipped"]) == (0, 3), second
    tasks = {t["title"]: t for t in (await export(client, alice)).json()["tasks"]}
    assert [c["body"] for c in tasks["Talked about"]["comments"]] == ["first", "last"]
    assert tasks["Plain"]["comments"] == tasks["Odd comments"]["comments"] == []


async def test_todoist_notes_become_comments_on_the_task_above(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    body = TODOIST.replace(
        "task,Book hotel,,1,2,Ann (1),,,en,\n",
        "task,Book hotel,,1,2,Ann (1),,,en,\n"
        "note,Near the station,,,,Ann (1),,,en,\n"
        'note,"Two nights,\nmaybe three",,,,Ann (1),,,en,\n',
    )

    report = await imported(client, alice, body)
    again = await imported(client, alice, body)

    assert (report["created"], report["failed"]) == (5, 0), report
    assert (again["created"], again["skipped"], again["failed"]) == (0, 5, 0), again
    tasks = {t["title"]: t for t in (await export(client, alice)).json()["tasks"]}
    said = await comments_on(client, alice, tasks["Book hotel"]["id"])
    assert [c["body"] for c in said] == ["Near the station", "Two nights,\nmaybe three"]
    assert {c["author_id"] for c in said} == {alice.id}
    others = [t["comments"] for title, t in tasks.items() if title != "Book hotel"]
    assert others == [[]] * 4


async def test_todoist_indentation_becomes_subtasks_and_priorities_are_mapped(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()

    report = await imported(client, alice, TODOIST)
    tasks = {t["title"]: t for t in (await export(client, alice)).json()["tasks"]}

    assert report["created"] == 5, report
    assert tasks["Plan trip"]["parent_id"] is None
    assert tasks["Book flights"]["parent_id"] == tasks["Plan trip"]["id"]
    assert tasks["Compare prices"]["parent_id"] == tasks["Book flights"]["id"]
    assert tasks["Book hotel"]["parent_id"] == tasks["Plan trip"]["id"]
    assert tasks["Water plants"]["parent_id"] is None
    priorities = {title: task["priority"] for title, task in tasks.items()}
    assert priorities == {
        "Plan trip": 4,
        "Book flights": 3,
        "Compare prices": 2,
        "Book hotel": 0,
        "Water plants": 0,
    }
    assert tasks["Plan trip"]["labels"] == ["travel"]
    assert tasks["Plan trip"]["due_at"] == "2026-06-30T22:00:00Z"  # midnight in Berlin
    again = await imported(client, alice, TODOIST)
    assert (again["created"], again["skipped"]) == (0, 5), again


async def test_bad_csv_rows_are_reported_by_line_and_the_rest_imported(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    body = (
        "title,priority,due_at,project,ref,parent\n"
        "Good one,2,,Errands,a,\n"  # 2
        ",1,,,,\n"  # 3: no title
        "Too urgent,9,,,,\n"  # 4
        "Child,0,,Errands,,a\n"  # 5
        "Naive date,0,2026-05-01T09:00:00,,,\n"  # 6
        "Orphan,0,,,,missing\n"  # 7
        "Last,0,2026-05-01T09:00:00Z,,,\n"  # 8
    )

    report = await imported(client, alice, body, "text/csv")

    assert report["format"] == "csv"
    assert report["created"] == 3, report
    assert report["failed"] == 4, report
    lines = {error["line"]: error["reason"] for error in report["errors"]}
    assert sorted(lines) == [3, 4, 6, 7], lines
    assert "title" in lines[3]
    assert "priority" in lines[4]
    document = (await export(client, alice)).json()
    assert [p["name"] for p in document["projects"]] == ["Errands"]
    tasks = {t["title"]: t for t in document["tasks"]}
    assert set(tasks) == {"Good one", "Child", "Last"}
    assert tasks["Child"]["parent_id"] == tasks["Good one"]["id"]
    assert tasks["Child"]["project_id"] == document["projects"][0]["id"]


async def test_csv_export_neutralises_formula_cells(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    await make_task(alice, title="=cmd|' /C calc'!A0", description="+1", labels=["@home"])
    await make_task(alice, title="-2 degrees", description="plain")

    response = await export(client, alice, "csv")

    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_title = {row["title"]: row for row in rows}
    assert set(by_title) == {"'=cmd|' /C calc'!A0", "'-2 degrees"}
    assert by_title["'=cmd|' /C calc'!A0"]["description"] == "'+1"
    assert by_title["'=cmd|' /C calc'!A0"]["labels"] == "'@home"
    assert by_title["'-2 degrees"]["description"] == "plain"
    # and our own export reads back unescaped
    bob_tasks = await _import_csv_into_fresh_account(client, await _fresh(client), response.text)
    assert sorted(bob_tasks) == ["-2 degrees", "=cmd|' /C calc'!A0"]


async def _fresh(client: httpx.AsyncClient) -> User:
    return await register(client)


async def _import_csv_into_fresh_account(
    client: httpx.AsyncClient, user: User, body: str
) -> list[str]:
    report = await imported(client, user, body, "text/csv")
    assert report["failed"] == 0, report
    return [t["title"] for t in (await export(client, user)).json()["tasks"]]


async def test_another_users_import_is_not_found(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice, mallory = await make_user(), await make_user()
    import_id = await upload(client, alice, "title\nMine\n")

    theirs = await client.get(f"/api/v1/imports/{import_id}", headers=mallory.headers)
    unknown = await client.get("/api/v1/imports/not-a-uuid", headers=alice.headers)
    anonymous = await client.post("/api/v1/import", content=b"title\nx\n")

    assert theirs.status_code == 404, theirs.text
    assert unknown.status_code == 404, unknown.text
    assert anonymous.status_code == 401, anonymous.text
    assert (await finished(client, alice, import_id))["created"] == 1


async def test_json_that_is_not_an_export_is_refused_and_an_empty_csv_reported(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    headers = {**alice.headers, "Content-Type": "application/json"}

    wrong = await client.post("/api/v1/import", content=b'{"tasks": []}', headers=headers)
    broken = await client.post("/api/v1/import", content=b'{"format": ', headers=headers)
    not_array = await client.post(
        "/api/v1/import",
        content=b'{"format": "taskhub-export", "version": 1, "tasks": {}}',
        headers=headers,
    )
    missing = await client.post("/api/v1/import", headers=alice.headers)
    empty = await imported(client, alice, b"", "text/csv")
    # Key order is free; items are checked one by one, the good ones imported.
    reordered = await imported(
        client,
        alice,
        b'{"tasks": [{"title": "ok"}, {"title": "nul \\u0000"}, {"title": 5},'
        b' {"title": "x", "owner_id": "me"}, 7], "version": 1, "format": "taskhub-export",'
        b' "extra": [74975793044724323614457856]}',
        "application/json",
    )

    assert wrong.status_code == 422, wrong.text
    assert broken.status_code == 422, broken.text
    assert not_array.status_code == 422, not_array.text
    assert missing.status_code == 422, missing.text
    assert empty["errors"] == [{"line": 1, "reason": "the file is empty"}], empty
    assert reordered["created"] == 1, reordered
    assert [(e["line"], e["reason"]) for e in reordered["errors"]] == [
        (2, "contains a NUL character"),
        (3, "title: Input should be a valid string"),
        (4, "unknown fields: owner_id"),
        (5, "not an object"),
    ]


@pytest.fixture
async def small_limit_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(update={"max_import_bytes": 2048, "max_body_bytes": 1024})
    app: FastAPI = create_app(limited)
    async with running(app), make_client(app) as client:
        yield client


async def test_import_has_its_own_body_limit(small_limit_client: httpx.AsyncClient) -> None:
    client = small_limit_client
    alice = await register(client)
    rows = "".join(f"task number {i}\n" for i in range(40))  # ~600 bytes
    body = ("title\n" + rows * 3).encode()  # over max_body_bytes, under the import limit
    assert 1024 < len(body) < 2048

    accepted = await client.post("/api/v1/import", content=body, headers=alice.headers)
    declared = await client.post(
        "/api/v1/import",
        content=b"title\n" + b"x" * 4096,
        headers=alice.headers,
    )

    async def chunks() -> AsyncIterator[bytes]:
        yield b"title\n"
        for _ in range(10):
            yield b"y" * 1000 + b"\n"

    streamed = await client.post("/api/v1/import", content=chunks(), headers=alice.headers)
    elsewhere = await client.post(
        "/api/v1/tasks", content=b"{" + b" " * 1500 + b"}", headers=alice.headers
    )

    assert accepted.status_code == 202, accepted.text
    assert declared.status_code == 413, declared.text
    assert declared.json()["detail"] == "Request body exceeds 2048 bytes"
    assert streamed.status_code == 413, streamed.text
    assert elsewhere.status_code == 413, elsewhere.text
    await finished(client, alice, accepted.json()["id"])

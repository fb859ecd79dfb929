"""Comments on tasks (SPEC §9): who reads, posts, edits and deletes; paging; cascade."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from taskhub.comments.models import Comment
from tests.support.activity import activity_of
from tests.support.factories import MakeProject, MakeTask, MakeUser, Share, User


async def post_comment(
    client: httpx.AsyncClient, user: User, task_id: str, body: str = "Looks good"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/tasks/{task_id}/comments", json={"body": body}, headers=user.headers
    )


async def test_comment_is_created_read_edited_and_deleted_by_its_author(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice)

    created = await post_comment(client, alice, task["id"], "First!")
    assert created.status_code == 201, created.text
    comment = created.json()
    assert set(comment) == {"id", "task_id", "author_id", "body", "created_at", "updated_at"}
    assert (comment["task_id"], comment["author_id"], comment["body"]) == (
        task["id"],
        alice.id,
        "First!",
    )
    url = f"/api/v1/comments/{comment['id']}"
    assert created.headers["Location"] == url
    assert (await client.get(url, headers=alice.headers)).json() == comment

    edited = await client.patch(url, json={"body": "First, edited"}, headers=alice.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == "First, edited"
    assert edited.json()["updated_at"] >= comment["updated_at"]
    assert edited.json()["created_at"] == comment["created_at"]

    listed = await client.get(f"/api/v1/tasks/{task['id']}/comments", headers=alice.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [edited.json()], "next_cursor": None}

    deleted = await client.delete(url, headers=alice.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(url, headers=alice.headers)).status_code == 404
    assert (await client.patch(url, json={"body": "x"}, headers=alice.headers)).status_code == 404


async def test_project_roles_decide_who_posts_edits_and_deletes(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_task: MakeTask,
    make_project: MakeProject,
    share: Share,
) -> None:
    owner, editor, viewer, outsider = [await make_user() for _ in range(4)]
    project = await make_project(owner)
    await share(owner, project, editor, "editor")
    await share(owner, project, viewer, "viewer")
    task = await make_task(owner, project_id=project["id"])

    by_editor = await post_comment(client, editor, task["id"], "editor's")
    assert by_editor.status_code == 201, by_editor.text
    by_owner = await post_comment(client, owner, task["id"], "owner's")
    assert by_owner.status_code == 201, by_owner.text
    by_viewer = await post_comment(client, viewer, task["id"])
    assert by_viewer.status_code == 403, by_viewer.text
    by_outsider = await post_comment(client, outsider, task["id"])
    assert by_outsider.status_code == 404, by_outsider.text

    # Whoever sees the task reads its comments, oldest first; nobody else learns they exist.
    read = await client.get(f"/api/v1/tasks/{task['id']}/comments", headers=viewer.headers)
    assert read.status_code == 200, read.text
    assert [c["body"] for c in read.json()["items"]] == ["editor's", "owner's"]
    hidden = await client.get(f"/api/v1/tasks/{task['id']}/comments", headers=outsider.headers)
    assert hidden.status_code == 404, hidden.text

    url = f"/api/v1/comments/{by_editor.json()['id']}"
    for user in (owner, viewer):  # another author's comment: visible, not editable
        response = await client.patch(url, json={"body": "rewritten"}, headers=user.headers)
        assert response.status_code == 403, response.text
    assert (await client.delete(url, headers=viewer.headers)).status_code == 403
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            url,
            json={"body": "x"} if method == "PATCH" else None,
            headers=outsider.headers,
        )
        assert response.status_code == 404, (method, response.text)

    # The project's owner deletes any comment; an editor deletes only their own.
    owners = f"/api/v1/comments/{by_owner.json()['id']}"
    assert (await client.delete(owners, headers=editor.headers)).status_code == 403
    assert (await client.delete(url, headers=owner.headers)).status_code == 204
    assert (await client.delete(owners, headers=owner.headers)).status_code == 204
    left = await client.get(f"/api/v1/tasks/{task['id']}/comments", headers=owner.headers)
    assert left.json()["items"] == []


async def test_a_member_who_leaves_no_longer_sees_their_comments(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_task: MakeTask,
    make_project: MakeProject,
    share: Share,
) -> None:
    owner, editor = await make_user(), await make_user()
    project = await make_project(owner)
    await share(owner, project, editor, "editor")
    task = await make_task(owner, project_id=project["id"])
    comment = (await post_comment(client, editor, task["id"])).json()

    left = await client.delete(
        f"/api/v1/projects/{project['id']}/members/{editor.id}", headers=editor.headers
    )
    assert left.status_code == 204, left.text

    url = f"/api/v1/comments/{comment['id']}"
    assert (await client.get(url, headers=editor.headers)).status_code == 404
    assert (await client.delete(url, headers=editor.headers)).status_code == 404
    assert (await client.get(url, headers=owner.headers)).status_code == 200


async def test_comment_body_is_validated_and_author_and_task_cannot_be_assigned(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice, bob = await make_user(), await make_user()
    task = await make_task(alice)
    other = await make_task(alice)
    url = f"/api/v1/tasks/{task['id']}/comments"

    bad_bodies: list[dict[str, Any]] = [
        {},
        {"body": ""},
        {"body": "   "},
        {"body": "x" * 10_001},
        {"body": 5},
        {"body": None},
        {"body": "a\x00b"},
        {"body": "hi", "author_id": bob.id},
        {"body": "hi", "task_id": other["id"]},
        {"body": "hi", "id": task["id"]},
    ]
    for body in bad_bodies:
        response = await client.post(url, json=body, headers=alice.headers)
        assert response.status_code == 422, (body, response.text)

    longest = await client.post(url, json={"body": "x" * 10_000}, headers=alice.headers)
    assert longest.status_code == 201, longest.text
    comment_url = f"/api/v1/comments/{longest.json()['id']}"
    for body in ({"body": "hi", "author_id": bob.id}, {"body": "hi", "task_id": other["id"]}):
        response = await client.patch(comment_url, json=body, headers=alice.headers)
        assert response.status_code == 422, (body, response.text)
    kept = (await client.get(comment_url, headers=alice.headers)).json()
    assert (kept["author_id"], kept["task_id"]) == (alice.id, task["id"])
    assert (await client.get(url)).status_code == 401
    assert (await client.post(url, json={"body": "hi"})).status_code == 401
    assert (await client.delete(comment_url)).status_code == 401


async def test_comments_page_oldest_first_without_repeats(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task, other = await make_task(alice), await make_task(alice)
    for n in range(5):
        assert (await post_comment(client, alice, task["id"], f"c{n}")).status_code == 201
    url = f"/api/v1/tasks/{task['id']}/comments"

    bodies: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get(url, params=params, headers=alice.headers)
        assert page.status_code == 200, page.text
        bodies += [c["body"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        # A cursor is tied to its task; garbage is 422, as for every list.
        elsewhere = await client.get(
            f"/api/v1/tasks/{other['id']}/comments",
            params={"cursor": cursor},
            headers=alice.headers,
        )
        assert elsewhere.status_code == 422, elsewhere.text

    assert bodies == [f"c{n}" for n in range(5)]
    for params in ({"cursor": "garbage"}, {"limit": 0}, {"limit": 101}):
        response = await client.get(url, params=params, headers=alice.headers)
        assert response.status_code == 422, (params, response.text)


async def test_deleting_a_task_deletes_its_comments(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    parent = await make_task(alice)
    child = await make_task(alice, parent_id=parent["id"])
    for task in (parent, child):
        assert (await post_comment(client, alice, task["id"])).status_code == 201

    deleted = await client.delete(f"/api/v1/tasks/{parent['id']}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text

    async with app.state.db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Comment)) == 0


async def test_a_comment_shows_in_the_tasks_activity(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice)

    comment = (await post_comment(client, alice, task["id"])).json()

    entries = await activity_of(client, alice, task["id"], expected=2)
    assert [(e["action"], e["actor_id"]) for e in entries] == [
        ("created", alice.id),
        ("commented", alice.id),
    ]
    assert entries[1]["changes"] == {"comment_id": comment["id"]}

"""The pages through HTTP: the same rules as the API, escaped output, errors by field."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.support.factories import MakeProject, MakeTask, MakeUser, Share, User
from tests.web.conftest import SAME_ORIGIN, Browser, errors_of, page_token, value_of

XSS = "<script>alert(1)</script>"


async def _post(http: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    return await http.post(
        path, data={"csrf": await page_token(http, "/projects"), **data}, headers=SAME_ORIGIN
    )


async def test_a_script_title_renders_as_text_everywhere(
    alice: User, browser: Browser, make_task: MakeTask, make_project: MakeProject
) -> None:
    project = await make_project(alice, name=XSS)
    task = await make_task(
        alice, title=XSS, description=XSS, labels=[XSS], project_id=project["id"]
    )
    http = await browser(alice)

    pages = [
        await http.get("/"),
        await http.get(f"/tasks/{task['id']}"),
        await http.get(f"/projects/{project['id']}"),
        await http.get("/projects"),
        await http.get("/", params={"q": XSS, "show": "all"}),
    ]

    for page in pages:
        assert page.status_code == 200, page.text
        assert XSS not in page.text, page.url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, page.url


async def test_creating_editing_completing_and_deleting_through_forms(
    client: httpx.AsyncClient, alice: User, browser: Browser
) -> None:
    http = await browser(alice)

    created = await _post(
        http,
        "/tasks",
        title="Plan",
        description="first draft",
        due="2026-12-24T18:30",
        tz_offset="60",  # what app.js sends from a browser in UTC+01:00
        priority="3",
        labels="home, urgent , ,home",
        next="/",
    )
    [task] = (await client.get("/api/v1/tasks", headers=alice.headers)).json()["items"]
    cleared = {"description": "", "due": "", "labels": ""}
    edited = await _post(http, f"/tasks/{task['id']}", title="Plan B", priority="1", **cleared)
    after_edit = (await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)).json()
    completed = await _post(http, f"/tasks/{task['id']}/complete", done="true")
    done = (await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)).json()
    deleted = await _post(http, f"/tasks/{task['id']}/delete", next="/")
    gone = await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)

    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/"
    assert task["title"] == "Plan"
    assert task["description"] == "first draft"
    assert task["due_at"] == "2026-12-24T17:30:00Z"
    assert task["priority"] == 3
    assert task["labels"] == ["home", "urgent"]
    assert edited.status_code == 303, edited.text
    assert (after_edit["title"], after_edit["description"]) == ("Plan B", "")
    assert (after_edit["priority"], after_edit["due_at"], after_edit["labels"]) == (1, None, [])
    assert completed.status_code == 303, completed.text
    assert done["done"] is True
    assert deleted.status_code == 303, deleted.text
    assert gone.status_code == 404


async def test_the_inline_complete_answers_without_a_page(
    client: httpx.AsyncClient, alice: User, browser: Browser, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    http = await browser(alice)

    inline = await http.post(
        f"/tasks/{task['id']}/complete",
        data={"csrf": await page_token(http), "done": "true"},
        headers={**SAME_ORIGIN, "X-Taskhub-Inline": "1"},
    )

    assert inline.status_code == 204, inline.text
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)).json()["done"]


async def test_validation_errors_sit_next_to_their_field_and_keep_what_was_typed(
    client: httpx.AsyncClient, alice: User, browser: Browser, make_task: MakeTask
) -> None:
    task = await make_task(alice, title="original")
    http = await browser(alice)

    new = await _post(
        http, "/tasks", title="   ", description="kept <b>text</b>", labels="ok, " + "x" * 51
    )
    edit = await _post(
        http, f"/tasks/{task['id']}", title="renamed", due="next tuesday", priority="9"
    )

    assert new.status_code == 422, new.text
    assert set(errors_of(new.text)) == {"title", "labels"}
    assert value_of(new.text, "description") == "kept &lt;b&gt;text&lt;/b&gt;"
    assert value_of(new.text, "labels") == "ok, " + "x" * 51
    assert edit.status_code == 422, edit.text
    assert set(errors_of(edit.text)) == {"due", "priority"}
    assert value_of(edit.text, "title") == "renamed"
    assert value_of(edit.text, "due") == "next tuesday"
    assert 'aria-describedby="f-due-error"' in edit.text
    listed = (await client.get("/api/v1/tasks", headers=alice.headers)).json()["items"]
    assert [t["title"] for t in listed] == ["original"]  # nothing half-written


async def test_an_edit_over_a_newer_version_is_refused_and_shows_the_new_one(
    client: httpx.AsyncClient, alice: User, browser: Browser, make_task: MakeTask
) -> None:
    task = await make_task(alice, title="v1")
    http = await browser(alice)
    renamed = await client.patch(
        f"/api/v1/tasks/{task['id']}", json={"title": "v2"}, headers=alice.headers
    )
    assert renamed.status_code == 200, renamed.text

    stale = await _post(http, f"/tasks/{task['id']}", title="mine", version="1")

    assert stale.status_code == 409, stale.text
    assert "changed this task meanwhile" in stale.text
    assert value_of(stale.text, "title") == "v2"


async def test_another_users_task_is_a_404_page_for_every_door(
    make_user: MakeUser, browser: Browser, make_task: MakeTask, client: httpx.AsyncClient
) -> None:
    alice, mallory = await make_user(), await make_user()
    task = await make_task(alice, title="private")
    http = await browser(mallory)

    answers = [
        await http.get(f"/tasks/{task['id']}"),
        await _post(http, f"/tasks/{task['id']}", title="mine now"),
        await _post(http, f"/tasks/{task['id']}/complete", done="true"),
        await _post(http, f"/tasks/{task['id']}/delete"),
        await _post(http, "/tasks", title="sub", parent=task["id"]),
        await http.get("/tasks/not-an-id"),
    ]

    assert [a.status_code for a in answers] == [404] * 6
    assert "private" not in "".join(a.text for a in answers)
    assert "<h1>Not found</h1>" in answers[0].text
    assert "Sign out" in answers[0].text
    after = (await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)).json()
    assert (after["title"], after["done"]) == ("private", False)


async def test_a_viewer_sees_a_projects_task_but_cannot_change_it(
    make_user: MakeUser,
    browser: Browser,
    make_project: MakeProject,
    make_task: MakeTask,
    share: Share,
    client: httpx.AsyncClient,
) -> None:
    owner, viewer = await make_user(), await make_user()
    project = await make_project(owner, name="Shared")
    task = await make_task(owner, title="look only", project_id=project["id"])
    await share(owner, project, viewer, "viewer")
    http = await browser(viewer)

    page = await http.get(f"/tasks/{task['id']}")
    answers = [
        await _post(http, f"/tasks/{task['id']}", title="changed"),
        await _post(http, f"/tasks/{task['id']}/complete", done="true"),
        await _post(http, f"/tasks/{task['id']}/delete"),
        await _post(http, "/tasks", title="new", project=project["id"]),
    ]

    assert page.status_code == 200, page.text
    assert "look only" in page.text
    assert 'action="/tasks/' + task["id"] + '"' not in page.text  # no edit form offered
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert "read-only" in answers[0].text
    after = (await client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers)).json()
    assert (after["title"], after["done"]) == ("look only", False)


async def test_subtasks_are_created_under_their_task_and_shown_nested(
    client: httpx.AsyncClient, alice: User, browser: Browser, make_task: MakeTask
) -> None:
    parent = await make_task(alice, title="Trip")
    http = await browser(alice)

    added = await _post(
        http, "/tasks", title="Book train", parent=parent["id"], next=f"/tasks/{parent['id']}"
    )
    parent_page = await http.get(f"/tasks/{parent['id']}")
    home = await http.get("/")

    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"/tasks/{parent['id']}"
    listed = (await client.get("/api/v1/tasks", headers=alice.headers)).json()["items"]
    child = next(t for t in listed if t["title"] == "Book train")
    assert child["parent_id"] == parent["id"]
    assert 'aria-label="Subtasks"' in parent_page.text
    assert "Book train" in parent_page.text.split('aria-label="Subtasks"')[1]
    nested = re.search(r"Trip</a>.*?<ul class=\"tasks sub\">.*?Book train", home.text, re.S)
    assert nested is not None, home.text


async def test_search_and_filters_use_the_list_rules(
    alice: User, browser: Browser, make_task: MakeTask, make_project: MakeProject
) -> None:
    project = await make_project(alice, name="Work")
    await make_task(alice, title="Buy milk")
    await make_task(alice, title="Milk the report", project_id=project["id"], done=True)
    await make_task(alice, title="Walk the dog")
    http = await browser(alice)

    def titles(page: httpx.Response) -> list[str]:
        assert page.status_code == 200, page.text
        return sorted(re.findall(r'class="title" href="/tasks/[^"]+">([^<]*)<', page.text))

    assert titles(await http.get("/", params={"q": "milk", "show": "all"})) == [
        "Buy milk",
        "Milk the report",
    ]
    assert titles(await http.get("/")) == ["Buy milk", "Walk the dog"]  # open by default
    assert titles(await http.get("/", params={"show": "done"})) == ["Milk the report"]
    assert titles(await http.get("/", params={"project": project["id"], "show": "all"})) == [
        "Milk the report"
    ]
    foreign = await http.get("/", params={"project": "00000000-0000-0000-0000-000000000001"})
    assert foreign.status_code == 404
    bad = await http.get("/", params={"show": "everything"})
    assert bad.status_code == 400


async def test_sharing_by_email_changing_roles_and_removing(
    make_user: MakeUser, browser: Browser, make_task: MakeTask, client: httpx.AsyncClient
) -> None:
    owner, bob = await make_user(), await make_user()
    http = await browser(owner)
    made = await _post(http, "/projects", name="Garden")
    project_id = made.headers["location"].rsplit("/", 1)[1]
    await make_task(owner, title="Plant tulips", project_id=project_id)

    unknown = await _post(
        http, f"/projects/{project_id}/members", email="nobody@example.com", role="editor"
    )
    shared = await _post(
        http, f"/projects/{project_id}/members", email=bob.email.upper(), role="viewer"
    )
    bobs = await browser(bob)
    seen = await bobs.get("/")
    promoted = await _post(http, f"/projects/{project_id}/members/{bob.id}", role="editor")
    as_editor = await _post(bobs, "/tasks", title="Water", project=project_id)
    demote_self = await _post(http, f"/projects/{project_id}/members/{owner.id}", role="viewer")
    removed = await _post(http, f"/projects/{project_id}/members/{bob.id}/remove")
    after = await bobs.get(f"/projects/{project_id}")

    assert made.status_code == 303, made.text
    assert unknown.status_code == 422, unknown.text
    assert errors_of(unknown.text) == {"email": "No account uses this email"}
    assert value_of(unknown.text, "email") == "nobody@example.com"
    assert shared.status_code == 303, shared.text
    assert "Plant tulips" in seen.text
    assert promoted.status_code == 303, promoted.text
    assert as_editor.status_code == 303, as_editor.text
    assert demote_self.status_code == 409, demote_self.text  # the last owner stays
    assert removed.status_code == 303, removed.text
    assert after.status_code == 404
    members = await client.get(f"/api/v1/projects/{project_id}/members", headers=owner.headers)
    assert [(m["email"], m["role"]) for m in members.json()] == [(owner.email, "owner")]


async def test_only_an_owner_may_share(
    make_user: MakeUser, browser: Browser, make_project: MakeProject, share: Share
) -> None:
    owner, editor, carol = await make_user(), await make_user(), await make_user()
    project = await make_project(owner)
    await share(owner, project, editor, "editor")
    http = await browser(editor)

    page = await http.get(f"/projects/{project['id']}")
    refused = await _post(
        http, f"/projects/{project['id']}/members", email=carol.email, role="owner"
    )

    assert 'action="/projects/' + project["id"] + '/members"' not in page.text
    assert refused.status_code == 403, refused.text


async def test_a_redirect_target_stays_on_this_site(
    alice: User, browser: Browser, app: FastAPI
) -> None:
    http = await browser(alice)

    answers = [
        await _post(http, "/tasks", title=f"t{i}", next=target)
        for i, target in enumerate(("//evil.example/", "/\\evil.example", "https://evil.example"))
    ]

    assert [a.headers["location"] for a in answers] == ["/", "/", "/"]

"""CSRF (SPEC §8): a forged cross-site form post changes nothing, signed in or not."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.app import make_client
from tests.support.factories import MakeTask, MakeUser, User
from tests.web.conftest import CROSS_SITE, SAME_ORIGIN, Browser, csrf_of, page_token


async def _titles(client: httpx.AsyncClient, user: User) -> list[str]:
    listed = await client.get("/api/v1/tasks", headers=user.headers)
    assert listed.status_code == 200, listed.text
    return sorted(task["title"] for task in listed.json()["items"])


async def _task(client: httpx.AsyncClient, user: User, task_id: str) -> dict[str, Any]:
    found = await client.get(f"/api/v1/tasks/{task_id}", headers=user.headers)
    assert found.status_code == 200, found.text
    task: dict[str, Any] = found.json()
    return task


@pytest.mark.parametrize(
    ("case", "headers", "with_token"),
    [
        ("from another site, even with the right token", CROSS_SITE, True),
        ("Origin of another site, no Sec-Fetch-Site", {"Origin": "https://evil.example"}, True),
        ("no proof of origin at all", {}, True),
        ("same origin without the token", SAME_ORIGIN, False),
    ],
)
async def test_a_forged_post_changes_nothing(
    client: httpx.AsyncClient,
    alice: User,
    browser: Browser,
    make_task: MakeTask,
    case: str,
    headers: dict[str, str],
    with_token: bool,
) -> None:
    task = await make_task(alice, title="keep me")
    http = await browser(alice)
    token = await page_token(http) if with_token else "forged"
    before = await _task(client, alice, task["id"])

    answers = [
        await http.post("/tasks", data={"csrf": token, "title": "planted"}, headers=headers),
        await http.post(
            f"/tasks/{task['id']}/complete", data={"csrf": token, "done": "true"}, headers=headers
        ),
        await http.post(
            f"/tasks/{task['id']}", data={"csrf": token, "title": "renamed"}, headers=headers
        ),
        await http.post(f"/tasks/{task['id']}/delete", data={"csrf": token}, headers=headers),
        await http.post("/projects", data={"csrf": token, "name": "planted"}, headers=headers),
        await http.post("/signout", data={"csrf": token}, headers=headers),
    ]

    assert [a.status_code for a in answers] == [403] * len(answers), case
    assert "Nothing was changed" in answers[0].text
    assert await _titles(client, alice) == ["keep me"]
    assert await _task(client, alice, task["id"]) == before
    projects = await client.get("/api/v1/projects", headers=alice.headers)
    assert projects.json()["items"] == []
    assert (await http.get("/")).status_code == 200  # still signed in: sign-out was refused


async def test_the_same_post_from_our_page_works(
    client: httpx.AsyncClient, alice: User, browser: Browser
) -> None:
    # Control for the test above: the forged requests differ only in the proof.
    http = await browser(alice)

    created = await http.post(
        "/tasks", data={"csrf": await page_token(http), "title": "planted"}, headers=SAME_ORIGIN
    )

    assert created.status_code == 303, created.text
    assert await _titles(client, alice) == ["planted"]


async def test_a_token_of_another_session_is_refused(
    client: httpx.AsyncClient, make_user: MakeUser, browser: Browser
) -> None:
    alice, mallory = await make_user(), await make_user()
    victim = await browser(alice)
    attacker = await browser(mallory)

    forged = await victim.post(
        "/tasks", data={"csrf": await page_token(attacker), "title": "planted"}, headers=SAME_ORIGIN
    )

    assert forged.status_code == 403, forged.text
    assert await _titles(client, alice) == []


async def test_login_csrf_a_forged_sign_in_opens_no_session(app: FastAPI, alice: User) -> None:
    async with make_client(app) as http:
        form = await http.get("/signin")
        token = csrf_of(form.text)
        cross_site = await http.post(
            "/signin",
            data={"csrf": token, "email": alice.email, "password": alice.password},
            headers=CROSS_SITE,
        )
        http.cookies.clear()  # an attacker's page cannot read or set our form cookie
        no_cookie = await http.post(
            "/signin",
            data={"csrf": token, "email": alice.email, "password": alice.password},
            headers=SAME_ORIGIN,
        )
        home = await http.get("/")

    for refused in (cross_site, no_cookie):
        assert refused.status_code == 403, refused.text
        assert "taskhub_session" not in refused.headers.get("set-cookie", "")
    assert home.status_code == 303

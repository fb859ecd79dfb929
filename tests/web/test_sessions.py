"""Sessions of the web app: cookie flags, hashed storage, revocation, deactivation."""

from __future__ import annotations

import hashlib

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from taskhub.app import create_app
from taskhub.settings import Settings
from tests.admin.conftest import promote
from tests.admin.conftest import sign_in as admin_sign_in
from tests.support.app import make_client, running
from tests.support.factories import MakeUser, User
from tests.web.conftest import SAME_ORIGIN, Browser, csrf_of, errors_of, sign_in, value_of

PASSWORD = "correct horse battery"


async def _stored_hashes(app: FastAPI) -> list[str]:
    async with app.state.db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT token_hash FROM web_sessions"))
        return [row[0] for row in rows]


async def test_sign_up_opens_a_session_whose_cookie_is_httponly_lax_and_stored_hashed(
    app: FastAPI,
) -> None:
    async with make_client(app) as http:
        form = await http.get("/signup")
        assert form.status_code == 200, form.text
        created = await http.post(
            "/signup",
            data={"csrf": csrf_of(form.text), "email": "New@Example.com", "password": PASSWORD},
            headers=SAME_ORIGIN,
        )
        assert created.status_code == 303, created.text
        assert created.headers["location"] == "/"
        cookie = http.cookies["taskhub_session"]
        home = await http.get("/")

    set_cookie = next(
        c for c in created.headers.get_list("set-cookie") if c.startswith("taskhub_session=")
    )
    flags = {part.strip().lower() for part in set_cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags
    assert await _stored_hashes(app) == [hashlib.sha256(cookie.encode()).hexdigest()]
    assert home.status_code == 200, home.text
    assert "new@example.com" in home.text
    assert '<button type="submit">Sign out</button>' in home.text


async def test_behind_https_the_session_cookie_is_secure(settings: Settings, alice: User) -> None:
    secure = settings.model_copy(update={"secure_cookies": True})
    async with running(create_app(secure)) as app:
        # A Secure cookie (the sign-in form's too) only travels back over https.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            signed_in = await sign_in(http, alice)

    assert signed_in.status_code == 303, signed_in.text
    assert "secure" in signed_in.headers["set-cookie"].lower()


async def test_a_wrong_password_is_refused_next_to_the_field_keeping_the_email(
    app: FastAPI, alice: User
) -> None:
    async with make_client(app) as http:
        form = await http.get("/signin")
        refused = await http.post(
            "/signin",
            data={"csrf": csrf_of(form.text), "email": alice.email, "password": "wrong password"},
            headers=SAME_ORIGIN,
        )
        home = await http.get("/")

    assert refused.status_code == 401, refused.text
    assert errors_of(refused.text) == {"password": "Incorrect email or password"}
    assert value_of(refused.text, "email") == alice.email
    assert value_of(refused.text, "password") == ""  # a password is never sent back
    assert "taskhub_session" not in refused.headers.get("set-cookie", "")
    assert home.status_code == 303
    assert home.headers["location"] == "/signin"


async def test_sign_up_errors_are_shown_next_to_their_fields(app: FastAPI, alice: User) -> None:
    async with make_client(app) as http:
        form = await http.get("/signup")
        token = csrf_of(form.text)
        invalid = await http.post(
            "/signup",
            data={"csrf": token, "email": "not-an-email", "password": "short"},
            headers=SAME_ORIGIN,
        )
        taken = await http.post(
            "/signup",
            data={"csrf": token, "email": alice.email, "password": PASSWORD},
            headers=SAME_ORIGIN,
        )

    assert invalid.status_code == 422, invalid.text
    assert set(errors_of(invalid.text)) == {"email", "password"}
    assert value_of(invalid.text, "email") == "not-an-email"
    assert taken.status_code == 409, taken.text
    assert errors_of(taken.text) == {"email": "An account with this email already exists"}


async def test_sign_out_revokes_the_session_on_the_server(
    app: FastAPI, alice: User, browser: Browser
) -> None:
    http = await browser(alice)
    stolen = http.cookies["taskhub_session"]

    signed_out = await http.post(
        "/signout", data={"csrf": csrf_of((await http.get("/")).text)}, headers=SAME_ORIGIN
    )
    async with make_client(app) as thief:
        thief.cookies.set("taskhub_session", stolen)
        replay = await thief.get("/")

    assert signed_out.status_code == 303, signed_out.text
    assert signed_out.headers["location"] == "/signin"
    assert await _stored_hashes(app) == []
    assert replay.status_code == 303
    assert replay.headers["location"] == "/signin"


async def test_a_deactivated_users_session_stops_working_at_once(
    app: FastAPI, make_user: MakeUser, browser: Browser
) -> None:
    bob = await make_user()
    http = await browser(bob)
    assert (await http.get("/")).status_code == 200
    root = await make_user()
    await promote(app, root)

    async with make_client(app) as admin:
        assert (await admin_sign_in(admin, root)).status_code == 302
        deactivated = await admin.get(
            f"/admin/user/action/deactivate?pks={bob.id}",
            headers={"Sec-Fetch-Site": "same-origin"},
        )
    after = await http.get("/")

    assert deactivated.status_code in (200, 302), deactivated.text
    assert after.status_code == 303
    assert after.headers["location"] == "/signin"


async def test_the_session_cookie_does_not_authenticate_the_api(
    alice: User, browser: Browser
) -> None:
    http = await browser(alice)

    me = await http.get("/api/v1/users/me")
    created = await http.post("/api/v1/tasks", json={"title": "via cookie"}, headers=SAME_ORIGIN)

    assert me.status_code == 401, me.text
    assert created.status_code == 401, created.text


async def test_signed_in_pages_are_not_cached_and_carry_the_strict_policy(
    alice: User, browser: Browser, client: httpx.AsyncClient
) -> None:
    http = await browser(alice)

    pages = [await http.get(path) for path in ("/", "/projects", "/tasks/new", "/signin")]
    script = await client.get("/static/web/app.js")

    for page in pages:
        assert page.status_code == 200, page.text
        assert page.headers["content-security-policy"] == (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "same-origin"
        assert "<script>" not in page.text  # no inline script
        assert " style=" not in page.text  # no inline style
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))

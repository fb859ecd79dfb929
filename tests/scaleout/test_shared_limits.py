"""Rate limits are counted in Redis, across instances (issue 3, "Redis")."""

from __future__ import annotations

import pytest

from tests.support.cluster import Pair, postgres_only
from tests.support.factories import User

pytestmark = postgres_only

LIMIT = 20
INSTANCE_ENV = {"TASKHUB_RATE_LIMIT_PER_MINUTE": str(LIMIT)}
LOGIN_FAILURES_PER_EMAIL = 10  # the default


async def spend(pair: Pair, user: User, requests: int) -> list[int]:
    """`requests` authenticated requests, alternating A, B, A, …; their status codes."""
    codes = []
    for i in range(requests):
        instance = pair.a if i % 2 == 0 else pair.b
        codes.append((await instance.request("GET", "/api/v1/users/me", user)).status_code)
    return codes


@pytest.mark.parametrize("last", ["A", "B"])
async def test_request_over_the_limit_is_429_whichever_instance_gets_it(
    pair: Pair, last: str
) -> None:
    user = await pair.new_user()
    assert await spend(pair, user, LIMIT) == [200] * LIMIT

    over = await (pair.a if last == "A" else pair.b).request("GET", "/api/v1/users/me", user)

    assert over.status_code == 429, over.text
    assert 1 <= int(over.headers["Retry-After"]) <= 60


async def test_limit_of_one_user_leaves_another_user_served_on_both_instances(
    pair: Pair,
) -> None:
    spent, other = await pair.new_user(), await pair.new_user()
    await spend(pair, spent, LIMIT + 1)

    codes = [(await i.request("GET", "/api/v1/users/me", other)).status_code for i in pair]

    assert codes == [200, 200]


async def test_login_failures_counted_across_instances_then_429(pair: Pair) -> None:
    user = await pair.new_user()
    wrong = {"username": user.email, "password": "not the password"}
    failures = [
        (await (pair.a if i % 2 == 0 else pair.b).http.post("/api/v1/auth/token", data=wrong))
        for i in range(LOGIN_FAILURES_PER_EMAIL)
    ]
    assert [r.status_code for r in failures] == [401] * LOGIN_FAILURES_PER_EMAIL, [
        r.text for r in failures
    ]

    blocked = await pair.b.http.post(
        "/api/v1/auth/token", data={"username": user.email, "password": user.password}
    )

    assert blocked.status_code == 429, blocked.text
    assert int(blocked.headers["Retry-After"]) >= 1

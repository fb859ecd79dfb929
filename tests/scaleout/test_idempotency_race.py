"""Idempotency keys across two server processes sharing PostgreSQL and Redis (SPEC §10).

Duplicates of one request, sent at once to both instances, run once: one answer is the
first execution, every other one is a 409 (still running) or a replay of that answer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx

from tests.support.cluster import Pair, postgres_only
from tests.support.factories import User
from tests.support.pats import bearer, mint_token

pytestmark = postgres_only

ROUNDS = 5
PER_INSTANCE = 4


def _kind(response: httpx.Response) -> str:
    if response.headers.get("idempotent-replayed") == "true":
        return f"replay {response.status_code}"
    return str(response.status_code)


async def _titles(pair: Pair, user: User) -> list[str]:
    response = await pair.a.request("GET", "/api/v1/tasks", user, params={"limit": 100})
    assert response.status_code == 200, response.text
    return sorted(task["title"] for task in response.json()["items"])


async def test_duplicates_racing_on_two_instances_create_exactly_one_task(pair: Pair) -> None:
    user = await pair.new_user()
    seen: Counter[str] = Counter()

    for round_ in range(ROUNDS):
        key = f"race-{uuid.uuid4()}"
        headers = {**user.headers, "Idempotency-Key": key}
        body = {"title": f"round {round_}"}
        sends = [
            instance.http.post("/api/v1/tasks", json=body, headers=headers)
            for instance in pair
            for _ in range(PER_INSTANCE)
        ]
        answers = await asyncio.gather(*sends)

        kinds = Counter(_kind(a) for a in answers)
        seen.update(kinds)
        assert kinds["201"] == 1, (kinds, pair.logs())
        assert set(kinds) <= {"201", "409", "replay 201"}, [a.text for a in answers]
        first = next(a for a in answers if _kind(a) == "201")
        assert all(a.content == first.content for a in answers if _kind(a) == "replay 201")

    assert await _titles(pair, user) == [f"round {r}" for r in range(ROUNDS)]
    print(f"\nidempotency race, {ROUNDS} rounds x {2 * PER_INSTANCE} requests: {dict(seen)}")


async def test_a_token_revoked_on_one_instance_is_refused_by_the_other_at_once(
    pair: Pair,
) -> None:
    user = await pair.new_user()
    token = await mint_token(pair.a.http, user.headers, ["tasks:read"])
    warm = await pair.b.http.get("/api/v1/tasks", headers=bearer(token["token"]))
    assert warm.status_code == 200, warm.text

    revoked = await pair.a.http.delete(f"/api/v1/tokens/{token['id']}", headers=user.headers)

    assert revoked.status_code == 204, revoked.text
    refused = await pair.b.http.get("/api/v1/tasks", headers=bearer(token["token"]))
    assert refused.status_code == 401, refused.text

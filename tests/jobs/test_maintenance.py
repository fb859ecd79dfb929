"""The periodic maintenance job (`taskhub.maintenance`, also run hourly by the embedded loop).

The assertions are on the database's end state, not on returned counts: the shared app's
own loop runs the same maintenance at start-up and may get there first.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from taskhub.auth.models import RefreshToken
from taskhub.db import utcnow
from taskhub.jobs.maintenance import run_maintenance
from taskhub.jobs.models import JobStatus, OutboxMessage
from tests.support.activity import activity_of
from tests.support.factories import MakeTask, MakeUser, User
from tests.support.http import expect
from tests.support.tokens import expire_refresh_tokens


async def _refresh_token_users(app: FastAPI) -> list[str]:
    async with app.state.db.reader() as session:
        return [str(u) for u in (await session.scalars(select(RefreshToken.user_id))).all()]


async def _complete(client: httpx.AsyncClient, user: User, task_id: str) -> None:
    expect(
        await client.patch(f"/api/v1/tasks/{task_id}", json={"done": True}, headers=user.headers),
        200,
    )
    # Created, then completed: both jobs are done.
    assert len(await activity_of(client, user, task_id, expected=2)) == 2


async def test_maintenance_purges_expired_refresh_tokens_and_keeps_live_ones(
    app: FastAPI, make_user: MakeUser
) -> None:
    expired, live = await make_user(), await make_user()
    await expire_refresh_tokens(app.state.db, expired.id)

    await run_maintenance(app.state.db)

    assert await _refresh_token_users(app) == [live.id]


async def test_maintenance_purges_done_outbox_rows_older_than_a_day(
    alice: User, app: FastAPI, client: httpx.AsyncClient, make_task: MakeTask
) -> None:
    old, recent = await make_task(alice), await make_task(alice)
    await _complete(client, alice, old["id"])
    await _complete(client, alice, recent["id"])
    async with app.state.db.writer() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.payload["task_id"].as_string() == old["id"])
            .values(finished_at=utcnow() - timedelta(days=1, minutes=1))
        )
        await session.commit()

    await run_maintenance(app.state.db)

    async with app.state.db.reader() as session:
        left = (await session.execute(select(OutboxMessage.payload, OutboxMessage.status))).all()
    assert [(p["task_id"], s) for p, s in left] == [(recent["id"], JobStatus.done)] * 2
    # The activity the purged rows wrote stays: a row was only the job's receipt.
    assert len(await activity_of(client, alice, old["id"], expected=2)) == 2


async def test_maintenance_keeps_dead_outbox_rows_for_thirty_days(
    app: FastAPI, make_user: MakeUser
) -> None:
    now = utcnow()
    async with app.state.db.writer() as session:
        for age in (timedelta(days=29), timedelta(days=31)):
            session.add(
                OutboxMessage(
                    job="task.activity",
                    payload={"age_days": age.days},
                    status=JobStatus.dead,
                    finished_at=now - age,
                    last_error="RuntimeError: boom",
                )
            )
        await session.commit()

    await run_maintenance(app.state.db)

    async with app.state.db.reader() as session:
        left = (await session.scalars(select(OutboxMessage.payload))).all()
    assert [p["age_days"] for p in left] == [29]

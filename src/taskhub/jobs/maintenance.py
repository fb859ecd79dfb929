"""Periodic housekeeping: expired refresh tokens and idempotency keys, spent outbox rows."""

from __future__ import annotations

from datetime import timedelta

from taskhub.auth.service import purge_expired_refresh_tokens
from taskhub.db import Database, utcnow
from taskhub.idempotency.store import purge_expired as purge_expired_idempotency_keys
from taskhub.jobs import outbox
from taskhub.ops.logging import get_logger

log = get_logger(__name__)

KEEP_DONE = timedelta(days=1)
KEEP_DEAD = timedelta(days=30)  # long enough for someone to look at why they died


async def run_maintenance(database: Database) -> dict[str, int]:
    now = utcnow()
    async with database.writer() as session:
        tokens = await purge_expired_refresh_tokens(session, now)
        keys = await purge_expired_idempotency_keys(session, now)
        done, dead = await outbox.purge_finished(
            session, done_before=now - KEEP_DONE, dead_before=now - KEEP_DEAD
        )
        await session.commit()
    counts = {
        "refresh_tokens": tokens,
        "idempotency_keys": keys,
        "outbox_done": done,
        "outbox_dead": dead,
    }
    log.info("maintenance", **counts)
    return counts

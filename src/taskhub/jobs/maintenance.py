"""Periodic housekeeping: expired refresh tokens and spent outbox rows."""

from __future__ import annotations

from datetime import timedelta

from taskhub.auth.service import purge_expired_refresh_tokens
from taskhub.db import Database, utcnow
from taskhub.jobs import outbox
from taskhub.ops.logging import get_logger

log = get_logger(__name__)

KEEP_DONE = timedelta(days=1)
KEEP_DEAD = timedelta(days=30)  # long enough for someone to look at why they died


async def run_maintenance(database: Database) -> dict[str, int]:
    now = utcnow()
    async with database.writer() as session:
        tokens = await purge_expired_refresh_tokens(session, now)
        done, dead = await outbox.purge_finished(
            session, done_before=now - KEEP_DONE, dead_before=now - KEEP_DEAD
        )
        await session.commit()
    counts = {"refresh_tokens": tokens, "outbox_done": done, "outbox_dead": dead}
    log.info("maintenance", **counts)
    return counts

"""When a failed delivery is tried again: exponential backoff with jitter, then give up.

Attempt n (1-based, n failures so far) waits 30 s * 2**(n-1), capped at 6 h, times a
jitter factor in [0.75, 1.25) so that deliveries that failed together do not retry
together. After MAX_ATTEMPTS attempts the delivery is given up. Even with every factor
at its minimum the 15 waits add up to about 29 h (SPEC §9: retried for at least a
day), at its maximum to about 48 h.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 16
JITTER_LOW = 0.75
JITTER_HIGH = 1.25


def retry_delay(failed_attempts: int, rng: random.Random | None = None) -> timedelta | None:
    """How long to wait after `failed_attempts` failures; None: give up."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts starts at 1")
    if failed_attempts >= MAX_ATTEMPTS:
        return None
    base = min(BASE_DELAY * 2 ** min(failed_attempts - 1, 20), MAX_DELAY)
    factor = (rng or _system_random).uniform(JITTER_LOW, JITTER_HIGH)
    delay: timedelta = base * factor
    return delay


def retry_schedule_bounds() -> tuple[timedelta, timedelta]:
    """The shortest and longest total wait before giving up (for docs and tests)."""
    total = sum(
        (min(BASE_DELAY * 2 ** min(n - 1, 20), MAX_DELAY) for n in range(1, MAX_ATTEMPTS)),
        timedelta(),
    )
    return total * JITTER_LOW, total * JITTER_HIGH


# Jitter needs spread, not unpredictability; SystemRandom keeps it free of shared seeds.
_system_random = random.SystemRandom()


# A webhook whose deliveries have all failed for this long is disabled (SPEC §9): by
# then at least one delivery has used up its whole retry schedule, so the receiver has
# been down for more than a day, not just restarting.
DISABLE_AFTER = timedelta(days=3)


def should_disable(failing_since: datetime | None, now: datetime) -> bool:
    """Whether a webhook failing without a success since `failing_since` is disabled."""
    return failing_since is not None and now - failing_since >= DISABLE_AFTER

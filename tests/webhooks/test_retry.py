"""Backoff: exponential with jitter, at least a day in total, then give up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskhub.webhooks.retry import (
    BASE_DELAY,
    MAX_ATTEMPTS,
    MAX_DELAY,
    retry_delay,
    retry_schedule_bounds,
    should_disable,
)


def waits(rng: random.Random) -> list[timedelta]:
    out: list[timedelta] = []
    attempt = 1
    while (delay := retry_delay(attempt, rng)) is not None:
        out.append(delay)
        attempt += 1
    return out


@given(st.integers(min_value=0, max_value=2**32))
def test_every_schedule_covers_a_day_and_ends(seed: int) -> None:
    schedule = waits(random.Random(seed))
    assert len(schedule) == MAX_ATTEMPTS - 1
    assert sum(schedule, timedelta()) >= timedelta(hours=24)
    assert sum(schedule, timedelta()) <= timedelta(hours=49)
    assert all(d > timedelta() for d in schedule)


@given(st.integers(min_value=1, max_value=MAX_ATTEMPTS - 1), st.integers(0, 2**32))
def test_each_wait_is_the_exponential_base_within_jitter(attempt: int, seed: int) -> None:
    base = min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY)
    delay = retry_delay(attempt, random.Random(seed))
    assert delay is not None
    assert base * 0.75 <= delay <= base * 1.25


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    assert len({retry_delay(3, rng) for _ in range(20)}) == 20


def test_gives_up_after_the_last_attempt() -> None:
    assert retry_delay(MAX_ATTEMPTS) is None
    assert retry_delay(MAX_ATTEMPTS + 100) is None


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        retry_delay(0)


def test_documented_bounds_cover_a_day() -> None:
    shortest, longest = retry_schedule_bounds()
    assert shortest >= timedelta(hours=24)
    assert longest < timedelta(hours=49)


def test_webhook_is_disabled_after_three_days_of_failures_only() -> None:
    now = datetime(2026, 5, 10, 12, tzinfo=UTC)
    assert not should_disable(None, now)
    assert not should_disable(now - timedelta(days=2, hours=23), now)
    assert should_disable(now - timedelta(days=3), now)

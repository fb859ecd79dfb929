"""Recurrence rules: validation, next occurrence on the task's wall clock, bounds."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskhub.errors import Invalid
from taskhub.recurrence import (
    InvalidRecurrence,
    advance,
    next_occurrence,
    parse_rule,
    parse_timezone,
    validate,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def berlin(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold)


# --- DST: Europe/Berlin springs forward 2026-03-29 02:00→03:00, falls back 2026-10-25 03:00→02:00


def test_daily_0900_berlin_keeps_local_time_across_spring_forward() -> None:
    nxt = next_occurrence("FREQ=DAILY", berlin(2026, 3, 28, 9, 0), "Europe/Berlin")
    assert nxt == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert nxt is not None
    assert nxt.astimezone(BERLIN).hour == 9


def test_daily_0900_berlin_keeps_local_time_across_fall_back() -> None:
    nxt = next_occurrence("FREQ=DAILY", berlin(2026, 10, 24, 9, 0), "Europe/Berlin")
    assert nxt == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert nxt is not None
    assert nxt.astimezone(BERLIN).hour == 9


def test_result_is_utc() -> None:
    nxt = next_occurrence("FREQ=DAILY", berlin(2026, 3, 28, 9, 0), "Europe/Berlin")
    assert nxt is not None
    assert nxt.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "expected", "local"),
    [
        # 02:30 does not exist on 2026-03-29 in Berlin: read with the pre-gap offset
        # (+01:00), it is 01:30 UTC, i.e. 03:30 CEST.
        (berlin(2026, 3, 28, 2, 30), datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "03:30 CEST"),
        # 02:30 happens twice on 2026-10-25 in Berlin (CEST then CET): the first is chosen.
        (berlin(2026, 10, 24, 2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "02:30 CEST"),
    ],
)
def test_a_daily_0230_across_a_dst_change(start: datetime, expected: datetime, local: str) -> None:
    nxt = next_occurrence("FREQ=DAILY", start, "Europe/Berlin")
    assert nxt == expected
    assert nxt is not None
    assert nxt.astimezone(BERLIN).strftime("%H:%M %Z") == local


def test_pinned_0230_returns_to_0230_after_the_gap() -> None:
    rule = "FREQ=DAILY;BYHOUR=2;BYMINUTE=30"
    in_gap = next_occurrence(rule, berlin(2026, 3, 28, 2, 30), "Europe/Berlin")
    assert in_gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    after = next_occurrence(rule, in_gap, "Europe/Berlin")
    assert after == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # 02:30 CEST again


def test_from_the_second_0230_the_next_day_is_0230_cet() -> None:
    second = berlin(2026, 10, 25, 2, 30, fold=1)
    assert second.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    nxt = next_occurrence("FREQ=DAILY", second, "Europe/Berlin")
    assert nxt == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_weekly_new_york_across_us_spring_forward() -> None:
    # US DST starts 2026-03-08: Monday 08:00 EST then Monday 08:00 EDT.
    current = datetime(2026, 3, 2, 8, 0, tzinfo=NEW_YORK)
    nxt = next_occurrence("FREQ=WEEKLY;BYDAY=MO", current, "America/New_York")
    assert nxt == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def test_same_instant_in_other_timezones_gives_other_instants() -> None:
    current = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    in_utc = next_occurrence("FREQ=DAILY", current, "UTC")
    in_berlin = next_occurrence("FREQ=DAILY", current, "Europe/Berlin")
    assert in_utc == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert in_berlin == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_monthly_31st_skips_short_months() -> None:
    current = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    assert next_occurrence("FREQ=MONTHLY;BYMONTHDAY=31", current, "UTC") == datetime(
        2026, 3, 31, 9, 0, tzinfo=UTC
    )


def test_feb_29_on_a_monday_is_found_years_ahead() -> None:
    current = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    nxt = next_occurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", current, "UTC")
    assert nxt == datetime(2044, 2, 29, 9, 0, tzinfo=UTC)


# --- COUNT and UNTIL


def test_count_counts_the_current_due_date() -> None:
    due = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    rule: str | None = "FREQ=DAILY;COUNT=3"
    dues = [due]
    while rule is not None:
        step = advance(rule, dues[-1], "UTC")
        if step is None:
            break
        dues.append(step.due_at)
        rule = step.rule
    assert dues == [due, due + timedelta(days=1), due + timedelta(days=2)]
    assert rule == "FREQ=DAILY;COUNT=1"


def test_advance_keeps_a_rule_without_count_as_sent() -> None:
    step = advance("freq=weekly;byday=MO", datetime(2026, 5, 4, 9, tzinfo=UTC), "UTC")
    assert step is not None
    assert step.rule == "freq=weekly;byday=MO"
    assert step.due_at == datetime(2026, 5, 11, 9, tzinfo=UTC)


def test_until_ends_the_series() -> None:
    rule = "FREQ=DAILY;UNTIL=20260502T090000Z"
    assert next_occurrence(rule, datetime(2026, 5, 1, 9, tzinfo=UTC), "UTC") == datetime(
        2026, 5, 2, 9, tzinfo=UTC
    )
    assert next_occurrence(rule, datetime(2026, 5, 2, 9, tzinfo=UTC), "UTC") is None


@given(st.integers(min_value=1, max_value=30))
def test_count_n_gives_exactly_n_occurrences(n: int) -> None:
    rule: str = f"FREQ=WEEKLY;BYDAY=TU,FR;COUNT={n}"
    due = datetime(2026, 1, 6, 18, 0, tzinfo=UTC)
    seen = 1
    while (step := advance(rule, due, "Europe/Berlin")) is not None:
        seen, due, rule = seen + 1, step.due_at, step.rule
    assert seen == n


# --- validation


@pytest.mark.parametrize(
    "rule",
    [
        "",
        "FREQ=SECONDLY",
        "FREQ=MINUTELY",
        "FREQ=FORTNIGHTLY",
        "BYDAY=MO",
        "RRULE:FREQ=DAILY",
        "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY",
        "FREQ=DAILY;DTSTART=20260101T000000Z",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=-1",
        "FREQ=YEARLY;INTERVAL=11",
        "FREQ=DAILY;INTERVAL=1000000000000",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=10001",
        "FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z",
        "FREQ=DAILY;UNTIL=20270101",
        "FREQ=DAILY;UNTIL=20270101T000000",
        "FREQ=DAILY;UNTIL=20271341T000000Z",
        "FREQ=DAILY;BYSECOND=1",
        "FREQ=DAILY;BYEASTER=0",
        "FREQ=DAILY;BYHOUR=24",
        "FREQ=DAILY;BYMINUTE=60",
        "FREQ=DAILY;BYMONTH=13",
        "FREQ=DAILY;BYMONTHDAY=0",
        "FREQ=DAILY;BYMONTHDAY=32",
        "FREQ=DAILY;BYDAY=XX",
        "FREQ=DAILY;BYDAY=54MO",
        "FREQ=WEEKLY;WKST=XX",
        "FREQ=HOURLY;BYMINUTE=0,30",
        "FREQ=DAILY;BYHOUR=1,2,3,4,5;BYMINUTE=0,10,20,30,40,50",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31",
        "FREQ=DAILY;;",
        # RFC 5545 3.3.10 part/FREQ rules, and taskhub's narrower ones
        "FREQ=WEEKLY;BYWEEKNO=1",
        "FREQ=MONTHLY;BYYEARDAY=100",
        "FREQ=DAILY;BYYEARDAY=366;BYMONTH=1",
        "FREQ=WEEKLY;BYMONTHDAY=1",
        "FREQ=DAILY;BYDAY=1MO",
        "FREQ=WEEKLY;BYDAY=-1FR",
        "FREQ=DAILY;BYSETPOS=1;BYHOUR=9,10",
        "FREQ=HOURLY;BYMONTH=2",
        "FREQ=HOURLY;BYMONTHDAY=1",
        "FREQ",
        "FREQ=DAILY;BYDAY=MO;" + "X" * 600,
    ],
)
def test_invalid_rules_are_refused(rule: str) -> None:
    with pytest.raises(InvalidRecurrence):
        parse_rule(rule)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=MO",
        "freq=weekly;byday=mo,we,fr",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;INTERVAL=10",
        "FREQ=HOURLY;INTERVAL=4",
        "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30",
        "FREQ=DAILY;COUNT=10",
        "FREQ=WEEKLY;UNTIL=20271231T235959Z;WKST=SU",
    ],
)
def test_valid_rules_are_accepted(rule: str) -> None:
    assert parse_rule(rule).text == rule


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1",
        "FREQ=YEARLY;BYWEEKNO=1;BYMONTH=6",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=-30",
        "FREQ=MONTHLY;INTERVAL=12;BYMONTH=2",  # from March: every 12 months is never February
    ],
)
def test_rules_that_never_occur_are_refused_when_set(rule: str) -> None:
    with pytest.raises(InvalidRecurrence, match="no occurrences"):
        validate(rule, datetime(2026, 3, 2, 9, tzinfo=UTC), "UTC")


def test_interval_that_never_meets_its_filter_is_refused_from_that_due_date() -> None:
    rule = "FREQ=DAILY;INTERVAL=7;BYDAY=TU"
    with pytest.raises(InvalidRecurrence, match="no occurrences"):
        validate(rule, datetime(2026, 3, 2, 9, tzinfo=UTC), "UTC")  # a Monday
    assert validate(rule, datetime(2026, 3, 3, 9, tzinfo=UTC), "UTC").text == rule  # a Tuesday


def test_a_rule_needs_a_due_date() -> None:
    with pytest.raises(InvalidRecurrence, match="due_at"):
        validate("FREQ=DAILY", None, "UTC")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Mars/Olympus",
        "Europe/Berlinn",
        "../../etc/passwd",
        "/etc/localtime",
        "Europe",
        " UTC",
        "UTC\x00",
        "x" * 65,
    ],
)
def test_unknown_timezone_is_a_validation_error(name: str) -> None:
    with pytest.raises(InvalidRecurrence) as caught:
        parse_timezone(name)
    assert caught.value.loc == ("body", "timezone")
    with pytest.raises(InvalidRecurrence):
        next_occurrence("FREQ=DAILY", datetime(2026, 1, 1, tzinfo=UTC), name)


def test_invalid_recurrence_is_a_422_domain_error_and_a_value_error() -> None:
    with pytest.raises(InvalidRecurrence) as caught:
        parse_rule("FREQ=SECONDLY")
    assert isinstance(caught.value, Invalid)
    assert isinstance(caught.value, ValueError)
    assert caught.value.status_code == 422
    assert caught.value.loc == ("body", "recurrence")


def test_occurrences_are_whole_seconds() -> None:
    current = datetime(2026, 1, 1, 9, 0, 0, 123456, tzinfo=UTC)
    assert next_occurrence("FREQ=DAILY", current, "UTC") == datetime(2026, 1, 2, 9, tzinfo=UTC)


def test_naive_current_due_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_occurrence("FREQ=DAILY", datetime(2026, 1, 1), "UTC")


# --- properties

RULES = st.sampled_from(
    [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;BYDAY=MO,TH",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=HOURLY;INTERVAL=5",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2300, 1, 1), timezones=st.just(UTC)
)
ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "America/Sao_Paulo",
    ]
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(RULES, INSTANTS)
def test_in_utc_the_bounded_search_matches_plain_dateutil(rule: str, current: datetime) -> None:
    plain = rrulestr(rule, dtstart=current.replace(tzinfo=None)).after(current.replace(tzinfo=None))
    assert plain is not None
    assert next_occurrence(rule, current, "UTC") == plain.replace(tzinfo=UTC)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(RULES, INSTANTS, ZONES)
def test_next_is_always_later(rule: str, current: datetime, zone: str) -> None:
    nxt = next_occurrence(rule, current, zone)
    assert nxt is not None
    assert nxt > current
    assert nxt.tzinfo is UTC


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)), ZONES)
def test_daily_keeps_the_wall_clock_unless_it_falls_in_a_gap(local: datetime, zone: str) -> None:
    tz = ZoneInfo(zone)
    current = local.replace(tzinfo=tz, microsecond=0)
    nxt = next_occurrence("FREQ=DAILY", current, zone)
    assert nxt is not None
    wall = current.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    intended = (wall + timedelta(days=1)).replace(tzinfo=tz)
    exists = intended.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == intended.replace(
        tzinfo=None
    )
    if exists:
        assert nxt.astimezone(tz).replace(tzinfo=None) == wall + timedelta(days=1)
    else:
        assert nxt == intended.astimezone(UTC)


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_arbitrary_text_is_accepted_or_a_validation_error(text: str) -> None:
    with contextlib.suppress(InvalidRecurrence):
        parse_rule(text)

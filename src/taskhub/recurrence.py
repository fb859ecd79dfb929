"""RFC 5545 recurrence rules: validation and the next occurrence, in the task's timezone.

Expansion is python-dateutil's (`rrulestr`); this module decides what a task may carry
and keeps the computation bounded.

Semantics (SPEC §9):

- A rule is the bare RRULE value (`FREQ=WEEKLY;BYDAY=MO`): no `RRULE:` prefix, no
  DTSTART/RDATE/EXDATE lines. The series starts at the task's current `due_at`.
- Occurrences are computed on the wall clock of the task's IANA `timezone`, so "daily at
  09:00 Europe/Berlin" stays at 09:00 local across both DST changes.
- A wall time that does not exist (02:30 on a spring-forward day) is read with the offset
  in force before the gap, which lands it one gap later (03:30 CEST). A wall time that
  exists twice (02:30 on a fall-back day) is the earlier instant (CEST, fold=0).
  Because only `due_at` is stored, a series whose time of day falls inside the gap
  continues from the shifted time; pin the time with BYHOUR/BYMINUTE to avoid that.
- Occurrences are whole seconds (dateutil drops microseconds).
- COUNT counts the current due date as the first occurrence: `advance` returns the rule
  with COUNT reduced by one, and nothing once COUNT reaches 1. UNTIL must be a UTC
  date-time (`YYYYMMDDTHHMMSSZ`); COUNT and UNTIL together are refused, as RFC 5545 says.

Bounds: FREQ=SECONDLY/MINUTELY and BYSECOND are refused, INTERVAL spans at most ten
years, at most 24 occurrences a day; parts go only with the FREQs RFC 5545 allows them
(BYWEEKNO with YEARLY, ...), HOURLY takes no date filters and BYSETPOS needs MONTHLY or
YEARLY. dateutil walks
period by period until year 9999 when a filter never matches (FREQ=DAILY;BYMONTH=2;
BYMONTHDAY=30 costs seconds), so the search runs on a copy of the series moved forward
by whole 400-year Gregorian cycles, where the calendar (leap years, weekdays, ISO weeks)
repeats exactly: dateutil's own stop at year 9999 then ends the search within
_MIN_HORIZON_YEARS + 400 years of the current date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from taskhub.errors import Invalid

MAX_RULE_LENGTH = 500
MAX_COUNT = 10_000
MAX_TIMEZONE_LENGTH = 64
MAX_OCCURRENCES_PER_DAY = 24

# An INTERVAL spans at most about ten years of its unit.
MAX_INTERVAL = {"YEARLY": 10, "MONTHLY": 120, "WEEKLY": 520, "DAILY": 3660, "HOURLY": 87_840}

_CYCLE_YEARS = 400
_MAX_YEAR = 9999
_MIN_HORIZON_YEARS = 50
_PROBE_START = datetime(2001, 1, 1)
# Guard against a computed instant not later than the current one (a wall time moved by
# a DST gap); a handful of steps always gets past it.
_MAX_STEPS_PAST_CURRENT = 4

_DATE_FILTERS = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS")
_ALLOWED_KEYS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYHOUR", "BYMINUTE", "WKST"}
    | set(_DATE_FILTERS)
)
_INT_RANGES = {
    "BYMONTH": (1, 12, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYSETPOS": (1, 366, True),
    "BYHOUR": (0, 23, False),
    "BYMINUTE": (0, 59, False),
}
# RFC 5545 3.3.10's rules on which parts go with which FREQ, narrowed by taskhub (no
# date filters on HOURLY, BYSETPOS only within a month's or year's set): the
# combinations left out are the ones whose search runs longest without finding anything.
_PART_FREQS = {
    "BYWEEKNO": ("YEARLY",),
    "BYYEARDAY": ("YEARLY",),
    "BYMONTHDAY": ("YEARLY", "MONTHLY", "DAILY"),
    "BYSETPOS": ("YEARLY", "MONTHLY"),
    "BYMONTH": ("YEARLY", "MONTHLY", "WEEKLY", "DAILY"),
}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY_ITEM = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL_UTC = re.compile(r"^\d{8}T\d{6}Z$")
_RULE_CHARS = re.compile(r"^[A-Za-z0-9=;,+-]+$")
# Month lengths in a leap year: a BYMONTH/BYMONTHDAY pair outside them never occurs.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class InvalidRecurrence(Invalid, ValueError):
    """A rule or timezone a task cannot carry: 422 from a service, ValueError in a schema."""

    def __init__(self, detail: str, field: str = "recurrence") -> None:
        super().__init__(detail, loc=("body", field))


@dataclass(frozen=True, slots=True)
class Rule:
    """A validated rule: `text` as sent, the parts dateutil expands, COUNT and UNTIL."""

    text: str
    expansion: str
    count: int | None
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Advance:
    """Where a recurring task goes when completed: its next due date and rule to store."""

    due_at: datetime
    rule: str


def parse_timezone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or InvalidRecurrence (field `timezone`)."""
    if not name or len(name) > MAX_TIMEZONE_LENGTH or name != name.strip():
        raise InvalidRecurrence("Unknown timezone", field="timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a path-like key ("../etc/passwd"); OSError: a directory name.
        raise InvalidRecurrence("Unknown timezone", field="timezone") from None


def parse_rule(text: str) -> Rule:
    """Validate an RRULE value; InvalidRecurrence says what is wrong with it."""
    if not text or len(text) > MAX_RULE_LENGTH or not _RULE_CHARS.match(text):
        raise InvalidRecurrence("Recurrence must be an RRULE value such as FREQ=WEEKLY;BYDAY=MO")
    parts = _split(text.upper())
    freq = parts.get("FREQ")
    if freq is None:
        raise InvalidRecurrence("Recurrence needs FREQ")
    if freq in ("SECONDLY", "MINUTELY"):
        raise InvalidRecurrence("FREQ=SECONDLY and FREQ=MINUTELY are not supported")
    if freq not in MAX_INTERVAL:
        raise InvalidRecurrence("FREQ must be YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY")
    _int(parts, "INTERVAL", 1, MAX_INTERVAL[freq])
    count = _int(parts, "COUNT", 1, MAX_COUNT)
    until = _until(parts.get("UNTIL"))
    if count is not None and until is not None:
        raise InvalidRecurrence("COUNT and UNTIL cannot be combined")
    _check_filters(freq, parts)
    expansion = ";".join(f"{k}={v}" for k, v in parts.items() if k not in ("COUNT", "UNTIL"))
    try:
        # Let dateutil check what the grammar above leaves open (e.g. BYSETPOS without a set).
        rrulestr(expansion, dtstart=_PROBE_START)
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidRecurrence(f"Invalid recurrence rule: {exc}") from None
    rule = Rule(text=text, expansion=expansion, count=count, until=until)
    return rule


def validate(text: str, due_at: datetime | None, timezone: str) -> Rule:
    """What a task's rule must pass when set: syntax, a due date, and an occurrence from it.

    A rule whose filters never match from the due date on (FREQ=DAILY;INTERVAL=7;BYDAY=TU
    from a Monday) is refused here, so completing the task never has to search in vain.
    """
    rule = parse_rule(text)
    zone = parse_timezone(timezone)
    if due_at is None or due_at.tzinfo is None:
        raise InvalidRecurrence("A recurring task needs a due_at")
    wall = due_at.astimezone(zone).replace(tzinfo=None)
    if _bounded_after(rule, wall, inc=True) is None:
        raise InvalidRecurrence("Recurrence rule has no occurrences from the due date on")
    return rule


def next_occurrence(rule: str | Rule, current_due: datetime, timezone: str) -> datetime | None:
    """The first occurrence after `current_due` (aware), in UTC; None when the rule ends.

    COUNT is read as "occurrences left including the current one" (see `advance`).
    """
    parsed = rule if isinstance(rule, Rule) else parse_rule(rule)
    zone = parse_timezone(timezone)
    if current_due.tzinfo is None:
        raise ValueError("current_due must be timezone-aware")
    if parsed.count == 1:
        return None
    current_utc = current_due.astimezone(UTC)
    wall = current_utc.astimezone(zone).replace(tzinfo=None)
    for _ in range(_MAX_STEPS_PAST_CURRENT):
        found = _bounded_after(parsed, wall)
        if found is None:
            return None
        # fold=0: a repeated wall time is its earlier instant, a missing one moves past the gap.
        candidate = found.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if candidate > current_utc:
            if parsed.until is not None and candidate > parsed.until:
                return None
            return candidate
        wall = found
    return None


def advance(rule: str, current_due: datetime, timezone: str) -> Advance | None:
    """Completing a recurring task: its next due date and the rule to store, or None."""
    parsed = parse_rule(rule)
    due = next_occurrence(parsed, current_due, timezone)
    if due is None:
        return None
    stored = rule if parsed.count is None else _with_count(rule, parsed.count - 1)
    return Advance(due_at=due, rule=stored)


def _split(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InvalidRecurrence("Recurrence parts must be NAME=VALUE separated by ';'")
        if key not in _ALLOWED_KEYS:
            raise InvalidRecurrence(f"Recurrence part {key} is not supported")
        if key in parts:
            raise InvalidRecurrence(f"Recurrence part {key} is repeated")
        parts[key] = value
    return parts


def _int(parts: dict[str, str], key: str, low: int, high: int) -> int | None:
    raw = parts.get(key)
    if raw is None:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidRecurrence(f"{key} must be between {low} and {high}")
    return int(raw)


def _until(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    if not _UNTIL_UTC.match(raw):
        raise InvalidRecurrence("UNTIL must be a UTC date-time such as 20271231T235959Z")
    try:
        return datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidRecurrence("UNTIL is not a valid date-time") from None


def _int_list(key: str, raw: str) -> list[int]:
    low, high, signed = _INT_RANGES[key]
    values: list[int] = []
    for item in raw.split(","):
        digits = item[1:] if signed and item[:1] in "+-" and len(item) > 1 else item
        if not digits.isdigit() or not low <= int(digits) <= high:
            raise InvalidRecurrence(f"{key} values must be between {low} and {high}")
        values.append(-int(digits) if item.startswith("-") else int(digits))
    return values


def _check_filters(freq: str, parts: dict[str, str]) -> None:
    lists = {key: _int_list(key, parts[key]) for key in _INT_RANGES if key in parts}
    _check_byday(freq, parts)
    if "WKST" in parts and parts["WKST"] not in _WEEKDAYS:
        raise InvalidRecurrence("WKST must be a weekday such as MO")
    for key, allowed in _PART_FREQS.items():
        if key in parts and freq not in allowed:
            raise InvalidRecurrence(f"{key} cannot be used with FREQ={freq}")
    hours = len(lists.get("BYHOUR", range(24 if freq == "HOURLY" else 1)))
    if hours * len(lists.get("BYMINUTE", [0])) > MAX_OCCURRENCES_PER_DAY:
        raise InvalidRecurrence(f"At most {MAX_OCCURRENCES_PER_DAY} occurrences a day")
    months, days = lists.get("BYMONTH"), lists.get("BYMONTHDAY")
    if months and days and all(abs(day) > _MONTH_DAYS[m - 1] for m in months for day in days):
        raise InvalidRecurrence("Recurrence rule has no occurrences")


def _check_byday(freq: str, parts: dict[str, str]) -> None:
    if "BYDAY" not in parts:
        return
    for item in parts["BYDAY"].split(","):
        match = _BYDAY_ITEM.match(item)
        if match is None or (match.group(2) is not None and not 1 <= int(match.group(2)) <= 53):
            raise InvalidRecurrence("BYDAY values look like MO, 1MO or -1FR")
        if match.group(2) is not None and freq not in ("MONTHLY", "YEARLY"):
            # RFC 5545 3.3.10: a numbered weekday only means something in a month or year.
            raise InvalidRecurrence("A numbered BYDAY (1MO, -1FR) needs FREQ=MONTHLY or YEARLY")


def _with_count(text: str, count: int) -> str:
    return ";".join(
        f"COUNT={count}" if item.upper().startswith("COUNT=") else item for item in text.split(";")
    )


def _bounded_after(rule: Rule, wall: datetime, *, inc: bool = False) -> datetime | None:
    """The first wall time after `wall` (naive) that the rule yields, searched boundedly."""
    room = _MAX_YEAR - _MIN_HORIZON_YEARS - wall.year
    shift = max(0, room // _CYCLE_YEARS) * _CYCLE_YEARS
    start = wall.replace(year=wall.year + shift)
    series = rrulestr(rule.expansion, dtstart=start)
    assert isinstance(series, rrule)
    found = series.after(start, inc=inc)
    if found is None:
        return None
    assert isinstance(found, datetime)
    return found.replace(year=found.year - shift)

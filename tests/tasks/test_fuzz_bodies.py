"""Property: no JSON body, however odd, makes POST or PATCH on tasks answer 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.contract import TASK_FIELDS
from tests.support.factories import MakeTask, User
from tests.support.http import TASKS, task_url

# The public fields plus one the server owns: a body may name any of them.
FIELDS = (*TASK_FIELDS, "owner_id")

NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "x" * 201,
        "x" * 20_001,
        "2030-01-01T00:00:00",
        "2030-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "1893456000",
        "00000000-0000-0000-0000-000000000000",
        "%_\\",
        "true",
        "1",
    ]
)
TEXT = st.one_of(st.text(max_size=60), NASTY_TEXT)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    TEXT,
    st.uuids().map(str),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=25), st.dictionaries(TEXT, children, max_size=5)
    ),
    max_leaves=30,
)
TIMESTAMPS = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
VALID = {
    "title": st.text(min_size=1, max_size=200).filter(str.strip),
    "description": st.text(max_size=100),
    "done": st.booleans(),
    "priority": st.integers(min_value=0, max_value=4),
    "due_at": st.one_of(st.none(), TIMESTAMPS),
    "labels": st.lists(st.text(min_size=1, max_size=50), max_size=20),
    "position": st.integers(min_value=0, max_value=2**53 - 1),
}


@st.composite
def one_bad_field(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body with one field, real or not, set to nasty text or any JSON value.

    These reach past the schema to the database with edge values (NUL, extreme
    timestamps, huge integers), which wholly random bodies almost never do.
    """
    body: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {"title": VALID["title"]}, optional={k: v for k, v in VALID.items() if k != "title"}
        )
    )
    field = draw(st.sampled_from(FIELDS))
    body[field] = draw(st.one_of(NASTY_TEXT, st.lists(NASTY_TEXT, max_size=3), JSON_VALUES))
    return body


FIELD_BODIES = st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6)
BODIES = st.one_of(
    one_bad_field(),
    FIELD_BODIES,
    JSON_VALUES,
    st.dictionaries(TEXT, JSON_VALUES, max_size=4),
)

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _raw(body: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as \\ud800 escapes; NaN/Infinity are sent as
    # Python's json module writes them, which its parser (and so the server's) accepts.
    return json.dumps(body).encode()


def _assert_answered(response: httpx.Response, body: Any) -> None:
    assert response.status_code < 500, (body, response.status_code, response.text)
    if response.status_code >= 400:
        assert "detail" in response.json()


@FUZZ
@given(body=BODIES)
async def test_any_create_body_is_answered_without_5xx(
    client: httpx.AsyncClient, alice: User, body: Any
) -> None:
    headers = {**alice.headers, "Content-Type": "application/json"}

    response = await client.post(TASKS, content=_raw(body), headers=headers)

    _assert_answered(response, body)


@FUZZ
@given(body=BODIES)
async def test_any_patch_body_is_answered_without_5xx(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, body: Any
) -> None:
    task = await make_task(alice)
    headers = {**alice.headers, "Content-Type": "application/json"}

    response = await client.patch(task_url(task), content=_raw(body), headers=headers)

    _assert_answered(response, body)

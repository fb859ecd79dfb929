"""Signing: deliveries verify with the standardwebhooks library's own verifier."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from taskhub.webhooks.signing import (
    encode_event,
    generate_secret,
    new_message_id,
    signature_headers,
)


def test_secret_is_whsec_with_256_random_bits() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert len({generate_secret() for _ in range(100)}) == 100


def test_message_ids_are_unique() -> None:
    assert len({new_message_id() for _ in range(1000)}) == 1000


def test_event_body_has_type_timestamp_and_data() -> None:
    body = encode_event("task.created", {"id": "t1"}, datetime(2026, 5, 1, 9, tzinfo=UTC))
    assert orjson.loads(body) == {
        "type": "task.created",
        "timestamp": "2026-05-01T09:00:00Z",
        "data": {"id": "t1"},
    }


def test_signed_delivery_verifies_with_the_library_verifier() -> None:
    now = datetime.now(UTC)  # per test: a long run must not age the signature
    secret = generate_secret()
    body = encode_event("task.completed", {"id": "t1", "title": "Ünïcode ✓"}, now)
    headers = signature_headers(secret, "msg_1", body, now)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["data"]["title"] == "Ünïcode ✓"


@pytest.mark.parametrize("part", ["body", "id", "timestamp", "secret"])
def test_any_tampering_fails_verification(part: str) -> None:
    now = datetime.now(UTC)  # per test: a long run must not age the signature
    secret = generate_secret()
    body = encode_event("task.updated", {"id": "t1"}, now)
    headers = signature_headers(secret, "msg_1", body, now)
    verifier = Webhook(secret)
    if part == "body":
        body = body.replace(b"t1", b"t2")
    elif part == "id":
        headers["webhook-id"] = "msg_2"
    elif part == "timestamp":
        headers["webhook-timestamp"] = str(int(now.timestamp()) + 1)
    else:
        verifier = Webhook(generate_secret())
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, headers)


def test_signing_time_in_another_zone_is_the_same_instant() -> None:
    now = datetime.now(UTC)  # per test: a long run must not age the signature
    secret = generate_secret()
    body = b"{}"
    plus_two = now.astimezone(ZoneInfo("Europe/Berlin"))
    assert signature_headers(secret, "m", body, plus_two) == signature_headers(
        secret, "m", body, now
    )


def test_stale_timestamp_is_refused_by_the_verifier() -> None:
    now = datetime.now(UTC)  # per test: a long run must not age the signature
    secret = generate_secret()
    then = now - timedelta(minutes=10)
    body = encode_event("task.deleted", {"id": "t1"}, then)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, signature_headers(secret, "msg_1", body, then))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        signature_headers(generate_secret(), "m", b"{}", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        encode_event("task.created", {}, datetime(2026, 1, 1))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), JSON, max_size=6), st.text(min_size=1, max_size=40))
def test_any_payload_round_trips_through_the_verifier(data: dict[str, Any], msg_id: str) -> None:
    now = datetime.now(UTC)  # per test: a long run must not age the signature
    secret = generate_secret()
    body = encode_event("comment.created", data, now)
    msg_id = msg_id.replace(" ", "_")
    assert Webhook(secret).verify(body, signature_headers(secret, msg_id, body, now)) == {
        "type": "comment.created",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": data,
    }

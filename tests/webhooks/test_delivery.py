"""The delivery client against a real local receiver (allow_private, as in tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks import Webhook

from taskhub.webhooks.delivery import (
    MAX_RESPONSE_BYTES,
    BoundedRunner,
    DeliveryResult,
    WebhookClient,
)
from taskhub.webhooks.signing import encode_event, generate_secret, signature_headers
from tests.support.servers import free_port
from tests.webhooks.conftest import Receiver


def resolver_answering(*rounds: list[str], calls: list[str]):  # type: ignore[no-untyped-def]
    """A resolver whose n-th call answers rounds[n] (the last one repeats)."""

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return rounds[min(len(calls), len(rounds)) - 1]

    return resolve


def signed(secret: str) -> tuple[bytes, dict[str, str]]:
    now = datetime.now(UTC)
    body = encode_event("task.created", {"id": "t1", "title": "Write tests"}, now)
    return body, signature_headers(secret, "msg_42", body, now)


async def deliver_to(
    receiver: Receiver, path: str, *, allow_private: bool = True
) -> DeliveryResult:
    """One signed event delivered to `path` of the receiver by a fresh client."""
    body, headers = signed(generate_secret())
    async with WebhookClient(allow_private=allow_private) as webhooks:
        return await webhooks.deliver(receiver.url(path), body, headers)


async def test_receiver_verifies_the_delivery_with_the_library(receiver: Receiver) -> None:
    secret = generate_secret()
    body, headers = signed(secret)
    async with WebhookClient(allow_private=True) as client:
        result = await client.deliver(receiver.url("/ok"), body, headers)
    assert result.ok, result
    assert result.status == 200
    assert result.excerpt == '{"received": true}'
    [got] = receiver.requests
    assert got.body == body
    assert got.headers["content-type"] == "application/json"
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["data"] == {"id": "t1", "title": "Write tests"}


async def test_strict_client_refuses_loopback_without_sending(receiver: Receiver) -> None:
    result = await deliver_to(receiver, "/ok", allow_private=False)
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("refused:")
    assert receiver.requests == []


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    result = await deliver_to(receiver, "/redirect")
    assert not result.ok
    assert result.status == 302
    assert result.error == "redirect 302 not followed"
    assert [r.path for r in receiver.requests] == ["/redirect"]


async def test_huge_response_is_cut_at_64_kib(receiver: Receiver) -> None:
    result = await deliver_to(receiver, "/huge")
    assert result.ok
    assert result.truncated
    assert len(result.body) == MAX_RESPONSE_BYTES == 65536


async def test_error_status_is_a_failure_with_an_excerpt(receiver: Receiver) -> None:
    result = await deliver_to(receiver, "/fail")
    assert not result.ok
    assert result.status == 500
    assert result.error == "status 500"
    assert result.excerpt == "receiver exploded"
    assert not result.truncated


async def test_stalled_receiver_times_out(receiver: Receiver) -> None:
    body, headers = signed(generate_secret())
    timeout = httpx.Timeout(connect=5.0, read=0.2, write=5.0, pool=5.0)
    async with WebhookClient(allow_private=True, timeout=timeout) as client:
        result = await client.deliver(receiver.url("/stall"), body, headers)
    assert not result.ok
    assert result.error == "timed out"


async def test_deadline_bounds_the_whole_exchange(receiver: Receiver) -> None:
    body, headers = signed(generate_secret())
    async with WebhookClient(allow_private=True, deadline_seconds=0.2) as client:
        result = await client.deliver(receiver.url("/stall"), body, headers)
    assert result.error == "timed out"


async def test_closed_port_is_a_connect_failure() -> None:
    body, headers = signed(generate_secret())
    async with WebhookClient(allow_private=True) as client:
        result = await client.deliver(f"http://127.0.0.1:{free_port()}/", body, headers)
    assert not result.ok
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith("connect failed")


async def test_connects_to_the_vetted_address_with_the_name_as_host(receiver: Receiver) -> None:
    # The name does not exist in DNS: the request can only arrive if the client connects
    # to the address it vetted instead of resolving the name again.
    calls: list[str] = []
    resolve = resolver_answering(["127.0.0.1"], ["10.255.255.1"], calls=calls)
    body, headers = signed(generate_secret())
    async with WebhookClient(allow_private=True, resolver=resolve) as client:
        result = await client.deliver(receiver.url("/ok", host="hooks.rebind.test"), body, headers)
    assert result.ok, result
    assert result.address == "127.0.0.1"
    assert calls == ["hooks.rebind.test"]
    assert receiver.requests[0].headers["host"] == f"hooks.rebind.test:{receiver.port}"


async def test_rebinding_to_a_private_address_is_refused_at_delivery(receiver: Receiver) -> None:
    calls: list[str] = []
    resolve = resolver_answering(["93.184.216.34"], ["127.0.0.1"], calls=calls)
    url = receiver.url("/ok", host="hooks.rebind.test")
    body, headers = signed(generate_secret())
    async with WebhookClient(resolver=resolve) as client:
        target = await client.vet(url)  # at creation: public, accepted
        assert [str(a) for a in target.addresses] == ["93.184.216.34"]
        result = await client.deliver(url, body, headers)  # now it points inside
    assert not result.ok
    assert (
        result.error
        == "refused: Webhook URL resolves to a private, loopback, link-local or reserved address"
    )
    assert receiver.requests == []
    assert calls == ["hooks.rebind.test", "hooks.rebind.test"]


async def test_https_request_goes_to_the_ip_with_host_and_sni_of_the_name() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204, stream=httpx.ByteStream(b""))

    calls: list[str] = []
    resolve = resolver_answering(["93.184.216.34"], calls=calls)
    async with WebhookClient(resolver=resolve, transport=httpx.MockTransport(handler)) as client:
        result = await client.deliver("https://Hooks.Example.com/in?x=1#frag", b"{}", {})
    assert result.ok
    [request] = seen
    assert str(request.url) == "https://93.184.216.34/in?x=1"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.headers["accept-encoding"] == "identity"


async def test_next_vetted_address_is_tried_when_one_refuses(receiver: Receiver) -> None:
    # The receiver listens on 127.0.0.1 only: [::1] refuses (or is unreachable).
    calls: list[str] = []
    resolve = resolver_answering(["::1", "127.0.0.1"], calls=calls)
    async with WebhookClient(allow_private=True, resolver=resolve) as client:
        result = await client.deliver(receiver.url("/ok", host="hooks.multi.test"), b"{}", {})
    assert result.ok, result
    assert result.address == "127.0.0.1"
    assert calls == ["hooks.multi.test"]


async def test_bounded_runner_never_exceeds_its_limit() -> None:
    runner = BoundedRunner(3)
    in_flight = 0
    peak = 0

    async def work(n: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        return n * 2

    assert await runner.map(range(20), work) == [n * 2 for n in range(20)]
    assert peak == 3


def test_bounded_runner_needs_a_positive_limit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BoundedRunner(0)

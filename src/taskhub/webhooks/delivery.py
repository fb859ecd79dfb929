"""Sending one webhook request, safely: vetted address, bounded time, bounded response.

- The URL is vetted (taskhub.webhooks.ssrf) at every delivery, and the request goes to
  the vetted IP address with the original name as Host header and TLS SNI, so a DNS
  answer that changes after vetting (rebinding) is never used.
- No redirects are followed: a 3xx is a failed delivery (its Location is not vetted).
- Connect/read/write timeouts, plus a deadline for the whole exchange so a server that
  trickles bytes cannot hold a worker.
- At most MAX_RESPONSE_BYTES of the response are read (raw, `Accept-Encoding: identity`
  so a small compressed body cannot expand); the rest is never downloaded.
- Environment proxies are ignored (trust_env=False): a proxy would connect by name.

`deliver` never raises for anything the receiver does; it returns a DeliveryResult the
job records on the delivery row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Self, TypeVar

import httpx

from taskhub.webhooks.ssrf import Resolver, Target, UnsafeURL, system_resolver, vet_url

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "taskhub-webhooks/1"
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
DEFAULT_DEADLINE_SECONDS = 30.0

T = TypeVar("T")
A = TypeVar("A")


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What one attempt achieved: `ok` for a 2xx, else `status` and/or `error` say why."""

    ok: bool
    status: int | None
    body: bytes
    truncated: bool
    error: str | None
    address: str | None

    @property
    def excerpt(self) -> str:
        """The response body as text for the delivery row (already bounded)."""
        return self.body.decode("utf-8", "replace")


class WebhookClient:
    """One per worker: a pooled httpx client that only talks to vetted addresses."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._deadline = deadline_seconds
        self._max_bytes = max_response_bytes
        self._http = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def vet(self, url: str) -> Target:
        """The creation-time check: UnsafeURL (a 422) when the URL may not be called."""
        return await vet_url(url, allow_private=self._allow_private, resolver=self._resolver)

    async def deliver(self, url: str, body: bytes, headers: Mapping[str, str]) -> DeliveryResult:
        """POST `body` with `headers` (the signature headers) to `url`."""
        try:
            target = await self.vet(url)
        except UnsafeURL as exc:
            return DeliveryResult(False, None, b"", False, f"refused: {exc.detail}", None)
        result = DeliveryResult(False, None, b"", False, "no address", None)
        for address in target.addresses:
            try:
                async with asyncio.timeout(self._deadline):
                    return await self._post(target, str(address), body, headers)
            except httpx.ConnectError as exc:
                # Try the next vetted address, as a browser would; never re-resolve.
                result = _failure(f"connect failed: {type(exc).__name__}", str(address))
            except (httpx.TimeoutException, TimeoutError):
                return _failure("timed out", str(address))
            except httpx.HTTPError as exc:
                return _failure(f"http error: {type(exc).__name__}", str(address))
        return result

    async def _post(
        self, target: Target, address: str, body: bytes, headers: Mapping[str, str]
    ) -> DeliveryResult:
        request_headers = {
            **headers,
            "Host": target.host_header,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "identity",
        }
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        request = self._http.build_request(
            "POST",
            target.url.copy_with(host=address, fragment=None),
            content=body,
            headers=request_headers,
            extensions=extensions,
        )
        response = await self._http.send(request, stream=True)
        try:
            excerpt, truncated = await _read_bounded(response, self._max_bytes)
        finally:
            await response.aclose()
        ok = 200 <= response.status_code < 300
        error = None if ok else _status_error(response.status_code)
        return DeliveryResult(ok, response.status_code, excerpt, truncated, error, address)


class BoundedRunner:
    """At most `limit` deliveries in flight per worker; the rest wait their turn."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._semaphore = asyncio.Semaphore(limit)

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        async with self._semaphore:
            return await work()

    async def map(self, items: Iterable[A], work: Callable[[A], Awaitable[T]]) -> list[T]:
        """`work(item)` for every item, `limit` at a time; results in the items' order."""
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self.run(partial(work, item))) for item in items]
        return [task.result() for task in tasks]


async def _read_bounded(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def _status_error(status: int) -> str:
    if 300 <= status < 400:
        return f"redirect {status} not followed"
    return f"status {status}"


def _failure(error: str, address: str) -> DeliveryResult:
    return DeliveryResult(False, None, b"", False, error, address)

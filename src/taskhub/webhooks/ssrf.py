"""Which webhook URLs taskhub may call: vetted at creation and again at every delivery.

A URL passes when its scheme is http(s), it carries no userinfo, its port is 80, 443 or
unprivileged (1024..65535; other well-known ports are mail, SSH, ... never webhooks),
and every address its host resolves to is public. Host literals are read the way the C
resolver reads them, so `http://2130706433/`, `http://0x7f.1/` and `http://0177.0.0.1/`
are 127.0.0.1. IPv6 forms that embed an IPv4 address (mapped, compatible, 6to4, NAT64)
are judged by that address as well.

`allow_private` (TASKHUB_WEBHOOKS_ALLOW_PRIVATE, for tests and private deployments)
admits loopback/private/link-local targets, but never the cloud metadata endpoints:
no deployment needs to send task events to its instance credentials service.

The caller connects to one of `Target.addresses`, never to the name again, so a DNS
answer that changes between vetting and connecting (rebinding) cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from taskhub.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 2048
MAX_ADDRESSES = 16

METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.169.253",  # AWS VPC DNS
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",
    )
)

# Spelled out rather than left to `ipaddress.is_global`, whose tables change between
# Python versions; `is_global` is still consulted as a second opinion.
_NON_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::ffff:0:0/96",  # IPv4-mapped
        "::/96",  # IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo
        "2001:db8::/32",
        "fc00::/7",  # unique local
        "fe80::/10",
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPAT = ipaddress.ip_network("::/96")
# What inet_aton accepts: dotted parts in decimal, octal (leading 0) or hex (0x).
_LEGACY_IPV4 = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeURL(Invalid, ValueError):
    """A webhook URL taskhub refuses to call: 422 at creation, a failed delivery later."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, loc=("body", "url"))


@dataclass(frozen=True, slots=True)
class Target:
    """A vetted URL: connect to one of `addresses`, send `host` as Host and TLS SNI."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        """The Host header the URL implies: the name, and the port unless it is the default."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == _DEFAULT_PORTS[self.url.scheme] else f"{name}:{self.port}"


def parse_url(raw: str) -> tuple[httpx.URL, str, int]:
    """Shape checks that need no DNS: (url, lowercase host without trailing dot, port)."""
    if not raw or len(raw) > MAX_URL_LENGTH or any(c.isspace() for c in raw):
        raise UnsafeURL("Webhook URL must be an http(s) URL of at most 2048 characters")
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        raise UnsafeURL("Webhook URL is not a valid URL") from None
    if url.scheme not in _DEFAULT_PORTS:
        raise UnsafeURL("Webhook URL must use http or https")
    if url.userinfo:
        raise UnsafeURL("Webhook URL must not contain credentials")
    # raw_host is the IDNA (ASCII) form, what DNS, SNI and the Host header all use.
    host = url.raw_host.decode("ascii").rstrip(".").lower()
    if not host:
        raise UnsafeURL("Webhook URL needs a host")
    port = url.port if url.port is not None else _DEFAULT_PORTS[url.scheme]
    if not 1 <= port <= 65535 or (port < 1024 and port not in (80, 443)):
        raise UnsafeURL("Webhook URL port must be 80, 443 or 1024-65535")
    if host in METADATA_HOSTS:
        raise UnsafeURL("Webhook URL points at a cloud metadata service")
    return url, host, port


def host_literal(host: str) -> IPAddress | None:
    """The address a host literal stands for, read as the C resolver reads it."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURL("Webhook URL has an invalid IPv6 address") from None
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` may not be called, or None when it may."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        reason = refusal(embedded, allow_private=allow_private)
        if reason is not None:
            return reason
    if allow_private:
        return None
    if any(address in net for net in _NON_PUBLIC if net.version == address.version):
        return "a private, loopback, link-local or reserved address"
    if not address.is_global or address.is_multicast:
        return "not a public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (TCP)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def vet_url(
    raw: str, *, allow_private: bool = False, resolver: Resolver = system_resolver
) -> Target:
    """Parse, resolve once and vet every address; UnsafeURL says why not."""
    url, host, port = parse_url(raw)
    literal = host_literal(host)
    if literal is not None:
        answers: list[str] = [str(literal)]
    else:
        try:
            answers = await resolver(host, port)
        except (OSError, UnicodeError):
            raise UnsafeURL("Webhook URL host does not resolve") from None
    addresses = _parse_answers(answers)
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            # Every answer must pass: a name that mixes public and private addresses is
            # an attacker's hedge, not a misconfiguration to work around.
            raise UnsafeURL(f"Webhook URL resolves to {reason}")
    return Target(url=url, host=host, port=port, addresses=addresses)


def _parse_answers(answers: list[str]) -> tuple[IPAddress, ...]:
    addresses: list[IPAddress] = []
    for answer in answers[:MAX_ADDRESSES]:
        try:
            address = ipaddress.ip_address(answer.split("%", 1)[0])
        except ValueError:
            raise UnsafeURL("Webhook URL host does not resolve to an IP address") from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURL("Webhook URL host does not resolve")
    return tuple(addresses)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPAT and int(address) > 0xFFFF):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None

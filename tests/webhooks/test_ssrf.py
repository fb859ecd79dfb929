"""The SSRF guard: which URLs webhooks may call, with and without allow_private."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskhub.webhooks.ssrf import UnsafeURL, host_literal, refusal, vet_url


def resolving_to(*answers: str, calls: list[str] | None = None):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return list(answers)

    return resolve


async def failing_resolver(host: str, port: int) -> list[str]:
    raise OSError("no such host")


# Literal hosts that are not public: refused, but allowed with allow_private.
PRIVATE_LITERALS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/hook",
    "http://127.255.255.254/",
    "http://2130706433/",  # decimal 127.0.0.1
    "http://0x7f000001/",  # hex
    "http://0x7f.1/",  # hex, short form
    "http://0177.1/",
    "http://127.1/",
    "http://0/",  # 0.0.0.0
    "http://0.0.0.0/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://3232235777/",  # decimal 192.168.1.1
    "http://169.254.1.1/",
    "http://100.64.0.1/",  # CGNAT
    "http://100.127.255.254/",
    "http://192.0.0.8/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://198.51.100.1/",
    "http://203.0.113.1/",
    "http://224.0.0.1/",  # multicast
    "http://239.255.255.250/",
    "http://240.0.0.1/",  # reserved
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:192.168.0.1]:8443/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[2002:c0a8:101::1]/",  # 6to4 of 192.168.1.1
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[64:ff9b:1::1]/",  # local-use NAT64
    "http://[fc00::1]/",  # ULA
    "http://[fd12:3456:789a::1]/",
    "http://[fe80::1]/",  # link-local
    "http://[fec0::1]/",  # site-local
    "http://[ff02::1]/",  # multicast
    "http://[2001:db8::1]/",  # documentation
    "http://[100::1]/",  # discard
    "http://[2001::1]/",  # Teredo
    "https://127.0.0.1:8443/",
    "http://[::ffff:8.8.8.8]/",  # a mapped public address has no use either
]

# Cloud metadata: refused even with allow_private.
METADATA = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",  # decimal 169.254.169.254
    "http://0xa9fea9fe/",
    "http://169.254.170.2/v2/credentials",
    "http://100.100.100.200/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./",
    "http://metadata/",
    "http://instance-data/",
]

# Not a URL we call, whatever the flag.
MALFORMED = [
    "",
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://example.com/",
    "javascript:alert(1)",
    "dict://example.com:11211/",
    "//example.com/",
    "example.com/hook",
    "http://user:pass@example.com/",
    "http://user@example.com/",
    "http://:@example.com/",
    "http://example.com:22/",
    "http://example.com:25/",
    "http://example.com:0/",
    "http://example.com:99999/",
    "http:///hook",
    "http://exa mple.com/",
    "http://example.com/\nX-Injected: 1",
    "http://[::1/",
    "http://[not:an:ipv6::zz]/",
    "http://example.com/" + "a" * 2100,
    # Octal dotted quads: httpx refuses to parse them (the resolver would read 127.0.0.1,
    # 10.0.0.1 and 169.254.169.254).
    "http://0177.0.0.1/",
    "http://012.0.0.1/",
    "http://0251.0376.0251.0376/",
]

PUBLIC = [
    "http://93.184.216.34/",
    "https://8.8.8.8/hook",
    "https://1.1.1.1:8443/hook?x=1",
    "http://1249763500/",  # decimal 74.125.x.x
    "https://[2606:4700:4700::1111]/",
    "https://[2001:4860:4860::8888]:443/",
]


@pytest.mark.parametrize("url", PRIVATE_LITERALS)
async def test_private_literals_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL) as caught:
        await vet_url(url, resolver=failing_resolver)
    assert caught.value.status_code == 422
    assert caught.value.loc == ("body", "url")


@pytest.mark.parametrize("url", PRIVATE_LITERALS)
async def test_private_literals_are_allowed_with_allow_private(url: str) -> None:
    target = await vet_url(url, allow_private=True, resolver=failing_resolver)
    assert len(target.addresses) == 1


@pytest.mark.parametrize("url", METADATA)
@pytest.mark.parametrize("allow_private", [False, True])
async def test_metadata_is_always_refused(url: str, allow_private: bool) -> None:
    with pytest.raises(UnsafeURL, match="metadata"):
        await vet_url(url, allow_private=allow_private, resolver=failing_resolver)


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("allow_private", [False, True])
async def test_malformed_urls_are_refused(url: str, allow_private: bool) -> None:
    with pytest.raises(UnsafeURL):
        await vet_url(url, allow_private=allow_private, resolver=resolving_to("93.184.216.34"))


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_literals_pass_without_dns(url: str) -> None:
    target = await vet_url(url, resolver=failing_resolver)
    assert target.addresses[0].is_global


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["::1"],
        ["fd00::1"],
        ["169.254.169.254"],
        ["::ffff:192.168.0.1"],
        ["93.184.216.34", "127.0.0.1"],  # one bad answer spoils the name
        ["2606:4700::1", "fe80::1%eth0"],
    ],
)
async def test_names_resolving_to_non_public_addresses_are_refused(answers: list[str]) -> None:
    with pytest.raises(UnsafeURL, match="resolves to"):
        await vet_url("https://hooks.example.com/x", resolver=resolving_to(*answers))


async def test_name_resolving_to_public_addresses_passes() -> None:
    calls: list[str] = []
    target = await vet_url(
        "https://Hooks.Example.COM./x",
        resolver=resolving_to("93.184.216.34", "2606:2800:220:1::1", calls=calls),
    )
    assert calls == ["hooks.example.com"]
    assert [str(a) for a in target.addresses] == ["93.184.216.34", "2606:2800:220:1::1"]
    assert target.host_header == "hooks.example.com"


async def test_host_header_keeps_a_non_default_port() -> None:
    target = await vet_url("http://8.8.8.8:8080/", resolver=failing_resolver)
    assert target.host_header == "8.8.8.8:8080"
    v6 = await vet_url("https://[2606:4700::1]:8443/", resolver=failing_resolver)
    assert v6.host_header == "[2606:4700::1]:8443"


async def test_unresolvable_name_is_refused() -> None:
    with pytest.raises(UnsafeURL, match="does not resolve"):
        await vet_url("https://nowhere.example/", resolver=failing_resolver)
    with pytest.raises(UnsafeURL, match="does not resolve"):
        await vet_url("https://nowhere.example/", resolver=resolving_to())


async def test_localhost_names_resolved_by_the_system_are_refused() -> None:
    with pytest.raises(UnsafeURL):
        await vet_url("http://localhost:8080/")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("cafe.be", None),
        ("0x", None),
    ],
)
def test_host_literals_are_read_like_the_c_resolver(host: str, expected: str | None) -> None:
    parsed = host_literal(host)
    assert (str(parsed) if parsed else None) == expected


NON_PUBLIC_V4 = [
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
]


@given(st.sampled_from(NON_PUBLIC_V4), st.integers(min_value=0, max_value=2**32 - 1))
def test_every_non_public_ipv4_and_its_ipv6_forms_are_refused(net: str, n: int) -> None:
    network = ipaddress.IPv4Network(net)
    v4 = network[n % network.num_addresses]
    forms: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [
        v4,
        ipaddress.IPv6Address(f"::ffff:{v4}"),
        ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(v4)),
        ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80)),
    ]
    for form in forms:
        assert refusal(form, allow_private=False) is not None, form


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_refusal_agrees_with_is_global_for_ipv4(n: int) -> None:
    address = ipaddress.IPv4Address(n)
    if refusal(address, allow_private=False) is None:
        assert address.is_global
        assert not address.is_multicast


async def test_international_names_are_resolved_and_sent_in_idna_form() -> None:
    calls: list[str] = []
    target = await vet_url(
        "https://Bücher.example/hook", resolver=resolving_to("93.184.216.34", calls=calls)
    )
    assert calls == ["xn--bcher-kva.example"]
    assert target.host_header == "xn--bcher-kva.example"

"""The PROXY protocol codec: what it writes it reads back (v1 and v2, with the bytes that follow the header
left alone), any bytes give a header or nginx's refusal and nothing else, and nginx's reading of the
corner cases (what it refuses with which line, what it takes and skips)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.config.nginx.model.addresses import ipv6_text
from hapair.proxy.proxy_protocol import (
    MAX_HEADER,
    SIGNATURE,
    Header,
    HeaderError,
    ProxyAddresses,
    read_header,
    write_v1,
    write_v2,
)

ports = st.integers(0, 65535)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda ip: ipv6_text(ipaddress.IPv6Address(ip)))


@st.composite
def addresses(draw: st.DrawFn) -> ProxyAddresses:
    family = draw(st.sampled_from([ipv4, ipv6]))
    return ProxyAddresses(draw(family), draw(ports), draw(family), draw(ports))


def is_v6(addresses: ProxyAddresses) -> bool:
    return ":" in addresses.source


@given(addresses(), st.binary(max_size=40))
def test_a_v1_header_reads_back_with_what_follows_it_untouched(sent: ProxyAddresses, rest: bytes) -> None:
    header = write_v1(sent, ipv6=is_v6(sent))
    assert len(header) <= MAX_HEADER
    read = read_header(header + rest)
    assert read == Header(len(header), sent)
    assert (header + rest)[read.length :] == rest


@given(addresses(), st.binary(max_size=20), st.binary(max_size=40))
def test_a_v2_header_reads_back_with_its_tlvs_skipped(sent: ProxyAddresses, tlvs: bytes, rest: bytes) -> None:
    header = write_v2(sent, tlvs)
    read = read_header(header + rest)
    assert read == Header(len(header), sent)


@given(st.binary(max_size=40))
def test_a_v2_local_command_is_taken_and_says_nothing(rest: bytes) -> None:
    header = write_v2(None)
    assert read_header(header + rest) == Header(16, None)


@given(st.binary(max_size=MAX_HEADER))
def test_any_bytes_give_a_header_or_nginxs_refusal(data: bytes) -> None:
    try:
        read = read_header(data)
    except HeaderError:
        return
    assert 0 < read.length <= len(data)


@given(st.binary(max_size=MAX_HEADER - 16))
def test_any_bytes_after_the_v2_signature_give_a_header_or_a_refusal(body: bytes) -> None:
    try:
        read = read_header(SIGNATURE + body)
    except HeaderError:
        return
    assert 16 <= read.length <= len(SIGNATURE) + len(body)


@given(addresses(), st.integers(1, 200))
def test_a_header_cut_short_is_refused(sent: ProxyAddresses, cut: int) -> None:
    """nginx reads the header from one read: a piece of it is refused, never waited for."""
    for header in (write_v1(sent, ipv6=is_v6(sent)), write_v2(sent)):
        with pytest.raises(HeaderError):
            read_header(header[: max(len(header) - cut, 0)])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PROXY UNKNOWN\r\nGET", Header(15, None)),
        (b"PROXY UNKNOWN 1.2.3.4 x y z\r\n", Header(29, None)),
        # addresses are kept as written, whatever they are made of among nginx's characters
        (b"PROXY TCP4 ::1 1.2.3.4.5 80 0\r\n", Header(31, ProxyAddresses("::1", 80, "1.2.3.4.5", 0))),
        (b"PROXY TCP6  aB:: 080 1\r\n", Header(24, ProxyAddresses("", 80, "aB::", 1))),
        # v2: other commands, transports and families are taken and say nothing
        (SIGNATURE + b"\x2f\x11\x00\x00", Header(16, None)),
        (SIGNATURE + b"\x21\x12\x00\x0c" + bytes(12), Header(28, None)),
        (SIGNATURE + b"\x21\x31\x00\x02ab", Header(18, None)),
        (SIGNATURE + b"\x21\x01\x00\x00", Header(16, None)),
    ],
)
def test_what_nginx_takes(data: bytes, expected: Header) -> None:
    assert read_header(data) == expected


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"", 'broken header: ""'),
        (b"GET / HTTP/1.1\r\n", 'broken header: "GET / HTTP/1.1\r\n"'),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 'broken header: "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"'),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
            'broken header: "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"',
        ),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8  2\r\n", 'broken header: "PROXY TCP4 1.2.3.4 5.6.7.8  2\r\n"'),
        (b"PROXY TCP4 1.2.3.z 5.6.7.8 1 2\r\n", 'broken header: "PROXY TCP4 1.2.3.z 5.6.7.8 1 2\r\n"'),
        (b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 'broken header: "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"'),
        (b"PROXY UNKNOWN", 'broken header: "PROXY UNKNOWN"'),
        (b"PROXY \xff\xfe", 'broken header: "PROXY \udcff\udcfe"'),
        (SIGNATURE + b"\x11\x11\x00\x00", "unknown PROXY protocol version: 1"),
        (SIGNATURE + b"\x21\x11\x00\x0c" + bytes(11), "header is too large"),
        (SIGNATURE + b"\x21\x11\x00\x04abcd", ""),
        (SIGNATURE + b"\x21\x21\x00\x0c" + bytes(12), ""),
    ],
)
def test_what_nginx_refuses_with_its_line(data: bytes, line: str) -> None:
    with pytest.raises(HeaderError) as refused:
        read_header(data)
    assert str(refused.value) == line


def test_nginx_writes_unknown_for_a_connection_without_addresses() -> None:
    assert write_v1(None) == b"PROXY UNKNOWN\r\n"
    assert write_v1(ProxyAddresses("10.0.0.1", 5, "10.0.0.2", 80)) == b"PROXY TCP4 10.0.0.1 10.0.0.2 5 80\r\n"

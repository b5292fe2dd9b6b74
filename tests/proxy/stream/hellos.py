"""ClientHellos for tests: OpenSSL's (Python's TLS client, without a network), and ones made field by
field, in handshake records of any size."""

from __future__ import annotations

import ssl

from hypothesis import strategies as st


def openssl_hello(server_name: str | None, alpn: list[str] | None = None, *, tls12: bool = False) -> bytes:
    """The first flight of Python's TLS client (OpenSSL), without a network."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    if alpn:
        context.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    connection = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        connection.do_handshake()
    except ssl.SSLWantReadError:
        return outgoing.read()
    raise AssertionError("a handshake cannot end without a server")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def extension(kind: int, data: bytes) -> bytes:
    return u16(kind) + u16(len(data)) + data


def server_name_extension(*names: bytes, kind: int = 0) -> bytes:
    entries = b"".join(bytes([kind]) + u16(len(name)) + name for name in names)
    return extension(0, u16(len(entries)) + entries)


def alpn_extension(*protocols: bytes) -> bytes:
    entries = b"".join(bytes([len(protocol)]) + protocol for protocol in protocols)
    return extension(16, u16(len(entries)) + entries)


SUPPORTED_VERSIONS = extension(43, b"\x04\x03\x04\x03\x03")


def hello_message(
    extensions: bytes | None,
    *,
    version: bytes = b"\x03\x03",
    session_id: bytes = b"",
    suites: bytes = b"\x13\x01",
) -> bytes:
    body = (
        version + bytes(32) + bytes([len(session_id)]) + session_id + u16(len(suites)) + suites + b"\x01\x00"
    )
    if extensions is not None:
        body += u16(len(extensions)) + extensions
    return b"\x01" + len(body).to_bytes(3, "big") + body


def in_records(message: bytes, sizes: list[int] | None = None) -> bytes:
    """The message in handshake records of the given sizes (the last one takes the rest)."""
    out, rest = b"", message
    for size in sizes or []:
        if not rest:
            break
        out += b"\x16\x03\x01" + u16(len(rest[:size])) + rest[:size]
        rest = rest[size:]
    if rest or not out:
        out += b"\x16\x03\x01" + u16(len(rest)) + rest
    return out


@st.composite
def _length(draw: st.DrawFn, true: int, limit: int = 0xFFFF) -> int:
    """A length field: mostly the true length, sometimes a little off, or zero."""
    wrong = draw(st.sampled_from([-3, -2, -1, 1, 2, 3, -true]))
    return true if draw(st.integers(0, 3)) else max(0, min(limit, true + wrong))


@st.composite
def _server_names(draw: st.DrawFn) -> bytes:
    names = b""
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from([b"a.example", b"B.example", b""]) | st.binary(max_size=4))
        kind = draw(st.sampled_from([0, 0, 0, 1]))
        names += bytes([kind]) + u16(draw(_length(len(name)))) + name
    return u16(draw(_length(len(names)))) + names


@st.composite
def _protocols(draw: st.DrawFn) -> bytes:
    protocols = b""
    for _ in range(draw(st.integers(0, 3))):
        protocol = draw(st.sampled_from([b"h2", b"http/1.1", b""]) | st.binary(max_size=3))
        protocols += bytes([draw(_length(len(protocol), 0xFF))]) + protocol
    return u16(draw(_length(len(protocols)))) + protocols


@st.composite
def _versions(draw: st.DrawFn) -> bytes:
    versions = draw(st.binary(max_size=6))
    return bytes([draw(_length(len(versions), 0xFF))]) + versions


@st.composite
def _extension(draw: st.DrawFn) -> bytes:
    kind, data = draw(
        st.tuples(st.just(0), _server_names())
        | st.tuples(st.just(16), _protocols())
        | st.tuples(st.just(43), _versions())
        | st.tuples(st.sampled_from([5, 10, 13, 0x1234]), st.binary(max_size=5))
    )
    return u16(kind) + u16(draw(_length(len(data)))) + data


@st.composite
def damaged_hellos(draw: st.DrawFn) -> bytes:
    """ClientHellos in records of any size, with server_name, ALPN, supported_versions and other
    extensions in any number and order, their length fields mostly right and sometimes not."""
    session_id = draw(st.sampled_from([b"", bytes(32)]))
    extensions = None if draw(st.integers(0, 19)) == 0 else b"".join(draw(st.lists(_extension(), max_size=4)))
    message = hello_message(extensions, session_id=session_id)
    if extensions is not None and draw(st.integers(0, 9)) == 0:
        at = 4 + 41 + len(session_id)  # the extensions' length
        message = message[:at] + u16(draw(_length(len(message) - at - 2))) + message[at + 2 :]
    return in_records(message, draw(st.lists(st.integers(1, 60), max_size=2)))

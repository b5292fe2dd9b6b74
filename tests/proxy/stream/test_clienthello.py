"""What ssl_preread reads of a ClientHello (pure): real ClientHellos from OpenSSL, generated ones in
records and pieces of any size, nginx's quirks one by one, and any bytes at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.proxy.stream.clienthello import ClientHelloReader, Verdict

from .hellos import (
    SUPPORTED_VERSIONS,
    alpn_extension,
    damaged_hellos,
    extension,
    hello_message,
    in_records,
    openssl_hello,
    server_name_extension,
    u16,
)

Outcome = tuple[Verdict, tuple[tuple[int, int], bytes | None, bytes | None] | None]
OTHER_EXTENSIONS = st.integers(min_value=1, max_value=0xFFFF).filter(lambda kind: kind not in (16, 43))


def outcome_of(reader: ClientHelloReader, verdict: Verdict) -> Outcome:
    hello = reader.hello
    if hello is None:
        return verdict, None
    alpn = None if hello.alpn is None else bytes(hello.alpn)
    return verdict, (hello.version, hello.server_name, alpn)


def read_at_once(data: bytes) -> Outcome:
    reader = ClientHelloReader()
    return outcome_of(reader, reader.feed(data))


def read_in_pieces(data: bytes, cuts: list[int]) -> Outcome:
    """As the session reads it: the whole buffer so far, each time more arrives."""
    reader = ClientHelloReader()
    verdict = Verdict.AGAIN
    for end in [*sorted(cut % (len(data) + 1) for cut in cuts), len(data)]:
        verdict = reader.feed(data[:end])
        if verdict is not Verdict.AGAIN:
            break
    return outcome_of(reader, verdict)


@pytest.mark.parametrize(
    ("name", "alpn", "tls12", "expected"),
    [
        ("a.example", None, False, ((3, 4), b"a.example", None)),
        ("b.example", ["h2", "http/1.1"], False, ((3, 4), b"b.example", b"h2,http/1.1")),
        (None, None, False, ((3, 4), None, None)),
        ("c.example", ["x"], True, ((3, 3), b"c.example", b"x")),
    ],
)
def test_openssls_clienthello_gives_its_name_protocols_and_version(
    name: str | None, alpn: list[str] | None, tls12: bool, expected: tuple[object, ...]
) -> None:
    assert read_at_once(openssl_hello(name, alpn, tls12=tls12)) == (Verdict.DONE, expected)


def test_a_clienthello_arriving_byte_by_byte_is_read_when_its_record_is_whole() -> None:
    data = openssl_hello("a.example")
    reader = ClientHelloReader()
    verdicts = [reader.feed(data[:end]) for end in range(1, len(data) + 1)]
    assert verdicts == [Verdict.AGAIN] * (len(data) - 1) + [Verdict.DONE]


@given(
    names=st.lists(st.binary(min_size=0, max_size=60), min_size=1, max_size=3),
    protocols=st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=4),
    others=st.lists(st.tuples(OTHER_EXTENSIONS, st.binary(max_size=30)), max_size=4),
    order=st.permutations(range(3)),
    with_versions=st.booleans(),
    session_id=st.binary(max_size=32),
    record_sizes=st.lists(st.integers(min_value=1, max_value=80), max_size=8),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_a_well_formed_clienthello_gives_its_first_name_and_its_protocols_however_it_is_cut(
    names: list[bytes],
    protocols: list[bytes],
    others: list[tuple[int, bytes]],
    order: list[int],
    with_versions: bool,
    session_id: bytes,
    record_sizes: list[int],
    cuts: list[int],
) -> None:
    blocks = [
        server_name_extension(*names),
        alpn_extension(*protocols),
        b"".join(extension(kind, data) for kind, data in others),
    ]
    extensions = b"".join(blocks[i] for i in order) + (SUPPORTED_VERSIONS if with_versions else b"")
    data = in_records(hello_message(extensions, session_id=session_id), record_sizes)
    version = (3, 4) if with_versions else (3, 3)
    expected = (Verdict.DONE, (version, names[0], b",".join(protocols)))
    assert read_in_pieces(data, cuts) == expected


@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(min_value=0), max_size=8))
def test_any_bytes_give_the_same_verdict_at_once_as_in_pieces(data: bytes, cuts: list[int]) -> None:
    assert read_in_pieces(data, cuts) == read_at_once(data)


@given(
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
    cuts=st.lists(st.integers(min_value=0), max_size=4),
)
def test_a_damaged_clienthello_gives_the_same_verdict_at_once_as_in_pieces(
    position: int, value: int, cuts: list[int]
) -> None:
    data = bytearray(
        in_records(hello_message(server_name_extension(b"a.example") + alpn_extension(b"h2")), [40])
    )
    data[position % len(data)] = value
    assert read_in_pieces(bytes(data), cuts) == read_at_once(bytes(data))


@given(data=damaged_hellos(), cuts=st.lists(st.integers(min_value=0), max_size=4))
def test_hellos_with_wrong_lengths_give_the_same_verdict_at_once_as_in_pieces(
    data: bytes, cuts: list[int]
) -> None:
    assert read_in_pieces(data, cuts) == read_at_once(data)


HELLO = hello_message(server_name_extension(b"a.example"))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # not TLS: declined from the first five bytes
        (b"GET / HTTP/1.1\r\n", (Verdict.DECLINED, None)),
        (b"\x15\x03\x01\x00\x02\x02\x28", (Verdict.DECLINED, None)),
        (b"\x16\x02\x00\x00\x01\x01", (Verdict.DECLINED, None)),
        (b"\x16\x03", (Verdict.AGAIN, ((0, 0), None, None))),
        # an SSLv2 ClientHello: its version, at once
        (b"\x80\x2e\x01\x03\x01" + bytes(40), (Verdict.DONE, ((3, 1), None, None))),
        (b"\x80\x2e\x01\x00\x02", (Verdict.DONE, ((0, 2), None, None))),
        # a handshake message that is no ClientHello
        (in_records(b"\x02" + HELLO[1:]), (Verdict.DECLINED, None)),
        # a record not whole yet
        (in_records(HELLO)[:-1], (Verdict.AGAIN, ((0, 0), None, None))),
        # no extensions at all; the extensions' length only
        (in_records(hello_message(None)), (Verdict.DONE, ((3, 3), None, None))),
        (in_records(hello_message(b"")), (Verdict.DONE, ((3, 3), None, None))),
        # only the first name of the list counts
        (in_records(hello_message(server_name_extension(b"a", b"b"))), (Verdict.DONE, ((3, 3), b"a", None))),
        # Debian's validation: a second server_name or ALPN extension declines, a second
        # supported_versions or other extension does not
        (
            in_records(hello_message(server_name_extension(b"a") + server_name_extension(b"b"))),
            (Verdict.DECLINED, None),
        ),
        (in_records(hello_message(alpn_extension(b"a") + alpn_extension(b"b"))), (Verdict.DECLINED, None)),
        (
            in_records(
                hello_message(SUPPORTED_VERSIONS + extension(5, b"") + SUPPORTED_VERSIONS + extension(5, b""))
            ),
            (Verdict.DONE, ((3, 4), None, None)),
        ),
        # ... lists must fill their extension, the extensions what is left of the message
        (
            in_records(hello_message(extension(0, server_name_extension(b"a")[4:] + b"\x00"))),
            (Verdict.DECLINED, None),
        ),
        (
            in_records(hello_message(extension(16, alpn_extension(b"h2")[4:] + b"\x00"))),
            (Verdict.DECLINED, None),
        ),
        (in_records(hello_message(extension(43, b"\x02\x03\x04\x00"))), (Verdict.DECLINED, None)),
        (in_records(hello_message(extension(43, b"\x01\x03"))), (Verdict.DECLINED, None)),
        (in_records(hello_message(extension(43, b"\x03\x03\x04\x03"))), (Verdict.DONE, ((3, 4), None, None))),
        (in_records(hello_message(b"")[:-2] + u16(1)), (Verdict.DECLINED, None)),
        (in_records(hello_message(server_name_extension(b""))), (Verdict.DONE, ((3, 3), b"", None))),
        (in_records(hello_message(server_name_extension(b"a", kind=1))), (Verdict.DECLINED, None)),
        # a name longer than its list says
        (
            in_records(hello_message(extension(0, u16(3) + b"\x00" + u16(5) + b"abcde"))),
            (Verdict.DECLINED, None),
        ),
        # an empty ALPN protocol, or one longer than its list
        (in_records(hello_message(alpn_extension(b"h2", b""))), (Verdict.DECLINED, None)),
        (in_records(hello_message(extension(16, u16(2) + b"\x05h2"))), (Verdict.DECLINED, None)),
        # supported_versions alone makes it TLSv1.3, whatever it lists
        (in_records(hello_message(extension(43, b"\x02\x7f\x1c"))), (Verdict.DONE, ((3, 4), None, None))),
        # the message's length ends it, even within a field
        (
            in_records(HELLO[:1] + (len(HELLO) - 4 - 3).to_bytes(3, "big") + HELLO[4:]),
            (Verdict.DECLINED, None),
        ),
        # the bytes after a complete ClientHello are not looked at
        (in_records(HELLO) + b"junk", (Verdict.DONE, ((3, 3), b"a.example", None))),
    ],
)
def test_nginxs_reading_of_each_case(data: bytes, expected: Outcome) -> None:
    assert read_at_once(data) == expected


def test_a_clienthello_across_records_of_one_byte_is_read() -> None:
    data = in_records(HELLO, [1] * len(HELLO))
    assert read_at_once(data) == (Verdict.DONE, ((3, 3), b"a.example", None))


def test_the_protocol_has_ssl_get_versions_name() -> None:
    reader = ClientHelloReader()
    reader.feed(in_records(hello_message(None, version=b"\x03\x01")))
    assert reader.hello is not None and reader.hello.protocol == "TLSv1"
    reader = ClientHelloReader()
    reader.feed(in_records(hello_message(None, version=b"\x03\x09")))
    assert reader.hello is not None and reader.hello.protocol == ""

"""nginx's grammar (parse.py) and a request read as nginx reads it (reading.py), without sockets: what is
accepted, refused and with which status, and that the quick ways (a whole head read at once, header
lines found by one pattern) read exactly what the line-by-line ways read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.proxy.http.parse import (
    HTTP_09,
    HTTP_11,
    ChunkedBody,
    ChunkError,
    RequestError,
    fields,
    header_line_refused,
    lower_name,
    parse_content_length,
    parse_header_line,
    parse_request_line,
    parse_status_line,
    request_line_refused,
)
from hapair.proxy.http.reading import BufferLayout, HeadLimits, HeadReader

LIMITS = HeadLimits()


@pytest.mark.parametrize(
    ("line", "method", "uri", "version", "host"),
    [
        (b"GET / HTTP/1.1", b"GET", b"/", 1001, None),
        (b"GET /x HTTP/1.2\r", b"GET", b"/x", 1002, None),
        (b"FOO-BAR_X  /a?b   HTTP/1.0  ", b"FOO-BAR_X", b"/a?b", 1000, None),
        (b"GET /x", b"GET", b"/x", HTTP_09, None),
        (b"GET /x  \r", b"GET", b"/x", HTTP_09, None),
        (b"GET ftp://Example.com:21/x HTTP/1.1", b"GET", b"/x", 1001, b"Example.com"),
        (b"GET http://example.com HTTP/1.1", b"GET", b"/", 1001, b"example.com"),
        (b"GET http://example.com?a HTTP/1.1", b"GET", b"?a", 1001, b"example.com"),
        (b"GET http://[::1]:80/x HTTP/1.1", b"GET", b"/x", 1001, b"[::1]"),
        (b"GET /\xe9#f HTTP/1.1", b"GET", b"/\xe9#f", 1001, None),
    ],
)
def test_request_lines_nginx_takes(
    line: bytes, method: bytes, uri: bytes, version: int, host: bytes | None
) -> None:
    request_line = parse_request_line(line)
    assert (request_line.method, request_line.uri, request_line.http_version) == (method, uri, version)
    assert request_line.host == host
    assert request_line.line == line.rstrip(b"\r")


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"get / HTTP/1.1", 400),
        (b" GET / HTTP/1.1", 400),
        (b"GET * HTTP/1.1", 400),
        (b"GET /a b HTTP/1.1", 400),
        (b"GET /a\x00 HTTP/1.1", 400),
        (b"GET /a HTTP/1.1 x", 400),
        (b"GET /a HTTP/0.9", 400),
        (b"GET /a HTTP/1.1000", 400),
        (b"GET /a HTTP/1.1\r\r", 400),
        (b"GET /a HTTP/2.0", 505),
        (b"GET /a HTTP/3.0", 505),
        (b"GET /a HTTP/10.1", 505),
        (b"POST /a", 400),  # HTTP/0.9 knows only GET
        (b"GET http://example.com", 400),  # an absolute target without a path needs a space after it
        (b"CONNECT example.com:443 HTTP/1.1", 400),
        (b"GET http://my_host/ HTTP/1.1", 400),
    ],
)
def test_request_lines_nginx_refuses(line: bytes, status: int) -> None:
    with pytest.raises(RequestError) as refused:
        parse_request_line(line)
    assert refused.value.status == status


@pytest.mark.parametrize(
    ("start", "status"),
    [
        (b"GET", 0),
        (b"GET /x HT", 0),
        (b"GET http://[::1", 0),
        (b"GET /x HTTP/1.1\r", 0),
        (b"\x16\x03\x01", 400),  # TLS to a plain port
        (b"GET /x HTTP/1.1\rHost", 400),  # a bare CR as a line end
        (b"GET /x HT\r", 400),
        (b"GET /x HTTP/2", 505),
    ],
)
def test_a_request_line_is_refused_as_soon_as_nginx_would(start: bytes, status: int) -> None:
    assert request_line_refused(start) == status


@pytest.mark.parametrize(
    ("line", "name", "value", "valid"),
    [
        (b"Host: x", b"Host", b"x", True),
        (b"X-A:   a  b  ", b"X-A", b"a  b", True),
        (b"X-A:\ta\t", b"X-A", b"\ta\t", True),  # nginx strips spaces only
        (b"X-A", b"X-A", b"", True),
        (b"X_A: 1", b"X_A", b"1", False),
        (b"X@Y: 1", b"X@Y", b"1", False),
        (b"X.Y: 1", b"X.Y", b"1", False),
        (b"X\xe9Y: 1", b"X\xe9Y", b"1", False),
        (b"X-A: a\x01b", b"X-A", b"a\x01b", True),
    ],
)
def test_header_lines(line: bytes, name: bytes, value: bytes, valid: bool) -> None:
    header = parse_header_line(line, underscores=False)
    assert (header.name, header.value, header.valid) == (name, value, valid)


@pytest.mark.parametrize("line", [b": x", b"X A: 1", b"X\x7fA: 1", b"X\x00: 1", b"X-A: a\x00b", b"X-A: a\rb"])
def test_header_lines_nginx_refuses(line: bytes) -> None:
    with pytest.raises(RequestError):
        parse_header_line(line, underscores=False)
    assert header_line_refused(line)


def test_underscores_make_a_name_valid_when_allowed() -> None:
    assert parse_header_line(b"X_A: 1", underscores=True).valid


@pytest.mark.parametrize(
    ("line", "status", "text", "version"),
    [
        (b"HTTP/1.1 200 OK\r", 200, b"200 OK", 1001),
        (b"HTTP/1.0 404", 404, b"404", 1000),
        (b"HTTP/1.1 403.1 Forbidden", 403, b"403.1 Forbidden", 1001),
        (b"HTTP/2.0  204 ", 204, b"204 ", 2000),
        (b"HTTP/1.1 20 OK", 0, b"", 0),
        (b"http/1.1 200 OK", 0, b"", 0),
        (b"HTTP/1.1 200OK", 0, b"", 0),
        (b"HTTP/1.1 200 OK\r\r", 0, b"", 0),
    ],
)
def test_status_lines(line: bytes, status: int, text: bytes, version: int) -> None:
    assert parse_status_line(line) == (status, text, version)


@pytest.mark.parametrize(
    ("value", "length"),
    [
        (b"0", 0),
        (b"3", 3),
        (b"007", 7),
        (b"999999999999999999", 999_999_999_999_999_999),
        (b"9223372036854775807", 2**63 - 1),
        (b"9223372036854775808", -1),
        (b"", -1),
        (b" 3", -1),
        (b"3 ", -1),
        (b"+3", -1),
        (b"-3", -1),
        (b"3a", -1),
        (b"\xb2", -1),
    ],
)
def test_content_lengths_are_read_as_ngx_atoof_does(value: bytes, length: int) -> None:
    assert parse_content_length(value) == length


@given(st.binary(max_size=24) | st.from_regex(rb"\A[0-9]{1,20}\Z"))
def test_content_lengths_are_the_decimal_number_of_digits_only(value: bytes) -> None:
    number = int(value) if value.isdigit() else -1
    assert parse_content_length(value) == (number if number < 2**63 else -1)


@given(st.binary(max_size=80))
def test_names_lowered_again_are_lowered_the_same(name: bytes) -> None:
    assert lower_name(name) == name.lower()
    assert lower_name((name + b".")[:-1]) == name.lower()  # found again, by another object


# -- the quick ways read what the slow ones do

NAME = st.sampled_from([b"Host", b"X-A", b"x_b", b"X@C", b"", b"X D", b"Content-Length", b"A" * 3])
VALUE = st.sampled_from([b"", b"v", b" v ", b"a b", b"\tv", b"v ", b"a\x00b", b"a\rb", b"\xe9"])
END = st.sampled_from([b"\r\n", b"\n", b"\r\r\n"])


@st.composite
def header_blocks(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(NAME, st.sampled_from([b":", b": ", b""]), VALUE, END), max_size=5))
    return b"".join(name + colon + value + end for name, colon, value, end in lines)


def _line_by_line(block: bytes, *, underscores: bool) -> list[tuple[bytes, bytes]] | None:
    out = []
    for line in block.split(b"\n")[:-1]:
        try:
            header = parse_header_line(line.rstrip(b"\r"), underscores=underscores)
        except RequestError:
            return None
        if not header.valid:
            return None
        out.append((header.name, header.value))
    return out


@settings(max_examples=300)
@given(block=header_blocks(), underscores=st.booleans())
def test_fields_found_at_once_are_the_lines_read_one_by_one(block: bytes, underscores: bool) -> None:
    data = b"GET / HTTP/1.1\r\n" + block
    found = fields(data, 16, len(data), underscores=underscores)
    if found is not None:
        assert found == _line_by_line(block, underscores=underscores)


def test_a_header_block_read_again_gives_its_headers_in_a_list_of_its_own() -> None:
    """A block read lately is found by its bytes (parse.fields): its headers again, in a new list each
    time, and the pattern the caller asked for (a name with `_` is valid only with underscores)."""
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX_A: 1\r\n\r\n"
    end = len(data) - 2
    first = fields(data, 16, end, underscores=True)
    assert first == [(b"Host", b"a"), (b"X_A", b"1")]
    first.append((b"X-B", b"2"))
    assert fields(data, 16, end, underscores=True) == [(b"Host", b"a"), (b"X_A", b"1")]
    assert fields(data, 16, end, underscores=False) is None
    assert fields(b"GET / HTTP/1.1\r\nHost: b\r\nX_A: 1\r\n\r\n", 16, end, underscores=True) == [
        (b"Host", b"b"),
        (b"X_A", b"1"),
    ]


HEADS = st.builds(
    lambda method, target, version, block, end: method + b" " + target + version + end + block + end,
    st.sampled_from([b"GET", b"POST", b"TRACE", b"get"]),
    st.sampled_from([b"/", b"/a?b", b"/../x", b"http://h/x", b"/a b"]),
    st.sampled_from([b" HTTP/1.1", b" HTTP/1.0", b"", b" HTTP/2.0"]),
    header_blocks(),
    st.sampled_from([b"\r\n", b"\n"]),
)


def _read(pieces: list[bytes]) -> tuple[object, ...]:
    """What a head reader makes of `pieces` given one after the other: the request and where its head
    ended, or the status it was refused with and what the log line would show."""
    reader = HeadReader(LIMITS, None, 0.0)
    offset = 0
    for piece in pieces:
        try:
            end = reader.feed(piece, 0)
        except RequestError as error:
            return ("refused", error.status, reader.line, reader.length, reader.headers, reader.host_header)
        if end >= 0:
            request = reader.request()
            return ("read", offset + end, request.line, request.headers, request.head_length, request.host)
        offset += len(piece)
    return ("more", reader.line)


@settings(max_examples=300)
@given(head=HEADS, cut=st.integers(0, 200))
def test_a_head_read_at_once_or_in_pieces_is_read_alike(head: bytes, cut: int) -> None:
    """The quick way (a whole head in one read) and the line-by-line way (the head cut anywhere) give
    the same request, or refuse it with the same status and the same log fields; but a request line
    refused before its end is logged as far as it was read, as nginx's $request shows what its buffer
    holds."""
    data = head + b"rest"
    cut = min(cut, len(data) - 1)
    whole = _read([data])
    for pieces in ([data[:cut], data[cut:]] if cut else [data], [bytes([byte]) for byte in data]):
        read = _read(pieces)
        if whole[0] == read[0] == "refused":
            line, read_line = whole[2], read[2]
            assert isinstance(line, bytes) and isinstance(read_line, bytes) and line.startswith(read_line)
            assert read[:2] + read[3:] == whole[:2] + whole[3:]
        else:
            assert read == whole


def test_a_head_is_read_whole_where_it_ends() -> None:
    reader = HeadReader(LIMITS, None, 0.0)
    data = b"\r\nGET /x HTTP/1.1\nHost: x\r\nX-A:  1 \r\n\r\nbody"
    assert reader.feed(data, 0) == len(data) - 4
    request = reader.request()
    assert (request.line, request.headers, request.head_length) == (
        b"GET /x HTTP/1.1",
        [(b"Host", b"x"), (b"X-A", b"1")],
        len(data) - 4 - 2,  # the empty line before the request line is not counted
    )


def test_a_dropped_header_line_counts_in_the_request_length_and_a_refused_one_does_not() -> None:
    reader = HeadReader(LIMITS, None, 0.0)
    with pytest.raises(RequestError):
        reader.feed(b"GET / HTTP/1.1\r\nHost: x\r\nX_A: 1\r\nX\x7fB: 1\r\n\r\n", 0)
    assert reader.length == 16 + 9 + 8  # the request line, Host, the dropped X_A
    assert reader.headers == [(b"Host", b"x")]


# -- nginx's header buffers

SMALL = HeadLimits(buffer_size=64, large_buffers=2, large_buffer_size=128)


def _status(data: bytes, limits: HeadLimits = SMALL, layout: BufferLayout | None = None) -> int:
    reader = HeadReader(limits, None, 0.0, layout)
    try:
        return 200 if reader.feed(data, 0) >= 0 else 0
    except RequestError as error:
        return error.status


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /" + b"a" * 100 + b" HTTP/1.0\r\n\r\n", 200),  # the request line moves to a large buffer
        (b"GET /" + b"a" * 120 + b" HTTP/1.0\r\n\r\n", 414),  # and does not fit in one
        (b"GET /" + b"a" * 112 + b" HTTP/1.0\r\n\r\n", 200),  # 128 bytes with its line end: it fits
        (b"GET /" + b"a" * 113 + b" HTTP/1.0\r\n\r\n", 414),  # 129 bytes: it does not
        (b"GET / HTTP/1.0\r\nX-A: " + b"a" * 124 + b"\r\n\r\n", 494),  # 131 bytes with its line end
        (b"GET / HTTP/1.0\r\nX-A: " + b"a" * 100 + b"\r\nX-B: " + b"b" * 100 + b"\r\n\r\n", 200),
        (b"GET / HTTP/1.0\r\n" + b"".join(b"X-%d: " % i + b"a" * 100 + b"\r\n" for i in range(3)), 494),
        (b"\r\n" * 100 + b"GET / HTTP/1.0\r\n\r\n", 200),  # empty lines before it empty the buffer
        (b"GET / HTTP/1.0\r\nX-A: " + b"a" * 500, 494),  # refused before the line ends
    ],
)
def test_header_buffers_as_nginx_counts_them(data: bytes, status: int) -> None:
    assert _status(data) == status


def test_a_pipelined_head_starts_where_the_one_before_ended() -> None:
    first = b"GET / HTTP/1.0\r\n\r\n"
    reader = HeadReader(SMALL, None, 0.0)
    assert reader.feed(first, 0) == len(first)
    layout = reader.pipelined(0)
    assert layout == BufferLayout(len(first), 64, large=False)
    # what was left of the first buffer does not hold the next request line: it moves to a large buffer
    line = b"GET /" + b"a" * 60 + b" HTTP/1.0\r\n\r\n"
    assert _status(line, layout=layout) == 200
    assert reader.pipelined(64 - len(first)) is None  # a body that filled the buffer: a new one


# -- chunked bodies


def _chunks(pieces: list[bytes]) -> tuple[bytes, int, bool] | str:
    body = ChunkedBody()
    out: list[bytes] = []
    end = 0
    try:
        for piece in pieces:
            end = body.feed(piece, 0, out)
    except ChunkError:
        return "refused"
    return b"".join(out), end, body.done


@pytest.mark.parametrize(
    ("data", "result"),
    [
        (b"5\r\nhello\r\n0\r\n\r\nNEXT", (b"hello", 15, True)),
        (b"5\nhello\n0\n\nNEXT", (b"hello", 11, True)),
        (b"5;a=b\r\nhello\r\n0 ext\r\nTrailer: x\r\n\r\n", (b"hello", 35, True)),
        (b"5\thello", (b"", 7, False)),  # an extension after a tab: the size line goes on
        (b"2x\r\nok\r\n0\r\n\r\n", "refused"),
        (b"2\r\nokX0\r\n\r\n", "refused"),
        (b"\r\n", "refused"),
        (b"ffffffffffffffffff\r\nok", "refused"),
        (b"7ffffffffffffff\r\n", (b"", 17, False)),
        (b"800000000000000\r\n", "refused"),
        (b"2\r\nok\r\n0\r\nX: a\rb\r\n", "refused"),
    ],
)
def test_chunked_bodies_as_nginx_reads_them(data: bytes, result: tuple[bytes, int, bool] | str) -> None:
    assert _chunks([data]) == result


@settings(max_examples=200)
@given(
    data=st.sampled_from(
        [
            b"5\r\nhello\r\n0\r\n\r\n",
            b"5;x\r\nhello\n10\r\n" + b"a" * 16 + b"\r\n0\r\nT: 1\r\n\r\n",
            b"2x\r\nok\r\n0\r\n\r\n",
            b"2\r\nok\r\r\n0\r\n\r\n",
            b"3\r\nabc\r\n0\r\nT: a\rb\r\n\r\n",
            b"00000000000000000000001\r\na\r\n0\r\n\r\n",
        ]
    ),
    cuts=st.lists(st.integers(1, 60), max_size=4),
)
def test_a_chunked_body_in_pieces_is_read_as_whole(data: bytes, cuts: list[int]) -> None:
    pieces, start = [], 0
    for cut in sorted(set(cuts)):
        if start < cut < len(data):
            pieces.append(data[start:cut])
            start = cut
    pieces.append(data[start:])
    whole = _chunks([data])
    split = _chunks(pieces)
    if isinstance(whole, str) or isinstance(split, str):
        assert whole == split
    else:
        assert (whole[0], whole[2]) == (split[0], split[2])


def test_a_variable_finds_the_headers_nginx_compares_it_with() -> None:
    """`$http_user_agent`: nginx lowers A to Z only and reads `-` as `_`, so User-Agent and USER_AGENT
    (with underscores_in_headers on) are both found, in their order; a name with a byte past ASCII
    is compared as it is."""
    head = (
        b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: one\r\nUSER_AGENT: two\r\n"
        b"X-\xc9t\xc9: upper\r\nx-\xe9t\xe9: lower\r\n\r\n"
    )
    limits = HeadLimits(underscores=True, ignore_invalid=False)
    reader = HeadReader(limits, None, 0.0)
    assert reader.feed(head, 0) == len(head)
    request = reader.request()
    assert request.header_values("user_agent") == [b"one", b"two"]
    assert request.header_values("x_\xe9t\xe9") == [b"lower"]


PUBLIC = (
    "line", "method", "raw_target", "http_version", "protocol", "target", "headers", "host", "host_header",
    "content_length", "chunked", "keep_alive", "upgrade", "expect_continue", "head_length", "started",
)  # fmt: skip


def _fields(request: object) -> dict[str, object]:
    return {name: getattr(request, name) for name in PUBLIC}


def test_a_request_made_again_is_the_request_as_it_was_made() -> None:
    """A subrequest starts from its parent's request made again (request.py `again`)."""
    reader = HeadReader(LIMITS, None, 0.0)
    assert (
        reader.feed(
            b"POST /a?b HTTP/1.0\r\nHost: x\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n", 0
        )
        > 0
    )
    request = reader.request()

    assert _fields(request.again()) == _fields(request)


def test_a_refused_request_made_again_is_refused_again() -> None:
    reader = HeadReader(LIMITS, None, 0.0)
    with pytest.raises(RequestError):
        reader.feed(b"GET /a HTTP/1.0\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0)
    refused = reader.refused()

    assert _fields(refused.again()) == _fields(refused)
    assert (refused.again().http_version, refused.again().host) == (HTTP_11, "")

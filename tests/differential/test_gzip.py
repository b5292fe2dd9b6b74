"""The gzip filter through nginx and hapair: which responses are compressed (status, type, length,
encoding, the request's Accept-Encoding, HTTP version, User-Agent and Via), what the head becomes
(Content-Encoding, Vary, ETag, Accept-Ranges, Content-Length and chunking) and the compressed body.

Both use the system's zlib with the same parameters and flush points, so the compressed bytes are the
same and the answers are compared as they are; every compressed body is also checked to decompress to
what the backend sent. The statuses in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import random
import time
import zlib
from pathlib import Path

import pytest

from .backend import Reply, raw
from .client import Conversation
from .compare import SERVER_TOKENS
from .harness import Case, Pair, SideResult, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture
from .wire import Message, parse_responses

pytestmark = ORACLE
LOG_TIMEOUT_S = 5.0


def _locations(*blocks: tuple[str, str]) -> str:
    return "\n".join(
        f"location {path} {{ proxy_pass http://backend; {directives} }}" for path, directives in blocks
    )


SERVER = _locations(
    ("/level9/", "gzip_comp_level 9;"),
    ("/min/", "gzip_min_length 1000;"),
    ("/any/", "gzip_proxied any;"),
    ("/expired/", "gzip_proxied expired;"),
    ("/cache/", "gzip_proxied no-cache no-store private;"),
    ("/validators/", "gzip_proxied no_last_modified no_etag;"),
    ("/auth/", "gzip_proxied auth;"),
    ("/http10/", "gzip_http_version 1.0;"),
    ("/disable/", 'gzip_disable msie6 "curl/[0-7]\\.";'),
    ("/all/", "gzip_types *;"),
    ("/off/", "gzip off;"),
    ("/novary/", "gzip_vary off;"),
    ("/small/", "gzip_window 1k; gzip_hash 1k; gzip_comp_level 5;"),
    ("/postponed/", "postpone_gzipping 2k; gzip_buffers 4 1k;"),
    ("/nobuffer/", "gzip_no_buffer on;"),
    ("/unbuffered/", "proxy_buffering off;"),
    ("/ratio/", "access_log ratio.log ratio;"),
) + (
    "\nlocation = /forbidden { return 403; }\nlocation = /text { return 200 'some text to compress, "
    "some text to compress, some text to compress'; }"
)
pair = pair_fixture(
    http_config(
        http="gzip on; gzip_vary on; gzip_types text/plain application/json; log_format ratio $gzip_ratio;",
        server=SERVER,
    )
)

CHUNK_SIZES = (
    "nginx writes a long compressed body in chunks of the size its event pipe and gzip buffers give (up to "
    "32k here), counted in $body_bytes_sent; hapair's chunks are other sizes"
)
BODY = b"".join(b"line %05d of a response body that compresses well\n" % n for n in range(400))
_RANDOM = random.Random(5)
_VOCABULARY = [
    bytes(_RANDOM.choices(b"abcdefghijklmnopqrstuvwxyz", k=_RANDOM.randint(2, 8))) for _ in range(200)
]
# 3000 bytes that zlib compresses differently in the smaller window nginx takes for a short response
WORDS = b" ".join(_RANDOM.choice(_VOCABULARY) for _ in range(3000))[:3000]
LARGE = b"".join(b"%08x some more text, %d\n" % (n * 2654435761 % 2**32, n) for n in range(40000))


def reply(
    body: bytes = BODY,
    *,
    headers: bytes = b"Content-Type: text/plain\r\n",
    status: bytes = b"200 OK",
    length: bool = True,
) -> Reply:
    """The backend's answer: `body` with a Content-Length, or chunked, and these header lines."""
    if length:
        return raw(b"HTTP/1.1 %b\r\n%bContent-Length: %d\r\n\r\n%b" % (status, headers, len(body), body))
    chunks = b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    return raw(b"HTTP/1.1 %b\r\n%bTransfer-Encoding: chunked\r\n\r\n%b" % (status, headers, chunks))


def get(
    path: bytes = b"/", *headers: bytes, accept: bytes | None = b"gzip", version: bytes = b"1.1"
) -> bytes:
    lines = [b"GET %b HTTP/%b" % (path, version), b"Host: x"]
    if accept is not None:
        lines.append(b"Accept-Encoding: " + accept)
    lines += headers
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])


CASES = [
    # what is compressed
    Case("compressed", get(), (200,), reply=reply()),
    Case("chunked upstream", get(), (200,), reply=reply(length=False)),
    Case("large body", get(), (200,), reply=reply(LARGE), log_differs=CHUNK_SIZES),
    Case(
        "body in pieces",
        get(),
        (200,),
        reply=raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(BODY),
            BODY[:5000],
            BODY[5000:],
            gap=0.05,
        ),
    ),
    Case("comp level 9", get(b"/level9/"), (200,), reply=reply()),
    Case("short response: a smaller window", get(), (200,), reply=reply(WORDS)),
    Case("small window and hash", get(b"/small/"), (200,), reply=reply()),
    Case(
        "postponed, small buffers", get(b"/postponed/"), (200,), reply=reply(LARGE), log_differs=CHUNK_SIZES
    ),
    Case("postponed, short body", get(b"/postponed/"), (200,), reply=reply(b"short, but more than 20")),
    Case("html always", get(), (200,), reply=reply(headers=b"Content-Type: text/html\r\n")),
    Case("json", get(), (200,), reply=reply(headers=b"Content-Type: application/json\r\n")),
    Case("type in upper case", get(), (200,), reply=reply(headers=b"Content-Type: TEXT/Plain\r\n")),
    Case(
        "type with charset",
        get(),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain; charset=utf-8\r\n"),
    ),
    Case(
        "type with charset, no space",
        get(),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain;charset=x\r\n"),
    ),
    Case(
        "type with another parameter",
        get(),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain; format=flowed\r\n"),
    ),
    Case("type not listed", get(), (200,), reply=reply(headers=b"Content-Type: image/png\r\n")),
    Case("no type", get(), (200,), reply=reply(headers=b"")),
    Case("any type", get(b"/all/"), (200,), reply=reply(headers=b"Content-Type: image/png\r\n")),
    Case("any type, none given", get(b"/all/"), (200,), reply=reply(headers=b"")),
    Case("gzip off", get(b"/off/"), (200,), reply=reply()),
    Case("without gzip_vary", get(b"/novary/"), (200,), reply=reply()),
    Case("without gzip_vary, not accepted", get(b"/novary/", accept=None), (200,), reply=reply()),
    # statuses and lengths
    Case("404 from upstream", get(), (404,), reply=reply(status=b"404 Not Found")),
    Case("403 from upstream", get(), (403,), reply=reply(status=b"403 Forbidden")),
    Case("500 from upstream", get(), (500,), reply=reply(status=b"500 Internal Server Error")),
    Case("206 from upstream", get(), (206,), reply=reply(status=b"206 Partial Content")),
    Case(
        "204 from upstream",
        get(),
        (204,),
        reply=raw(b"HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n"),
    ),
    Case("shorter than gzip_min_length", get(), (200,), reply=reply(b"nineteen bytes long")),
    Case("as long as gzip_min_length", get(), (200,), reply=reply(b"twenty bytes long!!!")),
    Case("short without a length", get(), (200,), reply=reply(b"tiny", length=False)),
    Case("empty without a length", get(), (200,), reply=reply(b"", length=False)),
    Case("empty with a length", get(b"/all/"), (200,), reply=reply(b"")),
    Case("min length 1000, shorter", get(b"/min/"), (200,), reply=reply(BODY[:999])),
    Case("min length 1000, longer", get(b"/min/"), (200,), reply=reply(BODY[:1000])),
    # the head
    Case(
        "already encoded",
        get(),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nContent-Encoding: br\r\n"),
    ),
    Case(
        "identity encoding",
        get(),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nContent-Encoding: identity\r\n"),
    ),
    Case("strong ETag", get(), (200,), reply=reply(headers=b'Content-Type: text/plain\r\nETag: "v1"\r\n')),
    Case("weak ETag", get(), (200,), reply=reply(headers=b'Content-Type: text/plain\r\nETag: W/"v1"\r\n')),
    Case("unquoted ETag", get(), (200,), reply=reply(headers=b"Content-Type: text/plain\r\nETag: v1\r\n")),
    Case(
        "two ETags",
        get(),
        (200,),
        reply=reply(headers=b'Content-Type: text/plain\r\nETag: "a"\r\nETag: b\r\n'),
    ),
    Case(
        "Accept-Ranges",
        get(),
        (200,),
        reply=reply(headers=b"Accept-Ranges: bytes\r\nContent-Type: text/plain\r\n"),
    ),
    Case(
        "upstream Vary", get(), (200,), reply=reply(headers=b"Content-Type: text/plain\r\nVary: Cookie\r\n")
    ),
    Case(
        "Location kept",
        get(),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nLocation: /elsewhere\r\n"),
    ),
    # the request
    Case("not accepted", get(accept=None), (200,), reply=reply()),
    Case("deflate only", get(accept=b"deflate"), (200,), reply=reply()),
    Case("gzip among others", get(accept=b"deflate, gzip, br"), (200,), reply=reply()),
    Case("gzip in upper case", get(accept=b"GZIP"), (200,), reply=reply()),
    Case("x-gzip", get(accept=b"x-gzip"), (200,), reply=reply()),
    Case("gzip and x-gzip", get(accept=b"x-gzipgzip"), (200,), reply=reply()),
    Case("gzip q=0", get(accept=b"gzip;q=0"), (200,), reply=reply()),
    Case("gzip q=0.000", get(accept=b"gzip; q=0.000"), (200,), reply=reply()),
    Case("gzip q=0.5", get(accept=b"gzip;q=0.5"), (200,), reply=reply()),
    Case("gzip q=1.0", get(accept=b"gzip; Q=1.0, br"), (200,), reply=reply()),
    Case("gzip q=1.5", get(accept=b"gzip;q=1.5"), (200,), reply=reply()),
    Case("gzip q=0.0001", get(accept=b"gzip;q=0.0001"), (200,), reply=reply()),
    Case("gzip with a parameter", get(accept=b"gzip;level=1"), (200,), reply=reply()),
    Case("gzipx", get(accept=b"gzipx"), (200,), reply=reply()),
    Case("gzi", get(accept=b"gzi"), (200,), reply=reply()),
    Case(
        "two Accept-Encoding, gzip second",
        get(b"/", b"Accept-Encoding: gzip", accept=b"br"),
        (200,),
        reply=reply(),
    ),
    Case("HTTP/1.0", get(version=b"1.0"), (200,), reply=reply()),
    Case("HTTP/1.0 allowed", get(b"/http10/", version=b"1.0"), (200,), reply=reply()),
    Case("HEAD", get(b"/", accept=b"gzip").replace(b"GET", b"HEAD"), (200,), reply=reply()),
    Case(
        "MSIE 6",
        get(b"/disable/", b"User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"),
        (200,),
        reply=reply(),
    ),
    Case(
        "MSIE 6 SV1",
        get(b"/disable/", b"User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"),
        (200,),
        reply=reply(),
    ),
    Case(
        "MSIE 5 Opera",
        get(b"/disable/", b"User-Agent: Mozilla/4.0 (compatible; MSIE 5.0; Opera 7)"),
        (200,),
        reply=reply(),
    ),
    Case("disabled agent", get(b"/disable/", b"User-Agent: CURL/7.88"), (200,), reply=reply()),
    Case("agent not disabled", get(b"/disable/", b"User-Agent: curl/8.1"), (200,), reply=reply()),
    # gzip_proxied: requests with a Via header
    Case("Via, proxied off", get(b"/", b"Via: 1.1 cache"), (200,), reply=reply()),
    Case("Via, proxied any", get(b"/any/", b"Via: 1.1 cache"), (200,), reply=reply()),
    Case("Via, expired, no Expires", get(b"/expired/", b"Via: 1.1 cache"), (200,), reply=reply()),
    Case(
        "Via, expired, Expires past",
        get(b"/expired/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nExpires: Thu, 01 Jan 1970 00:00:01 GMT\r\n"),
    ),
    Case(
        "Via, expired, Expires future",
        get(b"/expired/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nExpires: Fri, 01 Jan 2100 00:00:00 GMT\r\n"),
    ),
    Case(
        "Via, expired, Expires in asctime",
        get(b"/expired/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nExpires: Sun Nov  6 08:49:37 1994\r\n"),
    ),
    Case(
        "Via, expired, Expires invalid",
        get(b"/expired/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nExpires: 0\r\n"),
    ),
    Case(
        "Via, expired, Cache-Control",
        get(b"/expired/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nCache-Control: no-cache\r\n"),
    ),
    Case(
        "Via, no-cache",
        get(b"/cache/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nCache-Control: max-age=0, No-Cache\r\n"),
    ),
    Case(
        "Via, private in a second header",
        get(b"/cache/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(
            headers=b"Content-Type: text/plain\r\nCache-Control: max-age=0\r\nCache-Control: private\r\n"
        ),
    ),
    Case(
        "Via, no-cache with a value",
        get(b"/cache/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b'Content-Type: text/plain\r\nCache-Control: no-cache="Set-Cookie"\r\n'),
    ),
    Case(
        "Via, public",
        get(b"/cache/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nCache-Control: public\r\n"),
    ),
    Case("Via, no validators", get(b"/validators/", b"Via: 1.1 cache"), (200,), reply=reply()),
    Case(
        "Via, Last-Modified",
        get(b"/validators/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b"Content-Type: text/plain\r\nLast-Modified: Thu, 01 Jan 2015 00:00:00 GMT\r\n"),
    ),
    Case(
        "Via, ETag",
        get(b"/validators/", b"Via: 1.1 cache"),
        (200,),
        reply=reply(headers=b'Content-Type: text/plain\r\nETag: "x"\r\n'),
    ),
    Case("Via, auth, no Authorization", get(b"/auth/", b"Via: 1.1 cache"), (200,), reply=reply()),
    Case(
        "Via, auth, Authorization",
        get(b"/auth/", b"Via: 1.1 cache", b"Authorization: Basic eDp5"),
        (200,),
        reply=reply(),
    ),
    # nginx's own responses
    Case("return 200 of the default type", get(b"/text"), (200,)),
    # keep-alive
    Case(
        "two requests on one connection",
        Conversation(
            [b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n" * 2],
            responses=2,
        ),
        (200, 200),
        reply=reply(),
    ),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)
    for side in pair.run(case).sides():
        _assert_decompresses(side, case.reply)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


def _assert_decompresses(side: SideResult, sent: Reply) -> None:
    """A compressed body of a proxied response is what the backend sent."""
    if not side.upstream:
        return
    (backend_answer, *_), _ = parse_responses(b"".join(sent.pieces))
    for response in side.answer.responses:
        if response.header("content-encoding") == b"gzip" and response.body:
            assert zlib.decompress(response.body, 31) == backend_answer.body, side.name


PAGES = [
    pytest.param(b"/forbidden", 403, id="nginx's 403 page"),
    pytest.param(b"/nosuch/../forbidden", 403, id="nginx's 403 page, after a URI normalized"),
]


@pytest.mark.parametrize(("path", "status"), PAGES)
def test_nginx_pages_are_compressed_as_nginx_compresses_them(pair: Pair, path: bytes, status: int) -> None:
    """nginx's own pages go through the filter: compressed, with the head of any compressed response.
    They end with each one's Server token, so the bodies are compared decompressed."""
    outcome = pair.exchange(get(path))
    pages: list[bytes] = []
    heads = []
    for side in outcome.sides():
        (response,) = side.answer.responses
        assert (response.status, response.header("content-encoding")) == (status, b"gzip"), side.name
        page = zlib.decompress(response.body, 31)
        pages.append(page.replace(SERVER_TOKENS[side.name], b"SERVER"))
        heads.append(_head(response))
    assert pages[0] == pages[1]
    assert heads[0] == heads[1]


def test_gzip_ratio_is_nginx_s(pair: Pair) -> None:
    """`$gzip_ratio` of a compressed response (the original size over the compressed one), and "-" for
    one that was not compressed."""
    pair.exchange(get(b"/ratio/"), reply())
    pair.exchange(get(b"/ratio/", accept=None), reply())
    lines = [_log_lines(side.directory / "ratio.log", 2) for side in (pair.nginx, pair.hapair)]
    assert lines[0] == lines[1]
    assert lines[0][-2] != "-" and lines[0][-1] == "-"


def _log_lines(path: Path, count: int) -> list[str]:
    """The lines of a log once it has `count` of them (hapair writes its access logs within a second)."""
    deadline = time.monotonic() + LOG_TIMEOUT_S
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


UNBUFFERED = [
    pytest.param(reply(), id="one read"),
    pytest.param(
        raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"%x\r\n%b\r\n" % (3000, BODY[:3000]),
            b"%x\r\n%b\r\n0\r\n\r\n" % (3000, BODY[3000:6000]),
            gap=0.1,
        ),
        id="in pieces",
    ),
]


@pytest.mark.parametrize("sent", UNBUFFERED)
def test_a_response_the_proxy_does_not_buffer_is_flushed_after_each_read(pair: Pair, sent: Reply) -> None:
    """With `proxy_buffering off` each read from the upstream is compressed and flushed at once (zlib's
    sync flush, whose empty block ends in 00 00 ff ff), so that the client gets it. nginx reads at most
    `proxy_buffer_size` at a time and flushes after each read; hapair after each of its reads, which
    can be larger: the compressed bytes differ, the head and the decompressed body do not."""
    outcome = pair.exchange(get(b"/unbuffered/"), sent)
    (backend_answer, *_), _ = parse_responses(b"".join(sent.pieces))
    seen = []
    for side in outcome.sides():
        (response,) = side.answer.responses
        assert zlib.decompress(response.body, 31) == backend_answer.body, side.name
        assert b"\x00\x00\xff\xff" in response.body, side.name
        seen.append(_head(response))
    assert seen[0] == seen[1]


def _head(response: Message) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The status line and the headers but Server and Date, in lower case and sorted."""
    headers = sorted(
        (name.lower(), value) for name, value in response.headers if name.lower() not in (b"server", b"date")
    )
    return response.start, headers


@pytest.mark.parametrize("body", [pytest.param(BODY, id="short"), pytest.param(LARGE, id="long")])
def test_gzip_no_buffer_compresses_the_response_once(pair: Pair, body: bytes) -> None:
    """nginx 1.22.1 with `gzip_no_buffer on` sends some of its output buffers twice (the gzip header
    first of all), so that what the client gets is not the response: zlib reads a second header as
    data, or finds an invalid block. hapair sends the response compressed once (docs/nginx-differences.md)."""
    outcome = pair.exchange(get(b"/nobuffer/"), reply(body))
    nginx, hapair = (side.answer.responses[0] for side in outcome.sides())
    assert nginx.body.count(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\x03") > 1
    assert zlib.decompress(hapair.body, 31) == body

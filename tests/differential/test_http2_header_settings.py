"""HTTP/2 header lists under the default server's settings for request heads, beside nginx 1.22.1:
`large_client_header_buffers` (2 1k here; nginx applies them to HTTP/2 since 1.19.7): a field longer
than one buffer, or a list longer than all of them, ends the connection (GOAWAY ENHANCE_YOUR_CALM, the
stream unanswered), within them the request is served; `underscores_in_headers on` in the default server
keeps a name with `_` (the upstream sees it), the other server's `off` counts for nothing
(`ignore_invalid_headers off` is in tests/proxy/http2/test_request.py). nginx measures a field as sent
(Huffman-coded: the client's `v` take 7 bits), hapair as decoded (docs/nginx-differences.md): the fields
here are clear of the zone between the two."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .h2_harness import H2, H2Case, H2Pair, Stream, answers, upstream
from .harness import http_config
from .suite import ORACLE

pytestmark = ORACLE

# the first server of the address is its default server
TEXT = http_config(
    http=f"""
        server {{
            listen 127.0.0.1:{H2} http2;
            large_client_header_buffers 2 1k;
            underscores_in_headers on;
            location / {{ proxy_pass http://backend; }}
        }}
    """,
    server=f"listen 127.0.0.1:{H2} http2; server_name other; underscores_in_headers off;",
)


def field(name: bytes, size: int) -> tuple[bytes, bytes]:
    return name, b"v" * size


CASES = [
    H2Case("a field within a buffer", (Stream.get("/", field(b"x-a", 800)),), (200,)),
    H2Case("a field past a buffer", (Stream.get("/", field(b"x-a", 1300)),), (0,)),
    H2Case("a list within the buffers", (Stream.get("/", field(b"x-a", 900), field(b"x-b", 900)),), (200,)),
    H2Case(
        "a list past the buffers",
        (Stream.get("/", field(b"x-a", 900), field(b"x-b", 900), field(b"x-c", 900)),),
        (0,),
    ),
    H2Case("an underscore", (Stream.get("/", (b"x_under", b"1")),), (200,)),
    H2Case(
        "an invalid character is still dropped", (Stream.get("/", (b"x@a", b"1"), (b"x.b", b"2")),), (200,)
    ),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[H2Pair]:
    running = H2Pair(tmp_path_factory.mktemp("h2buffers"), TEXT)
    yield running
    running.close()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_answer(pair: H2Pair, case: H2Case) -> None:
    nginx, hapair = pair.run(case)
    assert nginx.statuses == case.nginx
    assert answers(hapair) == answers(nginx)
    assert upstream(hapair) == upstream(nginx)

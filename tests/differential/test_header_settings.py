"""How request heads are read when the configuration says otherwise than nginx's defaults, through nginx
and hapair: `underscores_in_headers on`, `ignore_invalid_headers off`, `client_header_buffer_size` and
`large_client_header_buffers` smaller than the defaults (414 and 494 where nginx's buffers do not hold a
line or a head), Debian's `max_headers`, and a second server whose settings apply from the Host line on
(the default server's before it). The statuses in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import pytest

from .harness import LISTEN, Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE
# the first server is the address's default server
DEFAULT_SERVER = f"""
    server {{
        listen 127.0.0.1:{LISTEN};
        client_header_buffer_size 512;
        large_client_header_buffers 2 1k;
        max_headers 5;
        location / {{ proxy_pass http://backend; }}
    }}
"""
pair = pair_fixture(
    http_config(
        server="server_name other; underscores_in_headers on; ignore_invalid_headers off; "
        "large_client_header_buffers 4 2k; max_headers 100;",
        http=DEFAULT_SERVER,
    )
)


def get(*headers: bytes, host: bytes = b"x") -> bytes:
    return (
        b"GET / HTTP/1.1\r\nHost: "
        + host
        + b"\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"Connection: close\r\n\r\n"
    )


CASES = [
    # the default server: nginx's default header rules, small buffers, max_headers 5
    Case("underscore, default server", get(b"X_A: 1"), (200,)),
    Case("@ in a name, default server", get(b"X@A: 1"), (200,)),
    Case("5 header lines", get(b"X-1: 1", b"X-2: 2", b"X-3: 3"), (200,)),
    Case("6 header lines", get(b"X-1: 1", b"X-2: 2", b"X-3: 3", b"X-4: 4"), (400,)),
    Case("dropped lines do not count", get(b"X_1: 1", b"X_2: 2", b"X_3: 3", b"X-4: 4"), (200,)),
    Case("request line in a large buffer", b"GET /" + b"a" * 900 + b" HTTP/1.0\r\n\r\n", (200,)),
    Case("request line past a large buffer", b"GET /" + b"a" * 1100 + b" HTTP/1.0\r\n\r\n", (414,)),
    Case("header line past a large buffer", get(b"X-A: " + b"a" * 1100), (400,)),
    Case("head in two large buffers", get(b"X-A: " + b"a" * 700, b"X-B: " + b"b" * 700), (200,)),
    Case(
        "head past two large buffers",
        get(b"X-A: " + b"a" * 700, b"X-B: " + b"b" * 700, b"X-C: " + b"c" * 700),
        (400,),
    ),
    Case(
        "a line ending a buffer: the next one starts a large buffer",
        b"GET / HTTP/1.0\r\nX-A: " + b"a" * (512 - 16 - 7) + b"\r\nX-B: " + b"b" * 1000 + b"\r\n\r\n",
        (200,),
    ),
    Case(
        "empty lines before the request line that fill the buffer",
        b"\r\n" * 300 + b"GET / HTTP/1.0\r\n\r\n",
        (200,),
    ),
    # the other server: its settings apply from its Host line on
    Case("underscore after Host: other", get(b"X_A: 1", host=b"other"), (200,)),
    Case(
        "underscore before Host: other",
        b"GET / HTTP/1.1\r\nX_A: 1\r\nHost: other\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case("invalid names after Host: other", get(b"X@A: 1", b"X.B: 2", b"X\xe9C: 3", host=b"other"), (200,)),
    Case("absolute-form target naming other", b"GET http://other/ HTTP/1.0\r\nX_A: 1\r\n\r\n", (200,)),
    Case(
        "6 header lines for other",
        get(b"X-1: 1", b"X-2: 2", b"X-3: 3", b"X-4: 4", host=b"other"),
        (200,),
    ),
    Case(
        "header line in other's large buffer",
        get(b"X-A: " + b"a" * 1100, host=b"other"),
        (200,),
    ),
    Case(
        "request line past the default server's large buffer, for other",
        b"GET /" + b"a" * 1100 + b" HTTP/1.0\r\nHost: other\r\n\r\n",
        (414,),
    ),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)

"""Clients too slow for the server's timeouts, and `return 444`, through nginx and hapair: the answer, the
access-log line of the request that timed out, and how the connection ends: closed (FIN), or reset (RST)
where `reset_timedout_connection on` applies (nginx sets SO_LINGER 0 on a connection whose request timed
out or ended with 444; not on one that timed out before a request began or between requests)."""

from __future__ import annotations

import pytest

from .client import Conversation
from .harness import LISTEN, Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE

# the default server resets; server "plain" does not
RESETTING = f"""
    server {{
        listen 127.0.0.1:{LISTEN};
        client_header_timeout 300ms;
        client_body_timeout 300ms;
        keepalive_timeout 300ms;
        reset_timedout_connection on;
        location / {{ proxy_pass http://backend; }}
        location /close {{ return 444; }}
    }}
"""
PLAIN = (
    "server_name plain; client_header_timeout 300ms; client_body_timeout 300ms; keepalive_timeout 300ms; "
    "location /close { return 444; }"
)
pair = pair_fixture(http_config(server=PLAIN, http=RESETTING))


def stalled(*pieces: bytes) -> Conversation:
    return Conversation(list(pieces), timeout=2.0)


def body_cut_short(host: bytes) -> Conversation:
    return stalled(b"POST / HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: 10\r\n\r\nabc")


CASES = [
    Case("head cut short, resetting server", stalled(b"GET / HTTP/1.1\r\nHost: x\r\n"), ()),
    Case("head cut short, plain server", stalled(b"GET / HTTP/1.1\r\nHost: plain\r\n"), ()),
    Case("body cut short, resetting server", body_cut_short(b"x"), ()),
    Case("body cut short, plain server", body_cut_short(b"plain"), ()),
    Case("444, resetting server", b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n", ()),
    Case("444, plain server", b"GET /close HTTP/1.1\r\nHost: plain\r\n\r\n", ()),
    Case("idle kept connection, resetting server", stalled(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), (200,)),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


@pytest.mark.parametrize("case", answer_params(CASES))
def test_the_connection_ends_as_nginx_ends_it(pair: Pair, case: Case) -> None:
    outcome = pair.run(case)
    nginx, hapair = outcome.nginx.answer, outcome.hapair.answer
    assert nginx.closed
    assert (hapair.closed, hapair.reset) == (nginx.closed, nginx.reset)

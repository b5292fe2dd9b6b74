"""`stub_status` through nginx and hapair, two workers each: the page's form, its methods, and the counters
once a known set of connections is open (idle, a head begun, one kept alive after a request, the status
request itself): the same gauges, and the same growth of accepts, handled and requests, whichever worker
each connection landed on. hapair alone: a worker killed with connections open leaves the totals but
takes its gauges with it (nginx's stay counted for good: docs/nginx-differences.md)."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from contextlib import ExitStack
from dataclasses import replace

import pytest

from .client import Conversation, converse
from .compare import documented_answer_differences
from .harness import BACKEND, LISTEN, LOG_FORMAT, Pair, Side
from .suite import ORACLE, pair_fixture

pytestmark = ORACLE

CONFIG = f"""worker_processes 2;
error_log error.log info;
events {{}}
http {{
    log_format diff '{LOG_FORMAT}';
    access_log access.log diff buffer=4k flush=1ms;
    upstream backend {{ server 127.0.0.1:{BACKEND}; }}
    server {{
        listen 127.0.0.1:{LISTEN};
        location / {{ proxy_pass http://backend; }}
        location /status {{ stub_status; }}
        location = /legacy {{ stub_status on; }}
    }}
}}
"""
pair = pair_fixture(CONFIG)
PAGE = re.compile(
    rb"Active connections: (\d+) \nserver accepts handled requests\n (\d+) (\d+) (\d+) \n"
    rb"Reading: (\d+) Writing: (\d+) Waiting: (\d+) \n"
)
SETTLE_S = 3.0


def status(side: Side) -> tuple[int, ...]:
    """The page's seven numbers: active, accepts, handled, requests, reading, writing, waiting."""
    answer = converse(side.port, Conversation([b"GET /status HTTP/1.0\r\n\r\n"]))
    assert answer.statuses == [200], answer.raw
    response = answer.responses[0]
    assert response.header("content-type") == b"text/plain"
    found = PAGE.fullmatch(response.body)
    assert found is not None, response.body
    return tuple(int(number) for number in found.groups())


def open_connections(side: Side, stack: ExitStack) -> None:
    """Two idle connections, one with a head begun, one kept alive after its request."""
    for first in (b"", b"", b"GET / HTTP/1.1\r\nHost: x\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", side.port)))
        if first:
            sock.sendall(first)
        if first.endswith(b"\r\n\r\n"):
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def settled(side: Side, gauges: tuple[int, int, int, int]) -> tuple[tuple[int, ...], int]:
    """The page once its gauges (active, reading, writing, waiting) are `gauges` (the workers take the
    connections in their own time), and how many status requests that took."""
    deadline = time.monotonic() + SETTLE_S
    asked = 0
    while True:
        page = status(side)
        asked += 1
        if (page[0], *page[4:]) == gauges or time.monotonic() > deadline:
            return page, asked
        time.sleep(0.01)


def growth(side: Side) -> tuple[int, ...]:
    """The gauges once the connections are open, and how much the totals grew meanwhile, as if the
    status page had been asked once (each request asked before the gauges settled adds one to each total)."""
    before = status(side)
    with ExitStack() as stack:
        open_connections(side, stack)
        # the 4 connections and the status request's: 1 reading, 1 writing (the status request), 3 waiting
        after, asked = settled(side, (5, 1, 1, 3))
    totals = (a - b - (asked - 1) for a, b in zip(after[1:4], before[1:4], strict=True))
    return (after[0], *totals, *after[4:])


def test_the_counters_move_as_nginx_moves_them(pair: Pair) -> None:
    nginx, hapair = growth(pair.nginx), growth(pair.hapair)
    # active 5; accepted and handled 5 more (4 + this page's), requests 3 more (the begun head, the kept
    # connection's and this page's); reading 1, writing 1, waiting 3
    assert nginx == (5, 5, 5, 3, 1, 1, 3)
    assert hapair == nginx


REQUESTS = {
    "GET": b"GET /status HTTP/1.0\r\n\r\n",
    "HEAD": b"HEAD /status HTTP/1.0\r\n\r\n",
    "POST": b"POST /status HTTP/1.0\r\nContent-Length: 2\r\n\r\nab",
    "the legacy argument": b"GET /legacy HTTP/1.0\r\n\r\n",
}


def _answer(side: Side, request: bytes) -> object:
    """The answer without what differs on purpose, and with the page's numbers (each side counts its own
    connections) and its length left out."""
    answer = converse(side.port, Conversation([request], head_request=request.startswith(b"HEAD")))
    (response,) = answer.responses
    if response.status == 200 and response.body:
        assert PAGE.fullmatch(response.body) is not None, response.body
        response = replace(response, body=b"", headers=_without_length(response.headers))
    elif response.status == 200:
        response = replace(response, headers=_without_length(response.headers))
    return documented_answer_differences(side.name, response)


def _without_length(headers: tuple[tuple[bytes, bytes], ...]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name, value) for name, value in headers if name.lower() != b"content-length")


@pytest.mark.parametrize("request_bytes", REQUESTS.values(), ids=REQUESTS.keys())
def test_the_answer_is_nginx_s_but_for_its_numbers(pair: Pair, request_bytes: bytes) -> None:
    nginx = _answer(pair.nginx, request_bytes)
    assert _answer(pair.hapair, request_bytes) == nginx


def test_a_killed_worker_leaves_its_totals_and_takes_its_gauges(pair: Pair) -> None:
    side = pair.hapair
    with ExitStack() as stack:
        open_connections(side, stack)
        before, _ = settled(side, (5, 1, 1, 3))
        for pid in side.process.worker_pids():
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + SETTLE_S
        after = before
        while time.monotonic() < deadline:
            try:
                after = status(side)
            except (OSError, AssertionError):
                continue  # no worker yet
            if after[0] == 1:
                break
            time.sleep(0.01)
    # only the status request's connection is active; the killed workers' accepts are kept
    assert after[0] == 1 and after[4:] == (0, 1, 0)
    assert after[1] >= before[1] + 1 and after[3] >= before[3] + 1

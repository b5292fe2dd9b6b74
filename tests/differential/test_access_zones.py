"""The limit zones as nginx's shared memory zones, beside nginx, with two worker processes (each with its
own listening socket, `reuseport`, so that the kernel spreads connections over both): a key limited by
one worker is limited by the other; a request under way in one worker counts in the other; a zone full of
keys refuses a new one as nginx's does; a reload keeps a zone's states, and refuses a zone whose key
changed, with nginx's line. Each scenario runs on both sides at once; what it saw is compared."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .backend import Reply, ok
from .harness import LISTEN, Pair, Side, http_config
from .suite import ORACLE, pair_fixture
from .wire import Message, parse_responses

pytestmark = ORACLE

HTTP = """
    limit_req_zone $arg_k zone=shared_req:64k rate=1r/m;
    limit_conn_zone $arg_k zone=shared_conn:64k;
    limit_conn_zone $arg_k zone=full:32k;
"""
PROXIED = "error_page 503 @limited; proxy_pass http://backend; proxy_set_header X-Pid $pid;"
SERVER = f"""
    location /req/ {{ limit_req zone=shared_req; {PROXIED} }}
    location /conn/ {{ limit_conn shared_conn 1; {PROXIED} }}
    location /full/ {{ limit_conn full 1; proxy_pass http://backend; }}
    location /dry/ {{
        limit_conn shared_conn 1;
        limit_conn_dry_run on;
        limit_conn_log_level warn;
        proxy_pass http://backend;
        proxy_set_header X-Status $limit_conn_status;
    }}
    location @limited {{ return 503 "$pid"; }}
"""
TEXT = (
    http_config(http=HTTP, server=SERVER)
    .replace("worker_processes 1;", "worker_processes 2;")
    .replace(f"listen 127.0.0.1:{LISTEN};", f"listen 127.0.0.1:{LISTEN} reuseport;")
)
pair = pair_fixture(TEXT)

TRIES = 64  # connections until both workers answered: the chance that the kernel gives all to one is 2**-63
KEY_LENGTH = 255  # limit_conn's longest key: 512-byte nodes, 8 to a page
WAIT_S = 10.0
READ_S = 5.0


def both(pair: Pair, scenario: Callable[[Side], Any]) -> tuple[Any, Any]:
    """The scenario run on nginx's side and hapair's at once: (nginx's result, hapair's)."""
    with ThreadPoolExecutor(2) as pool:
        nginx, hapair = pool.submit(scenario, pair.nginx), pool.submit(scenario, pair.hapair)
        return nginx.result(), hapair.result()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def send(side: Side, target: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", side.port), timeout=READ_S)
    sock.sendall(b"GET %b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % target.encode())
    return sock


def answer(sock: socket.socket) -> Answer:
    """The response, read until the proxy closes."""
    data = bytearray()
    with sock:
        while chunk := sock.recv(65536):
            data += chunk
    responses, _ = parse_responses(bytes(data))
    assert len(responses) == 1, data
    return Answer(responses[0].status, responses[0].body)


def request(side: Side, target: str) -> Answer:
    return answer(send(side, target))


def served_by(side: Side, target: str) -> int:
    """The worker that proxied the (last) request for `target`, as the backend saw it."""
    found = [r.message for r in side.backend.requests if r.message.target == target.encode()]
    pid = found[-1].header("x-pid")
    assert pid is not None
    return int(pid)


def holding(release: threading.Event, prefix: bytes) -> Callable[[Message], Reply]:
    """A backend script that answers the requests for `prefix` only once `release` is set."""

    def script(message: Message) -> Reply:
        if message.target.startswith(prefix):
            release.wait(WAIT_S)
        return ok()

    return script


def received(side: Side, prefix: bytes) -> int:
    return sum(1 for r in side.backend.requests if r.message.target.startswith(prefix))


def test_a_key_limited_by_one_worker_is_limited_by_the_other(pair: Pair) -> None:
    def scenario(side: Side) -> tuple[int, int, bool]:
        target = "/req/?k=shared"
        first = request(side, target)
        passed_by = served_by(side, target) if first.status == 200 else 0
        refusing: set[int] = set()
        for _ in range(TRIES):
            refused = request(side, target)
            assert refused.status == 503, refused
            refusing.add(int(refused.body))
            if len(refusing) == 2:
                break
        return first.status, len(refusing), passed_by in refusing

    nginx, hapair = both(pair, scenario)
    assert nginx == hapair == (200, 2, True)


def test_a_request_under_way_in_one_worker_counts_in_the_other(pair: Pair) -> None:
    def scenario(side: Side) -> tuple[int, int, int, int]:
        release = threading.Event()
        side.backend.script = holding(release, b"/conn/")
        try:
            held = send(side, "/conn/?k=held")
            side.backend.wait_until(lambda: received(side, b"/conn/") == 1, WAIT_S, "the held request")
            refusing: set[int] = set()
            for _ in range(TRIES):
                refused = request(side, "/conn/?k=held")
                assert refused.status == 503, refused
                refusing.add(int(refused.body))
                if len(refusing) == 2:
                    break
        finally:
            release.set()
        held_status = answer(held).status
        again = request(side, "/conn/?k=held")
        side.backend.script = lambda _: ok()
        return held_status, len(refusing), again.status, received(side, b"/conn/")

    nginx, hapair = both(pair, scenario)
    assert nginx == hapair == (200, 2, 200, 2)


def test_a_dry_run_lets_the_request_over_the_limit_through(pair: Pair) -> None:
    """`limit_conn_dry_run`: logged at `limit_conn_log_level`, `$limit_conn_status` REJECTED_DRY_RUN."""

    def scenario(side: Side) -> tuple[list[int], list[bytes | None], list[str]]:
        release = threading.Event()
        side.backend.script = holding(release, b"/dry/?k=held&first")
        offset = _error_log_size(side)
        try:
            held = send(side, "/dry/?k=held&first")
            side.backend.wait_until(lambda: received(side, b"/dry/") == 1, WAIT_S, "the held request")
            over = request(side, "/dry/?k=held")
        finally:
            release.set()
        statuses = [answer(held).status, over.status]
        side.backend.script = lambda _: ok()
        seen = [
            r.message.header("x-status")
            for r in side.backend.requests
            if r.message.target.startswith(b"/dry/")
        ]
        return statuses, seen, [line for line in _error_log_since(side, offset) if line.startswith("[warn]")]

    nginx, hapair = both(pair, scenario)
    assert nginx == hapair
    statuses, seen, lines = nginx
    assert (statuses, seen) == ([200, 200], [b"PASSED", b"REJECTED_DRY_RUN"])
    assert len(lines) == 1 and lines[0].startswith(
        '[warn] limiting connections, dry run, by zone "shared_conn"'
    )


def test_a_full_zone_refuses_a_new_key_as_nginx_does(pair: Pair) -> None:
    """A 32 KiB zone holds 40 keys of 255 bytes at once (5 pages of 8 nodes of 512 bytes, nginx's slab
    pool): of 41 requests held at once, the one that comes when the zone is full is refused, with
    nginx's crit line in the main error log; once they end, a key finds room again."""

    def scenario(side: Side) -> tuple[int, int, list[int], list[str], int]:
        release = threading.Event()
        side.backend.script = holding(release, b"/full/")
        offset = _error_log_size(side)
        sockets = [send(side, f"/full/?k={index:0{KEY_LENGTH}d}") for index in range(41)]
        try:
            side.backend.wait_until(lambda: received(side, b"/full/") == 40, WAIT_S, "40 held requests")
            answered = _readable(sockets)
            refused = [answer(sock).status for sock in answered]
        finally:
            release.set()
        statuses = [answer(sock).status for sock in sockets if sock not in answered]
        again = request(side, f"/full/?k={'x' * KEY_LENGTH}")
        side.backend.script = lambda _: ok()
        lines = [line for line in _error_log_since(side, offset) if line.startswith("[crit]")]
        return received(side, b"/full/"), len(refused), sorted(refused + statuses), lines, again.status

    nginx, hapair = both(pair, scenario)
    assert nginx == hapair
    held, refused, statuses, lines, again = nginx
    assert (held, refused, statuses.count(503), again) == (41, 1, 1, 200)
    assert lines == ['[crit] ngx_slab_alloc() failed: no memory in limit_conn_zone "full"']


def test_a_reload_keeps_the_zones_states(pair: Pair) -> None:
    def scenario(side: Side) -> tuple[int, int]:
        target = "/req/?k=reload"
        before = request(side, target).status
        _reload(side)
        return before, request(side, target).status

    nginx, hapair = both(pair, scenario)
    assert nginx == hapair == (200, 503)


def test_a_reload_refuses_a_zone_whose_key_changed(pair: Pair) -> None:
    """nginx's emerg line; the running workers stay, with the zone's states."""

    def scenario(side: Side) -> tuple[list[str], bool, int]:
        target = "/req/?k=changed"
        request(side, target)
        conf = side.directory / "nginx.conf"
        text = conf.read_text()
        workers = side.process.worker_pids()
        offset = _error_log_size(side)
        with _rewritten(conf, text.replace("$arg_k zone=shared_req", "$arg_j zone=shared_req")):
            os.kill(side.process.process.pid, signal.SIGHUP)
            lines = _wait_for_line(side, offset, "[emerg]")
        return lines, side.process.worker_pids() == workers, request(side, target).status

    nginx, hapair = both(pair, scenario)
    assert nginx == hapair
    lines, kept, status = nginx
    expected = (
        '[emerg] limit_req "shared_req" uses the "$arg_j" key while previously it used the "$arg_k" key'
    )
    assert (lines, kept, status) == ([expected], True, 503)


@contextlib.contextmanager
def _rewritten(path: Any, text: str) -> Iterator[None]:
    original = path.read_text()
    path.write_text(text)
    try:
        yield
    finally:
        path.write_text(original)


def _readable(sockets: list[socket.socket]) -> list[socket.socket]:
    """The sockets that have an answer to read now (waiting for the first of them)."""
    ready, _, _ = select.select(sockets, [], [], READ_S)
    return list(ready)


def _error_log_size(side: Side) -> int:
    return side.error_path.stat().st_size


_STAMP = re.compile(r"^\S+ \S+ (\[\w+\]) \d+#\d+: (?:\*\d+ )?")


def _error_log_since(side: Side, offset: int) -> list[str]:
    """The error-log lines after `offset`, without their time, pid and connection number."""
    with open(side.error_path, "rb") as file:
        file.seek(offset)
        text = file.read().decode("latin-1")
    return [_STAMP.sub(r"\1 ", line) for line in text.splitlines()]


def _wait_for_line(side: Side, offset: int, level: str) -> list[str]:
    """The lines of `level` logged after `offset`, once there is one."""
    deadline = time.monotonic() + WAIT_S
    while True:
        lines = [line for line in _error_log_since(side, offset) if line.startswith(level)]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def _reload(side: Side) -> None:
    """SIGHUP, then wait until the old workers are gone and new ones serve."""
    old = side.process.worker_pids()
    os.kill(side.process.process.pid, signal.SIGHUP)
    deadline = time.monotonic() + WAIT_S
    while True:
        workers = side.process.worker_pids()
        if workers and not workers & old:
            return
        assert time.monotonic() < deadline, f"{side.name}: the workers were not replaced"
        time.sleep(0.01)

"""What a check's outcome does to a peer, and whether an answer passes a check (pure: no I/O).

A peer's state moves as NGINX Plus's does: `fails` checks failed in a row make a healthy peer unhealthy,
`passes` checks passed in a row make an unhealthy one healthy again; a `mandatory` peer not checked yet
(`CHECKING`) becomes healthy at its first pass and unhealthy at its first failure. An http answer passes
a check without `match` when its status is 2xx or 3xx; with one, when every condition of the match holds.
A stream check passes once connected, and with a match once `expect` is found in what the peer sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.config.nginx.model.health import HealthCheck, Match

from .board import CHECKING, HEALTHY, UNHEALTHY

MAX_BODY = 256 * 1024  # the part of an answer's body a `body` condition examines


@dataclass(frozen=True, slots=True)
class PeerRecord:
    state: int
    fails: int  # in a row
    passes: int  # in a row
    checks: int


def recorded(record: PeerRecord, check: HealthCheck, passed: bool) -> PeerRecord:
    """`record` after one more check of the peer."""
    checks = record.checks + 1
    if passed:
        passes = record.passes + 1
        state = record.state
        if state == CHECKING or (state == UNHEALTHY and passes >= check.passes):
            state = HEALTHY
        return PeerRecord(state, 0, passes, checks)
    fails = record.fails + 1
    state = record.state
    if state == CHECKING or (state == HEALTHY and fails >= check.fails):
        state = UNHEALTHY
    return PeerRecord(state, fails, 0, checks)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_failure(match: Match | None, answer: HttpAnswer) -> str | None:
    """Why `answer` fails the check, in the words of NGINX Plus's log line ("checking status code"...),
    or None when it passes."""
    if match is None:
        return None if 200 <= answer.status < 400 else "checking status code"
    if not all(condition.holds(answer.status) for condition in match.statuses):
        return "checking status code"
    if not all(condition.holds(answer.headers) for condition in match.headers):
        return "checking headers"
    if not all(condition.holds(answer.body[:MAX_BODY]) for condition in match.bodies):
        return "checking body"
    return None


def parse_http_answer(data: bytes) -> HttpAnswer | None:
    """An HTTP/1.x answer read to its end (the check asks with HTTP/1.0 and `Connection: close`); None
    when it is not one."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((name.strip(), value.strip()))
    return HttpAnswer(int(parts[1]), headers, body)


def expected(match: Match, data: bytes) -> bool:
    """Whether what a stream peer sent holds what `expect` wants (no `expect`: anything does)."""
    if match.expect_pattern is not None:
        return match.expect_pattern.search(data) is not None
    if match.expect is not None:
        return match.expect in data
    return True

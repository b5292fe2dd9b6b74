"""Whether hapair's side of a case matches nginx's: the client's answer, the requests the backend saw and
the access-log lines, each with the differences docs/nginx-differences.md documents taken out first, by
the three `documented_*` functions (the only places that know of them).
"""

from __future__ import annotations

import re

from .harness import Outcome, SideResult
from .wire import Message, parse_requests

# what each writes in its Server header and at the foot of its error pages
SERVER_TOKENS = {"nginx": b"nginx/1.22.1", "hapair": b"hapair"}
_SIGNATURE = b"<hr><center>%b</center>"
# the last field, $upstream_status, may have spaces: "302 : 200" after an internal redirect
_LOG_LINE = re.compile(r'^(\S+) (\d+) (\d+) (\d+) "(.*)" "(.*)" (\S.*)$')

NormalizedResponse = tuple[bytes, tuple[tuple[bytes, bytes], ...], bytes, bool]
NormalizedRequest = tuple[bytes, bytes, bytes, tuple[tuple[bytes, bytes], ...], bytes, bool]


def documented_answer_differences(side: str, response: Message) -> NormalizedResponse:
    """A response to the client without what differs on purpose: the `Server` header (and `Date`, which
    differs from run to run), and nginx's signature at the foot of its error pages (`<center>hapair
    </center>`), with the Content-Length it changes. What is left: the status line, the other headers
    (names in lower case, sorted by name: the two write them in different orders; same-named ones keep
    theirs), the body, and whether it was read whole."""
    token = SERVER_TOKENS[side]
    signature = _SIGNATURE % token
    page = signature in response.body
    body = response.body.replace(signature, _SIGNATURE % b"SERVER")
    headers = []
    for name, value in response.headers:
        lower = name.lower()
        if lower in (b"server", b"date"):
            continue
        if lower == b"content-length" and page and value.isdigit():
            value = b"%d" % (int(value) - len(token))
        headers.append((lower, value))
    headers.sort(key=lambda header: header[0])
    return response.start, tuple(headers), body, response.complete


def documented_upstream_differences(side: SideResult) -> list[NormalizedRequest]:
    """The requests the backend saw, without what differs on purpose (docs/nginx-differences.md, "HTTP"):

    - hapair keeps upstream connections: where nginx sends `Connection: close`, hapair sends `Connection:
      keep-alive` (HTTP/1.0) or nothing (HTTP/1.1), so neither is compared;
    - hapair streams a chunked body to an HTTP/1.1 upstream where nginx reads it whole and sends its
      `Content-Length`: a chunked body is compared as a `Content-Length` of its size;
    - a request that a reused connection lost without an answer is sent again on a new one (nginx does the
      same with `keepalive`): a request whose connection the backend closed without answering is left
      out when the same request follows.

    The order of headers of different names is not compared (it carries no meaning, RFC 9110 5.3; the two
    place `proxy_set_header` lines and the defaults in different orders); the order of same-named ones is.
    Whether a request was whole is compared: a proxy that forwards the start of a request counts."""
    requests = []
    for connection, data in side.upstream:
        parsed = parse_requests(data)
        for index, request in enumerate(parsed):
            unanswered = connection.closed_unanswered and index == len(parsed) - 1
            requests.append((_normalized_request(request), unanswered))
    return [
        request
        for index, (request, unanswered) in enumerate(requests)
        if not (unanswered and index + 1 < len(requests) and requests[index + 1][0] == request)
    ]


def _normalized_request(request: Message) -> NormalizedRequest:
    streamed = request.header("content-length") is None
    headers = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == b"connection" and value.lower() in (b"close", b"keep-alive"):
            continue
        if streamed and lower == b"transfer-encoding" and value.lower() == b"chunked":
            name, value = b"Content-Length", b"%d" % len(request.body)
        headers.append((name, value))
    headers.sort(key=lambda header: header[0].lower())
    return request.method, request.target, request.version, tuple(headers), request.body, request.complete


def documented_log_differences(side: SideResult) -> list[tuple[str, ...]]:
    """The access-log lines in fields, without the bytes the Server token changes: `$bytes_sent` and
    `$body_bytes_sent` less the length of the token for each time it was written (in the Server header,
    at the foot of an error page). The lines are matched to the responses the client read, in order."""
    token = SERVER_TOKENS[side.name]
    responses = [
        response for response in side.answer.responses if response.status >= 200 or response.status == 101
    ]
    fields = []
    for index, line in enumerate(side.access):
        match = _LOG_LINE.match(line)
        assert match is not None, f"{side.name}: unexpected access-log line {line!r}"
        status, body_sent, sent, length, request, host, upstream = match.groups()
        if index < len(responses):
            response = responses[index]
            sent = str(int(sent) - response.raw.count(token) * len(token))
            body_sent = str(int(body_sent) - response.body.count(token) * len(token))
        fields.append((status, body_sent, sent, length, request, host, upstream))
    return fields


def answers(side: SideResult) -> tuple[list[NormalizedResponse], bytes, bool, bool]:
    """The answers, with the side's own port (each listens on its own) written as `LISTEN` where an
    absolute redirect names it."""
    answer = side.answer
    normalized = [
        _own_port_named(side.port, documented_answer_differences(side.name, response))
        for response in answer.responses
    ]
    return normalized, answer.rest, answer.closed, answer.timed_out


def _own_port_named(port: int, response: NormalizedResponse) -> NormalizedResponse:
    start, headers, body, complete = response
    own = b":%d/" % port
    named = tuple(
        (name, value.replace(own, b":LISTEN/") if name == b"location" else value) for name, value in headers
    )
    return start, named, body, complete


def assert_same_answer(outcome: Outcome) -> None:
    assert answers(outcome.hapair) == answers(outcome.nginx), _both(outcome, "answer")


def assert_same_upstream(outcome: Outcome) -> None:
    hapair, nginx = (
        documented_upstream_differences(outcome.hapair),
        documented_upstream_differences(outcome.nginx),
    )
    assert hapair == nginx, _both(outcome, "upstream")


def assert_same_log(outcome: Outcome) -> None:
    hapair, nginx = documented_log_differences(outcome.hapair), documented_log_differences(outcome.nginx)
    assert hapair == nginx, _both(outcome, "access")


def assert_no_worker_died(side: SideResult) -> None:
    assert side.workers_after == side.workers_before, f"{side.name}: a worker was replaced\n{side.errors}"
    assert "exited on signal" not in side.errors and "Traceback" not in side.errors, side.errors


def _both(outcome: Outcome, what: str) -> str:
    """The two sides' raw material, for the failure message."""
    parts = []
    for side in outcome.sides():
        detail = {
            "answer": side.answer.raw,
            "upstream": [data for _, data in side.upstream],
            "access": side.access,
        }[what]
        parts.append(f"{side.name}: {detail!r}")
    return "\n".join(parts)

"""Active health checks of upstream groups: NGINX Plus's `health_check` and `match` (its
ngx_http_upstream_hc_module and ngx_stream_upstream_hc_module), which open-source nginx does not have.
hapair reads them as its own extension (docs/nginx-differences.md); `nginx -t` refuses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .place import Place
from .upstream import Upstream

DEFAULT_INTERVAL_MS = 5000
DEFAULT_FAILS = 1
DEFAULT_PASSES = 1
DEFAULT_URI = "/"
DEFAULT_TIMEOUT_MS = 5000  # NGINX Plus's stream health_check_timeout; hapair uses it for http checks too


@dataclass(frozen=True, slots=True)
class StatusCondition:
    """`status [!] CODE|LOW-HIGH ...`: the response's status is one of `ranges` (not one, when negated)."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool

    def holds(self, status: int) -> bool:
        inside = any(low <= status <= high for low, high in self.ranges)
        return inside != self.negated


@dataclass(frozen=True, slots=True)
class HeaderCondition:
    """`header NAME [=|!=|~|!~ VALUE]` or `header ! NAME`: `operator` "" is "the header is present",
    "!" "it is absent"; the others compare the value (case-sensitively, as NGINX Plus does)."""

    name: str
    operator: str
    value: str = ""
    pattern: re.Pattern[str] | None = None

    def holds(self, headers: list[tuple[str, str]]) -> bool:
        values = [value for name, value in headers if name.lower() == self.name.lower()]
        if self.operator == "":
            return bool(values)
        if self.operator == "!":
            return not values
        if self.operator == "=":
            return self.value in values
        if self.operator == "!=":
            return self.value not in values
        assert self.pattern is not None
        found = any(self.pattern.search(value) for value in values)
        return found if self.operator == "~" else not found


@dataclass(frozen=True, slots=True)
class BodyCondition:
    """`body ~|!~ REGEX`: the first `MAX_BODY` bytes of the body, read as Latin-1."""

    pattern: re.Pattern[str]
    negated: bool

    def holds(self, body: bytes) -> bool:
        return (self.pattern.search(body.decode("latin-1")) is not None) != self.negated


@dataclass(frozen=True, slots=True)
class Match:
    """A `match NAME { ... }` block: every condition must hold. An http match has `status`, `header` and
    `body` conditions; a stream match `send` (bytes sent once connected) and `expect` (what the first
    data read must contain, or match as a regular expression)."""

    name: str
    place: Place
    statuses: tuple[StatusCondition, ...] = ()
    headers: tuple[HeaderCondition, ...] = ()
    bodies: tuple[BodyCondition, ...] = ()
    send: bytes = b""
    expect: bytes | None = None
    expect_pattern: re.Pattern[bytes] | None = None


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One `health_check` line, with the group it checks (the location's or stream server's
    `proxy_pass`) and its `match`. `stream`: a TCP check (connect, then `send`/`expect` if matched)."""

    upstream: Upstream
    place: Place
    stream: bool
    interval_ms: int = DEFAULT_INTERVAL_MS
    jitter_ms: int = 0
    fails: int = DEFAULT_FAILS
    passes: int = DEFAULT_PASSES
    uri: str = DEFAULT_URI
    port: int = 0  # 0: each server's own port
    match: Match | None = None
    mandatory: bool = False  # a peer is not used until its first check passes
    persistent: bool = False  # with mandatory: a peer's state is kept across a reload
    timeout_ms: int = DEFAULT_TIMEOUT_MS

    @property
    def match_name(self) -> str:
        """The name NGINX Plus's log lines quote (`health check "NAME"`): the match's, or ""."""
        return self.match.name if self.match is not None else ""

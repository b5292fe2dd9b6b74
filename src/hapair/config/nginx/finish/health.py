"""The `health_check` lines once their block is read: each gets its group (the location's or stream
server's `proxy_pass`, which must name an upstream group kept in shared memory) and its `match`."""

from __future__ import annotations

from ..errors import ConfigError
from ..model.health import HealthCheck, Match
from ..model.upstream import Upstream
from ..state import HealthCheckState, UpstreamState


def build_health_checks(
    checks: list[HealthCheckState], matches: dict[str, Match], upstreams: dict[int, Upstream], *, stream: bool
) -> tuple[HealthCheck, ...]:
    return tuple(_check(check, matches, upstreams, stream=stream) for check in checks)


def _check(
    check: HealthCheckState, matches: dict[str, Match], upstreams: dict[int, Upstream], *, stream: bool
) -> HealthCheck:
    group = _group(check)
    if group is None:
        text = 'health check requires an upstream group in "proxy_pass"'
        raise ConfigError.after_reading(text, check.place)
    upstream = upstreams[id(group)]
    if upstream.zone is None:
        raise ConfigError.after_reading(
            f'health check requires upstream "{upstream.name}" to reside in shared memory', check.place
        )
    match = None
    if check.match_name is not None:
        match = matches.get(check.match_name)
        if match is None:
            raise ConfigError.after_reading(f'match "{check.match_name}" not found', check.place)
    return HealthCheck(
        upstream,
        check.place,
        stream,
        interval_ms=check.interval_ms,
        jitter_ms=check.jitter_ms,
        fails=check.fails,
        passes=check.passes,
        uri=check.uri,
        port=check.port,
        match=match,
        mandatory=check.mandatory,
        persistent=check.persistent,
    )


def _group(check: HealthCheckState) -> UpstreamState | None:
    if check.location is not None:
        passing = check.location.proxy_pass
        return None if passing is None else passing.value.upstream
    assert check.stream_server is not None
    target = check.stream_server.proxy_pass
    if target is None or not isinstance(target.value, UpstreamState):
        return None
    return target.value

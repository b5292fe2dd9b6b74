"""The limits and timeouts of the HTTP data plane where the configuration does not give them.

The values are nginx 1.22's defaults: for `client_header_timeout`, `client_body_timeout`,
`keepalive_timeout`, `send_timeout`, `keepalive_requests`, `lingering_time` and `lingering_timeout` when
no level of the configuration sets them (a server's or location's own value wins); and hapair's own for
its upstream connection pool. Tests pass shorter ones.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Times in seconds, sizes in bytes."""

    client_header_timeout: float = 60.0
    client_body_timeout: float = 60.0
    keepalive_timeout: float = 75.0
    send_timeout: float = 60.0
    keepalive_requests: int = 1000
    lingering_time: float = 30.0
    lingering_timeout: float = 5.0
    # hapair's pool: idle connections kept per upstream peer when the upstream has no `keepalive`; enough
    # for the requests one worker has under way at once, or new connections are opened as old ones close
    idle_per_peer: int = 256
    idle_timeout: float = 60.0
    # flow control: a transport holding more than this waiting to be sent pauses the other side's reading
    high_water: int = 64 * KIB
    # a request body is kept for a retry on the next upstream while it is not larger than this
    replay_limit: int = 1024 * KIB
    # new connections started per loop iteration when many come at once (proxy/admission.py)
    admit_per_round: int = 16


DEFAULT_LIMITS = Limits()

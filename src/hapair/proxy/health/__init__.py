"""Active health checks of upstream groups (`health_check`, `match`: NGINX Plus's syntax, hapair's
extension; open-source nginx has none).

- `board`: the shared memory the results live in (one zone per block, made by the master), and the
  view each balancer reads (`PeerHealth`, the "checked down" input of `hapair.proxy.balancer`).
- `core`: pure: a peer's state after a check, whether an answer passes.
- `checker`: the asyncio tasks that check.
- `reader`: `HealthReader`, the state for readers outside the data planes (`hapair node`).

Who checks: one process per node, never one per worker. With a master, it is worker number 0 of the
current generation (its replacement after a crash too); without (`master_process off`), the process
itself. Not the master: its loop waits for signals and must never wait for a peer, it runs as root (a
check is network I/O with a backend's data), and it has no event loop, no resolver and no upstream
code; a worker has all of them, with the workers' user. NGINX Plus spreads its checks over the workers
through the shared zone; one worker does the same work with no coordination. While a reload's old
workers drain, the old worker 0 stops checking at once (its checks end with `SIGQUIT`).

The package imports none of them: they are imported where checks are configured (`has_health_checks`;
and by the master before it forks the workers: proxy/preload.py), so that a configuration without any
holds none.
"""

from __future__ import annotations

from hapair.config.nginx.model.config import NginxConfig


def has_health_checks(config: NginxConfig) -> bool:
    """Whether the configuration's http or stream block has a `health_check`."""
    return any(block is not None and block.health_checks for block in (config.http, config.stream))

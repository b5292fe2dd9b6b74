"""The health probes `hapair bgp` runs itself: the proxy's process is alive (its pid file names a running
process that is not a zombie), each listener answers (a TCP connect to VIP:port from this host, over the
loopback, within one probe interval) and, with `backends`, any backend is reachable (a TCP connect, as
`hapair node`'s `backends` tracker makes them). Each gives (healthy, detail) for the announcer.

A TCP connect does not see a proxy that is stopped or blocked (the kernel completes the handshake for
its listening socket): `hapair node --bgp`'s worker health exchange does (docs/bgp.md)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from hapair.node.probes import reachable

PROXY_SOURCE = "proxy"
BACKENDS_SOURCE = "backends"


def listener_source(vip: str, port: int) -> str:
    return f"listener {vip}:{port}"


def proxy_pid(pid_file: str) -> int | None:
    """The PID the proxy's pid file names, or None."""
    try:
        text = Path(pid_file).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def process_alive(pid: int) -> bool:
    """A process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def probe_process(pid_file: str) -> tuple[bool, str]:
    pid = proxy_pid(pid_file)
    if pid is None:
        return False, f"no PID in {pid_file}"
    if not process_alive(pid):
        return False, f"process {pid} is gone"
    return True, f"process {pid} alive"


async def probe_listener(vip: str, port: int, timeout: float) -> tuple[bool, str]:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(vip, port), timeout)
    except TimeoutError:
        return False, f"no answer in {timeout * 1000:.0f} ms"
    except OSError as error:  # asyncio's strerror names the address: the errno's text says it shorter
        return False, os.strerror(error.errno) if error.errno else str(error)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, "accepts connections"


async def probe_backends(backends: Sequence[tuple[str, int]], timeout: float) -> tuple[bool, str]:
    results = await asyncio.gather(*(reachable(backend, timeout) for backend in backends))
    count = sum(results)
    if count == 0:
        return False, f"none of {len(backends)} backends reachable in {timeout * 1000:.0f} ms"
    return True, f"{count} of {len(backends)} backends reachable"

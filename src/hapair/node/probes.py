"""The node's own requests: a connection to every backend (is any reachable from here?) and a loopback
request to each listener of the proxy (does it answer?).

The HTTP loopback request is one the proxy answers itself without a backend: an HTTP/1.1 request without
a Host header, which nginx refuses with 400 at once (it shows in the access log as such, one line per
listener and `listener_interval`). A TLS listener is asked for a handshake only."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterable

from .targets import Probe

HTTP_PROBE = b"GET /hapair-node-health HTTP/1.1\r\nUser-Agent: hapair-node\r\n\r\n"


async def reachable(address: tuple[str, int], timeout: float) -> bool:
    """Whether a TCP connection to `address` is made within `timeout` (it is closed at once)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(*address), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def any_reachable(addresses: Iterable[tuple[str, int]], timeout: float) -> bool:
    checks = [reachable(address, timeout) for address in addresses]
    return any(await asyncio.gather(*checks)) if checks else True


def _client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


CLIENT_TLS = _client_context()


async def unanswered(probe: Probe, timeout: float) -> str | None:
    """Why the listener did not answer a loopback request within `timeout` (an HTTP status line, or the
    TLS handshake's end), as "ADDRESS:PORT: reason"; None when it answered."""
    family = socket.AF_INET if probe.host.version == 4 else socket.AF_INET6
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                str(probe.host), probe.port, family=family, ssl=CLIENT_TLS if probe.tls else None
            )
            try:
                if not probe.http:
                    return None
                writer.write(HTTP_PROBE)
                line = await reader.readline()
                reason = None if line.startswith(b"HTTP/") else f"no status line ({line[:40]!r})"
            finally:
                writer.close()
    except TimeoutError:
        reason = f"no answer in {timeout:g} s"
    except (OSError, ssl.SSLError) as error:
        reason = type(error).__name__
    return None if reason is None else f"{probe.host}:{probe.port}: {reason}"


async def all_unanswered(probes: Iterable[Probe], timeout: float) -> list[str]:
    """Why each listener that did not answer did not (empty: all answered)."""
    return [reason for reason in await asyncio.gather(*(unanswered(p, timeout) for p in probes)) if reason]

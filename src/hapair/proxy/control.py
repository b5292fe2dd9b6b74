"""`hapair status`'s view of the load balancer: the master answers on a control socket (hapair/control)
served from a thread of its own, an asyncio loop in it (the master's main thread waits for signals and
has no loop). The socket is `/run/hapair/proxy.sock` when the pid file is nginx's default, else beside the
pid file with `.sock`, so that masters run with pid files of their own do not share one.

The document (`status_document`, pure): the configuration file, the workers, the listening addresses, each
upstream group's peers as configured (`down`, `backup`) with what their active health checks say, and
nginx's connection counters where the workers count them (a `stub_status`, or `--metrics`)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hapair import __version__
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.upstream import Upstream
from hapair.config.nginx.paths import DEFAULT_PID
from hapair.control.protocol import PROXY_SOCKET, socket_beside
from hapair.control.server import ControlServer

if TYPE_CHECKING:
    from .health.reader import PeerHealthRecord

COUNTERS = ("accepted", "handled", "requests", "active", "reading", "writing", "waiting")


def control_path(pid_file: str) -> str:
    return PROXY_SOCKET if pid_file == DEFAULT_PID else socket_beside(pid_file)


def status_document(
    config: NginxConfig,
    conf_file: str,
    workers: Iterable[int],
    totals: tuple[int, ...] | None,
    health: Iterable[PeerHealthRecord],
) -> dict[str, Any]:
    checked = {(record.block, record.upstream, record.peer): record.state for record in health}
    groups = [("http", upstream) for upstream in config.http.upstreams] if config.http is not None else []
    if config.stream is not None:
        groups += [("stream", upstream) for upstream in config.stream.upstreams]
    return {
        "daemon": "proxy",
        "version": __version__,
        "pid": os.getpid(),
        "config": conf_file,
        "workers": sorted(workers),
        "listening": sorted(
            f"{listening.address.text}{'/udp' if listening.udp else ''}" for listening in config.listening
        ),
        "upstreams": [_upstream(block, upstream, checked) for block, upstream in groups],
        "connections": dict(zip(COUNTERS, totals, strict=True)) if totals is not None else None,
    }


def _upstream(block: str, upstream: Upstream, checked: dict[tuple[str, str, str], str]) -> dict[str, Any]:
    peers = []
    for server in upstream.servers:
        for address in server.addresses:
            name = address.text
            peers.append(
                {
                    "address": name,
                    "server": server.name,
                    "backup": server.backup,
                    "down": server.down,
                    "health": checked.get((block, upstream.name, name)),
                }
            )
    return {"block": block, "name": upstream.name, "peers": peers}


class ControlThread:
    """The master's control socket, served by an asyncio loop in a daemon thread."""

    def __init__(self, path: str, status: Callable[[], dict[str, Any]]) -> None:
        self._server = ControlServer(path, status)
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)

    def start(self) -> OSError | None:
        """Serve; the error when the socket cannot be made (the master runs on without it)."""
        self._thread.start()
        self._started.wait()
        return self._error

    def forget(self) -> None:
        """In a forked worker: its copy of the listening socket closed (the thread is not there)."""
        for fd in self._server.listening_fds():
            os.close(fd)

    def close(self) -> None:
        if self._error is None and self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._server.close(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._server.start())
        except OSError as error:
            self._error = error
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()

"""The proxy side of `hapair node`, whatever holds the VIPs in front of it: the proxy master as a supervised
child, the health channel to its workers, the loops that probe its listeners and backends, and the native
trackers they feed. The VRRP node (daemon.py) hands the trackers' changes to its VRRP instances, the BGP
node (bgp.py) to its announcers."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING

from hapair import systemd
from hapair.config.nginx.model.config import NginxConfig
from hapair.forked import ForkedCall, ForkedCallError

from . import probes
from .channel import CHANNEL_VARIABLE, Channel
from .settings import NodeSettings
from .supervisor import ProxySupervisor, proxy_command
from .targets import Targets
from .tracking import ListenerChecks, NativeTrackers, Punctuality

if TYPE_CHECKING:
    from hapair.config.nginx.result import LoadResult

START_WAIT_S = 15.0  # how long the VIPs' side waits for the proxy's first workers at start


class ProxyWatch:
    """One proxy master at a time and its native trackers; `report(name, ok)` at each tracker's change."""

    def __init__(
        self,
        nginx_conf: str,
        prefix: str | None,
        directives: str,
        *,
        settings: NodeSettings,
        log: Callable[[str], None],
        logger: logging.Logger,
        report: Callable[[str, bool], None],
    ) -> None:
        self.nginx_conf = nginx_conf
        self.prefix = prefix
        self.directives = directives
        self.settings = settings
        self.log = log
        self.logger = logger
        self.trackers = NativeTrackers(settings, report)
        self.targets = Targets(frozenset(), (), ())
        self.channel: Channel | None = None
        self.supervisor: ProxySupervisor | None = None
        self._listeners = ListenerChecks(settings.proxy.rise, settings.proxy.fall)
        self._first_workers = asyncio.Event()
        self._loops: list[asyncio.Future[None]] = []

    def start(self, *, stdout: int | None = None) -> None:
        """Start the proxy master (its output to `stdout`, None: ours) and the health channel."""
        environment = dict(os.environ)
        environment.pop(systemd.SOCKET_VARIABLE, None)  # the node tells systemd, not its proxy
        if self.settings.native.enabled:
            name = f"hapair-node-{os.getpid()}-{secrets.token_hex(4)}"
            self.channel = Channel(name, self._workers_changed)
            environment[CHANNEL_VARIABLE] = name
        self.supervisor = ProxySupervisor(
            proxy_command(self.nginx_conf, self.prefix, self.directives),
            environment=environment,
            restart=self.settings.restart,
            log=self.log,
            on_master=self.trackers.master_changed,
            stdout=stdout,
        )
        self.supervisor.start()

    def load_proxy(self) -> NginxConfig | None:
        """The proxy's configuration as it is now (None, logged, if it cannot be read)."""
        try:  # in a child process, as the proxy's master reads it: the reader stays out of this daemon
            config = ForkedCall(_read_proxy, self.nginx_conf, self.prefix, self.directives).result().config
        except ForkedCallError:
            config = None
        if config is None:
            self.log(f"Cannot read {self.nginx_conf} for native tracking; keeping what was tracked")
        return config

    async def wait_first_workers(self, stopping: asyncio.Event, then: str) -> None:
        """Until the proxy's first workers have joined the channel, `stopping` is set, or START_WAIT_S;
        `then`: what starts after it, for the log."""
        if self.channel is None:
            return
        waits = [asyncio.ensure_future(e.wait()) for e in (self._first_workers, stopping)]
        await asyncio.wait(waits, timeout=START_WAIT_S, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        if not self._first_workers.is_set():
            self.log("The proxy has no worker serving yet: starting {then} all the same")

    def _workers_changed(self, count: int) -> None:
        if count:
            self._first_workers.set()
        self.trackers.workers_changed(count)

    def start_loops(self) -> None:
        self._loops = [asyncio.ensure_future(loop) for loop in self._health_loops()]

    def reload(self) -> None:
        if self.supervisor is not None:
            self.supervisor.reload()

    async def stop(self) -> None:
        """The loops, then the proxy's graceful stop, then the channel."""
        for task in self._loops:
            task.cancel()
        if self.supervisor is not None:
            await self.supervisor.stop()
        if self.channel is not None:
            self.channel.close()

    # ----- health loops

    def _health_loops(self) -> list[Coroutine[None, None, None]]:
        loops: list[Coroutine[None, None, None]] = []
        if self.channel is None:
            return loops
        loops.append(self._serving_loop())
        if self.settings.proxy.listener_interval > 0:
            loops.append(self._listener_loop())
        if self.settings.backends.enabled:
            loops.append(self._backends_loop())
        return loops

    async def _serving_loop(self) -> None:
        assert self.channel is not None
        interval = self.settings.proxy.interval
        loop = asyncio.get_running_loop()
        punctuality = Punctuality(interval, loop.time())
        while True:
            await asyncio.sleep(interval)
            late = self.channel.ping()
            if not punctuality.on_time(loop.time()):
                self.logger.debug("the node ran late: the health round is not counted")
                continue
            failures = self._serving_failures(late)
            serving = self.trackers.serving.ok
            self.trackers.serving_round(not failures)
            if serving and not self.trackers.serving.ok:
                self.log(f"hapair tracker proxy_serving: its last failed round: {'; '.join(failures)}")

    def _serving_failures(self, late: list[int]) -> list[str]:
        """What failed in a health round: the workers that did not answer the last exchange, the
        listeners that did not answer `fall` loopback requests in a row."""
        failures = [f"workers {late} did not answer the health exchange"] if late else []
        failures += self._listeners.failures
        if failures:
            self.logger.debug("%s", "; ".join(failures))
        return failures

    async def _listener_loop(self) -> None:
        interval = self.settings.proxy.listener_interval
        timeout = min(interval, 1.0)
        while True:
            await asyncio.sleep(interval)
            if self.trackers.master_alive and self.trackers.workers:
                self._listeners.record(await probes.all_unanswered(self.targets.probes, timeout))
            else:
                self._listeners.reset()  # the `proxy` tracker says it already

    async def _backends_loop(self) -> None:
        settings = self.settings.backends
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            if self.targets.backends:
                ok = await probes.any_reachable(self.targets.backends, settings.timeout)
                self.trackers.backends_round(ok)
            await asyncio.sleep(max(0.0, started + settings.interval - loop.time()))


def _read_proxy(nginx_conf: str, prefix: str | None, directives: str) -> LoadResult:
    """The proxy's configuration as `nginx -s` reads it (no file opened), in the reading child."""
    from hapair.config.nginx.load import load  # noqa: PLC0415

    return load(nginx_conf, prefix, signal=True, directives=directives)

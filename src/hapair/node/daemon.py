"""`hapair node`'s process: the VRRP daemon (hapair.vrrp.daemon, unchanged in what it does) with the
proxy master as a supervised child, and the native trackers between them.

Start: the proxy first; the VRRP instances start once its workers have joined the health channel (or
after START_WAIT_S), so that an instance does not take its VIP in front of a proxy that does not serve
yet. SIGHUP: the VRRP daemon's reload, then the proxy's (SIGHUP to its master). SIGTERM: the VRRP stop
first (the masters' priority-0 adverts from the signal handler, the VIPs removed), then the proxy's
graceful stop (SIGQUIT), so that the VIP has moved before the proxy stops serving."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field

from hapair import systemd
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.nginx.load import load as load_nginx
from hapair.net.addresses import AddressManager
from hapair.vrrp.commands import ScriptRunner
from hapair.vrrp.daemon import DaemonOptions, VrrpDaemon
from hapair.vrrp.notify_fifo import FifoWriter
from hapair.vrrp.runtime import Runtime
from hapair.vrrp.tracking import TrackerLink

from . import probes
from .channel import CHANNEL_VARIABLE, Channel
from .settings import NodeSettings
from .supervisor import ProxySupervisor, proxy_command
from .targets import Targets, targets
from .tracking import NativeTrackers, tracked_links

START_WAIT_S = 15.0  # how long the VRRP instances wait for the proxy's first workers at start


@dataclass(frozen=True)
class NodeOptions:
    vrrp: DaemonOptions
    nginx_conf: str
    prefix: str | None = None
    directives: str = ""
    settings: NodeSettings = field(default_factory=NodeSettings)


class NodeDaemon(VrrpDaemon):
    """One run of `hapair node`."""

    def __init__(self, options: NodeOptions, logger: logging.Logger) -> None:
        super().__init__(options.vrrp, logger)
        self.node = options
        self.settings = options.settings
        self.trackers = NativeTrackers(self.settings, self._native_changed)
        self.targets = Targets(frozenset(), (), ())
        self.channel: Channel | None = None
        self.supervisor: ProxySupervisor | None = None
        self._listeners_ok = True
        self._first_workers = asyncio.Event()

    async def run(self) -> int:
        self._install_signals()  # a stop while the proxy starts is the VRRP daemon's stop too
        environment = dict(os.environ)
        environment.pop(systemd.SOCKET_VARIABLE, None)  # the node tells systemd, not its proxy
        if self.settings.native.enabled:
            name = f"hapair-node-{os.getpid()}-{secrets.token_hex(4)}"
            self.channel = Channel(name, self._workers_changed)
            environment[CHANNEL_VARIABLE] = name
        node = self.node
        self.supervisor = ProxySupervisor(
            proxy_command(node.nginx_conf, node.prefix, node.directives),
            environment=environment,
            restart=self.settings.restart,
            log=self.log,
            on_master=self.trackers.master_changed,
        )
        self.supervisor.start()
        if self.channel is not None:
            await self._wait_first_workers()
        loops = [asyncio.ensure_future(loop) for loop in self._health_loops()]
        try:
            code = await super().run()
        finally:
            for task in loops:
                task.cancel()
            await self.supervisor.stop()
            if self.channel is not None:
                self.channel.close()
        return code

    async def _wait_first_workers(self) -> None:
        waits = [asyncio.ensure_future(e.wait()) for e in (self._first_workers, self._stopping)]
        await asyncio.wait(waits, timeout=START_WAIT_S, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        if not self._first_workers.is_set():
            self.log("The proxy has no worker serving yet: starting the VRRP instances all the same")

    def _workers_changed(self, count: int) -> None:
        if count:
            self._first_workers.set()
        self.trackers.workers_changed(count)

    # ----- the VRRP side

    def _new_runtime(
        self,
        config: KeepalivedConfig,
        runner: ScriptRunner,
        addresses: AddressManager,
        fifos: list[FifoWriter],
    ) -> Runtime:
        runtime = super()._new_runtime(config, runner, addresses, fifos)
        if self.settings.native.enabled:
            runtime.natives = self._links(config)
            runtime.natives_ok.update(self.trackers.states())
        return runtime

    def _links(self, config: KeepalivedConfig) -> Mapping[str, Sequence[TrackerLink]]:
        """The trackers of the instances in front of the proxy, from both configurations as they are now
        (a proxy configuration that cannot be read keeps the targets found before)."""
        node = self.node
        result = load_nginx(node.nginx_conf, node.prefix, signal=True, directives=node.directives)
        if result.config is None:
            self.log(f"Cannot read {node.nginx_conf} for native tracking; keeping what was tracked")
        else:
            self.targets = targets(config, result.config, self.settings.native.instances)
        links = tracked_links(config.vrrp.instances, set(self.targets.instances), self.settings)
        for name, instance_links in links.items():
            described = ", ".join(f"{link.name}{_weight(link.weight)}" for link in instance_links)
            self.log(f"({name}) tracking natively: {described}")
        return links

    def _native_changed(self, name: str, ok: bool) -> None:
        if self._stopping.is_set():
            return  # the proxy's own stop, once the instances have stopped
        self.log(f"hapair tracker {name} is {'up' if ok else 'down'}")
        if self.runtime is not None:
            self.runtime.native_reported(name, ok)

    def _reload(self) -> None:
        super()._reload()
        if self.supervisor is not None:
            self.supervisor.reload()

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
        while True:
            await asyncio.sleep(interval)
            late = self.channel.ping()
            if late:
                self.logger.debug("workers %s did not answer", late)
            self.trackers.serving_round(not late and self._listeners_ok)

    async def _listener_loop(self) -> None:
        interval = self.settings.proxy.listener_interval
        timeout = min(interval, 1.0)
        while True:
            await asyncio.sleep(interval)
            if self.trackers.master_alive and self.trackers.workers:
                self._listeners_ok = await probes.all_answer(self.targets.probes, timeout)
            else:
                self._listeners_ok = True  # the `proxy` tracker says it already

    async def _backends_loop(self) -> None:
        settings = self.settings.backends
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            if self.targets.backends:
                ok = await probes.any_reachable(self.targets.backends, settings.timeout)
                self.trackers.backends_round(ok)
            await asyncio.sleep(max(0.0, started + settings.interval - loop.time()))


def _weight(weight: int) -> str:
    return f" weight {weight}" if weight else ""


def run_node(options: NodeOptions, logger: logging.Logger) -> int:
    daemon = NodeDaemon(options, logger)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(daemon.run())
    return 0

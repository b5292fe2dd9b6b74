"""`hapair node`'s process: the VRRP daemon (hapair.vrrp.daemon, unchanged in what it does) with the
proxy master as a supervised child, and the native trackers between them.

Start: the proxy first; the VRRP instances start once its workers have joined the health channel (or
after START_WAIT_S), so that an instance does not take its VIP in front of a proxy that does not serve
yet. SIGHUP: the VRRP daemon's reload, then the proxy's (SIGHUP to its master). SIGTERM: the VRRP stop
first (the masters' priority-0 adverts from the signal handler, the VIPs removed), then the proxy's
graceful stop (SIGQUIT), so that the VIP has moved before the proxy stops serving."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hapair.config.keepalived.model import KeepalivedConfig
from hapair.net.addresses import AddressManager
from hapair.vrrp.commands import ScriptRunner
from hapair.vrrp.daemon import DaemonOptions, VrrpDaemon
from hapair.vrrp.notify_fifo import FifoWriter
from hapair.vrrp.runtime import Runtime
from hapair.vrrp.timer import run_precisely
from hapair.vrrp.tracking import TrackerLink

from .settings import NodeSettings
from .targets import targets
from .tracking import tracked_links
from .watch import ProxyWatch


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
        self.watch = ProxyWatch(
            options.nginx_conf,
            options.prefix,
            options.directives,
            settings=self.settings,
            log=self.log,
            logger=logger,
            report=self._native_changed,
        )

    async def run(self) -> int:
        self._install_signals()  # a stop while the proxy starts is the VRRP daemon's stop too
        self.watch.start()
        await self.watch.wait_first_workers(self._stopping, "the VRRP instances")
        self.watch.start_loops()
        try:
            return await super().run()
        finally:
            await self.watch.stop()

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
            runtime.natives_ok.update(self.watch.trackers.states())
        return runtime

    def _links(self, config: KeepalivedConfig) -> Mapping[str, Sequence[TrackerLink]]:
        """The trackers of the instances in front of the proxy, from both configurations as they are now
        (a proxy configuration that cannot be read keeps the targets found before)."""
        proxy = self.watch.load_proxy()
        if proxy is not None:
            self.watch.targets = targets(config, proxy, self.settings.native.instances)
        links = tracked_links(config.vrrp.instances, set(self.watch.targets.instances), self.settings)
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
        self.watch.reload()


def _weight(weight: int) -> str:
    return f" weight {weight}" if weight else ""


def run_node(options: NodeOptions, logger: logging.Logger) -> int:
    daemon = NodeDaemon(options, logger)
    with contextlib.suppress(KeyboardInterrupt):
        return run_precisely(daemon.run())
    return 0

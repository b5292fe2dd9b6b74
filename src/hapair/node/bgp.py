"""`hapair node --bgp FILE`: one of N active nodes. The node runs its proxy as `hapair node` does
(watch.py) and, in place of the VRRP daemon, hapair bgp's announcers (hapair.bgp.daemon) in the same
process, on hapair bgp's file (`load(FILE, "node")`). Each change of a native tracker is at once an
observation of the source of that name: a proxy master's exit (its pidfd) or its last worker leaving the
channel withdraws the VIPs in the same turn of the event loop, with no probe period and no process between.
`hapair bgp -c FILE drain|undrain|status` reach the announcers on the file's control socket; drain stops
the proxy child gracefully, undrain starts it again.

The trackers have their own rise and fall (the node's settings, [proxy] and [backends]), so the announcers
take each change as it comes (rise 1, fall 1). At start every VIP is withdrawn until the proxy's workers
have joined. SIGTERM/SIGINT: every VIP withdrawn, `drain_settle` for the routers to move the flows, then
the proxy's graceful stop. SIGHUP: the proxy's reload, its listeners and backends read again (the file is
read at start only)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time

from hapair.bgp.config import BgpConfig, Vip
from hapair.bgp.daemon import BgpDaemon, Feed, Reply, moment, serve_metrics
from hapair.bgp.speakers import Speaker

from .daemon import NodeOptions
from .targets import proxy_targets
from .tracking import BACKENDS, PROXY, SERVING
from .watch import ProxyWatch


class NodeProxy:
    """What the announcers' drain and undrain do: stop the supervised proxy gracefully, SIGTERM it if its
    connections outlast `timeout` (the file's drain_timeout; the node's own stop, SIGTERM, gives them
    STOP_GRACE_S), SIGKILL it if that does not end it (it is the node's child), and start it again."""

    def __init__(self, watch: ProxyWatch, timeout: float) -> None:
        self.watch = watch
        self.timeout = timeout

    async def stop(self, reply: Reply) -> None:
        supervisor = self.watch.supervisor
        assert supervisor is not None
        pid = supervisor.pid
        if pid is None:
            await reply("proxy not running")
        else:
            asked = moment(time.time())
            await reply(f"proxy {pid} asked to stop at {asked} (SIGQUIT: it finishes its connections)")
        # also when not running: no restart until undrain
        ended_by = await supervisor.stop(grace=self.timeout)
        if pid is None:
            return
        how = ""
        if ended_by is not None and ended_by != signal.SIGQUIT:
            how = f" by {ended_by.name} (its graceful stop outlasted drain_timeout, {self.timeout:g} s)"
        await reply(f"proxy {pid} stopped at {moment(time.time())}{how}")

    def resume(self) -> None:
        assert self.watch.supervisor is not None
        self.watch.supervisor.resume()


class BgpNode:
    """One run of `hapair node --bgp`."""

    def __init__(
        self, options: NodeOptions, config: BgpConfig, speaker: Speaker, logger: logging.Logger
    ) -> None:
        self.settings = options.settings
        self.metrics = options.vrrp.metrics
        self.config = config
        self.logger = logger
        self.watch = ProxyWatch(
            options.nginx_conf,
            options.prefix,
            options.directives,
            settings=self.settings,
            log=logger.info,
            logger=logger,
            report=self._tracker_changed,
        )
        self.announcers = BgpDaemon(
            config,
            speaker,
            feed=Feed(self._sources, rise=1, fall=1),
            proxy=NodeProxy(self.watch, config.drain_timeout),
            name="node --bgp",
        )
        self._stopping = asyncio.Event()

    def _sources(self, vip: Vip) -> list[str]:
        trackers = [PROXY, SERVING, *([BACKENDS] if self.settings.backends.enabled else [])]
        return [*trackers, *vip.follow]

    def _tracker_changed(self, name: str, ok: bool) -> None:
        if self._stopping.is_set():
            return  # the proxy's own stop, once every VIP is withdrawn
        self.logger.info(f"hapair tracker {name} is {'up' if ok else 'down'}")
        self.announcers.observe(name, ok, self._detail(name, ok))

    def _detail(self, name: str, ok: bool) -> str:
        trackers = self.watch.trackers
        if name == PROXY:
            if ok:
                count = trackers.workers
                return f"proxy master running, {count} worker{'' if count == 1 else 's'} connected"
            return "no worker connected" if trackers.master_alive else "proxy master gone"
        if name == SERVING:
            return "every worker and listener answers" if ok else "a worker or listener does not answer"
        return "a backend is reachable" if ok else "no backend reachable"

    async def run(self) -> int:
        metrics = None
        if self.metrics is not None:
            try:
                metrics = serve_metrics(self.announcers, self.metrics)
            except OSError as error:
                from hapair.exposition import address_text  # noqa: PLC0415 (prometheus-client only then)

                where = address_text(*self.metrics)
                self.logger.error(f"Cannot serve metrics on {where}: {error.strerror} - exiting")
                return 1
        try:
            return await self._run()
        finally:
            if metrics is not None:
                metrics.close()

    async def _run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        self._seed()
        server = await self.announcers.serve_control()
        # ExaBGP reads our standard output: the proxy's goes to our standard error
        self.watch.start(stdout=sys.stderr.fileno() if self.config.speaker == "exabgp" else None)
        try:
            await self.watch.wait_first_workers(self._stopping, "the announcers")
            self._read_targets()
            self.watch.start_loops()
            await self._stopping.wait()
        finally:
            await self._stop(server)
        return 0

    def _seed(self) -> None:
        """The trackers' states before their first change (the proxy down until its workers join)."""
        for name, ok in self.watch.trackers.states().items():
            if name != BACKENDS or self.settings.backends.enabled:
                self.announcers.observe(name, ok, self._detail(name, ok))

    def _read_targets(self) -> None:
        proxy = self.watch.load_proxy()
        if proxy is not None:
            self.watch.targets = proxy_targets(proxy)

    def _reload(self) -> None:
        self.logger.info("Reloading the proxy")
        self._read_targets()
        self.watch.reload()

    async def _stop(self, server: asyncio.AbstractServer) -> None:
        self._stopping.set()
        announced = any(a.announced for a in self.announcers.announcers.values())
        self.announcers.withdraw_all()
        await self.announcers.close_control(server)
        if announced:
            await asyncio.sleep(self.config.drain_settle)
        await self.watch.stop()
        self.logger.info("Stopped")


def run_bgp_node(options: NodeOptions, config: BgpConfig, speaker: Speaker, logger: logging.Logger) -> int:
    bgp_log = logging.getLogger("hapair.bgp")  # the announcers' lines go where the node's go
    bgp_log.handlers = list(logger.handlers)
    bgp_log.setLevel(logging.INFO)
    bgp_log.propagate = False
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(BgpNode(options, config, speaker, logger).run())
    return 0

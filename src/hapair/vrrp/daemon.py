"""The `hapair vrrp` process: reads keepalived.conf, runs it, and answers keepalived's signals (SIGTERM/SIGINT
stop, SIGHUP reload, SIGUSR1/SIGUSR2/SIGRTMIN+2 dumps)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from types import FrameType
from typing import TYPE_CHECKING, Any

from .. import __version__, systemd
from ..config.keepalived.diagnostics import Severity
from ..config.keepalived.model import KeepalivedConfig
from ..config.keepalived.model.vrrp import VrrpInstance, VrrpState
from ..control.server import ControlServer
from ..forked import ForkedCall, ForkedCallError
from ..net.addresses import AddressManager
from ..net.links import LinkWatcher
from ..net.routes import Routing, RoutingWatcher
from ..net.vmac import VmacLinks
from .commands import DEFAULT_UMASK, ScriptRunner
from .notify_fifo import FifoWriter, open_fifos
from .reading import start_reading
from .router import VirtualRouter
from .runtime import SECOND_US, Runtime, StartError
from .scheduling import ProcessScheduler
from .statics import Statics
from .stats import Stats
from .status import status_document
from .support import unsupported_features
from .timer import SELECTOR_WAITS, run_precisely
from .tracking import InitState, ScriptState

if TYPE_CHECKING:
    from ..config.keepalived.result import LoadResult
    from ..exposition import MetricsServer
    from . import dumps

SIGJSON = signal.SIGRTMIN + 2
FATAL_SEVERITIES = (Severity.FILE_NOT_FOUND, Severity.BAD_IF, Severity.FATAL)
# keepalived 2.2.7's exit statuses (lib/scheduler.h), as its daemon gives them
EXIT_FATAL = 1  # a resource the start needs is not there (KEEPALIVED_EXIT_FATAL): here, --metrics's address
EXIT_CONFIG = 2  # the configuration cannot run (KEEPALIVED_EXIT_CONFIG: "permanent error CONFIG")
EXIT_NO_CONFIG = 6  # the file, or an include it requires, is missing (KEEPALIVED_EXIT_NO_CONFIG)
MAX_AUTO_PRIORITY_NOTICE = (
    "NOTICE: setting config option max_auto_priority should result in better keepalived performance"
)
MAIL_WAIT_S = 5.0  # how long the stop waits for its SMTP alerts


@dataclass(frozen=True)
class DaemonOptions:
    config: str
    config_id: str | None = None
    detail: bool = False
    control: str | None = None  # the control socket `hapair status` reads (None: none)
    metrics: tuple[IPv4Address | IPv6Address, int] | None = None  # --metrics: where /metrics is served


class VrrpDaemon:
    """One run of the VRRP daemon, from start-up to the end of its stop sequence."""

    def __init__(
        self,
        options: DaemonOptions,
        logger: logging.Logger,
        first_reading: ForkedCall[LoadResult] | None = None,
    ) -> None:
        self.options = options
        self.logger = logger
        self._first_reading = first_reading  # started before the daemon's modules were imported
        self.runtime: Runtime | None = None
        self._stopping = asyncio.Event()
        self._runner: ScriptRunner | None = None
        self.scheduler = ProcessScheduler(self.log)
        self._fifos: list[FifoWriter] = []
        self._vmacs: VmacLinks | None = None
        self._statics: Statics | None = None
        self._control: ControlServer | None = None
        self._metrics: MetricsServer | None = None

    def log(self, text: str) -> None:
        self.logger.info(text)

    async def run(self) -> int:
        try:
            return await self._run()
        finally:
            _ignore_stop_signals()  # their handler needs the event loop, which closes next

    async def _run(self) -> int:
        self._install_signals()  # first: a signal's default action would kill the daemon
        self.log(f"Starting hapair VRRP v{__version__} (keepalived 2.2.7 compatible)")
        system = os.uname()  # what platform.system(), release() and version() give, without platform
        self.log(f"Running on {system.sysname} {system.release} {system.version}")
        self.log(f"Configuration file {self.options.config}")
        config = self._read()
        if isinstance(config, int):
            return config
        if not config.global_defs.max_auto_priority:
            self.log(MAX_AUTO_PRIORITY_NOTICE)
        if not self._open_metrics():
            return EXIT_FATAL
        scheduler = self.scheduler
        runner = self._runner = ScriptRunner(
            self.log, umask=_umask(config), nice=lambda: scheduler.script_nice
        )
        fifos = self._fifos  # opened once the configuration is known to run
        vmacs = self._vmacs = VmacLinks(self.log, detail=self.options.detail)
        with AddressManager() as addresses, vmacs, Routing(self.log) as routing:
            try:
                runtime = self._new_runtime(config, runner, addresses, fifos)
                runtime.prepare()
            except StartError as error:
                self.log(str(error))
                return EXIT_CONFIG
            if self._stopping.is_set():  # stopped while starting: nothing was taken yet
                runtime.close()
                self.log("Stopped")
                return 0
            self.runtime = runtime
            statics = Statics(config, addresses, routing, self.log, detail=self.options.detail)
            self._statics = statics
            statics.start()
            self._open_fifos(config)
            await self._open_control()
            self.log("Startup complete")
            _notify_ready()
            self._schedule(config)
            runtime.start()
            async with LinkWatcher() as watcher, RoutingWatcher() as routing_events:
                watching = asyncio.ensure_future(self._watch_links(watcher))
                watching_routes = asyncio.ensure_future(self._watch_routing(routing_events))
                await self._stopping.wait()
                watching.cancel()
                watching_routes.cancel()
            runtime.close()
            statics.remove()
            await asyncio.wait_for(runner.wait_all(), timeout=5)
            await (self.runtime or runtime).mails_delivered(MAIL_WAIT_S)
            self._close_fifos()
            if self._control is not None:
                await self._control.close()
            if self._metrics is not None:
                self._metrics.close()
        self.log("Stopped")
        return 0

    # ----- configuration

    def _read(self) -> KeepalivedConfig | int:
        """Read the configuration; when it cannot run, the status to exit with (after saying why)."""
        try:
            reading = self._first_reading or start_reading(self.options.config, self.options.config_id)
            self._first_reading = None
            result = reading.result()
        except ForkedCallError as error:
            for line in f"Configuration {self.options.config} cannot be read - {error}".splitlines():
                self.log(line)  # a failed child's traceback, a line at a time
            return EXIT_CONFIG
        for diagnostic in result.report:
            self.log(diagnostic.render())
        if _fatal(result):
            self.log(f"Configuration {self.options.config} cannot be used - exiting")
            missing = any(d.severity is Severity.FILE_NOT_FOUND for d in result.report)
            return EXIT_NO_CONFIG if missing else EXIT_CONFIG
        problems = unsupported_features(result.config)
        for problem in problems:
            self.log(problem)
        return EXIT_CONFIG if problems else result.config

    # ----- signals

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_stop_signal)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        loop.add_signal_handler(signal.SIGUSR1, self._write_data)
        loop.add_signal_handler(signal.SIGUSR2, self._write_stats)
        loop.add_signal_handler(SIGJSON, self._write_json)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT, as Python delivers it. The masters' priority-0 adverts go out first, from bytes
        made ready beforehand. When the signal interrupts the event loop waiting in its selector, nothing
        of ours is half done, so the stop sequence follows at once; otherwise it waits for the loop's next
        turn."""
        if self.runtime is not None and not self._stopping.is_set():
            self.runtime.send_stop_adverts()
        if frame is not None and frame.f_code in SELECTOR_WAITS:
            self._stop()
        else:
            asyncio.get_running_loop().call_soon_threadsafe(self._stop)

    def _stop(self) -> None:
        """SIGTERM/SIGINT: the masters hand over at once, from the signal handler; the rest of the stop
        sequence follows in `run`."""
        if self._stopping.is_set():
            return
        _ignore_stop_signals()  # a second one changes nothing, and may land after the event loop has closed
        if self.runtime is not None:
            self.runtime.stop()
        self._stopping.set()
        systemd.stopping()

    def _reload(self) -> None:
        """SIGHUP: re-read the configuration; matched instances keep their state and addresses. A
        configuration that cannot be used leaves the running one as it is. The reading runs with standard
        scheduling, as keepalived's (see scheduling.py)."""
        old = self.runtime
        if old is None or self._runner is None:
            return
        self.log("Reloading")
        systemd.reloading()
        old.advertise_before_reload()
        self.scheduler.reset()
        gc.unfreeze()
        config = self._read()
        if isinstance(config, int):
            self.log("Reload failed - keeping the running configuration")
            self._schedule(old.config)
            _notify_ready()
            return
        new = self._new_runtime(config, self._runner, old.addresses, self._fifos)
        try:
            new.prepare()
        except StartError as error:
            self.log(f"{error} - keeping the running configuration")
            self._schedule(old.config)
            _notify_ready()
            return
        if self._statics is not None:
            self._statics.replace(config)
        if _fifo_settings(config) != _fifo_settings(old.config):
            self._close_fifos()
            self._open_fifos(config)
        new.start(previous=old)
        if config.global_defs.fifo_write_vrrp_states_on_reload:
            new.write_states_to_fifos()
        old.retire_unmatched()
        old.close()
        if self._vmacs is not None:
            self._vmacs.keep_only({i.vmac_interface for i in config.vrrp.instances if i.use_vmac})
        self.runtime = new
        self._schedule(config)
        self.log("Reload complete")
        _notify_ready()

    def _new_runtime(
        self,
        config: KeepalivedConfig,
        runner: ScriptRunner,
        addresses: AddressManager,
        fifos: list[FifoWriter],
    ) -> Runtime:
        """The runtime of `config`, at start or at a reload (`hapair node` adds its trackers to it)."""
        return Runtime(
            config,
            log=self.log,
            detail=self.options.detail,
            runner=runner,
            addresses=addresses,
            scheduler=self.scheduler,
            fifos=fifos,
            vmacs=self._vmacs,
            on_notification=self._notification,
        )

    def _schedule(self, config: KeepalivedConfig) -> None:
        """Before the routers start, and once a reload is over: the process's scheduling settings. The
        garbage of start-up or of the reload is collected first, and what is left is frozen out of the
        collector's sight: a full collection of the daemon's 37,000 objects (mostly modules) takes 10 to
        17 ms on the development machine, which would make the advert or take-over it fell on that late
        and count against a real-time process's RLIMIT_RTTIME; with them frozen, collections only look
        at objects made since. The modules are frozen as soon as they are imported (frozen_imports.py), so
        that this collection at start looks only at what start-up made since. A reload unfreezes them
        first, so that the old configuration's objects can go."""
        gc.collect()
        gc.freeze()
        self.scheduler.apply(config.global_defs)

    def _open_fifos(self, config: KeepalivedConfig) -> None:
        """The notify FIFOs, kept across reloads that leave their settings as they are (keepalived closes
        and reopens them at every reload, restarting their reader scripts)."""
        assert self._runner is not None
        self._fifos += open_fifos(config.global_defs, self._runner, self.log, umask=_umask(config))

    def _close_fifos(self) -> None:
        for fifo in self._fifos:
            fifo.close()
        self._fifos.clear()

    async def _open_control(self) -> None:
        """The control socket, if one is wanted; a daemon that cannot make it logs why and runs on."""
        path = self.options.control
        if path is None:
            return
        server = ControlServer(path, self._status)
        try:
            await server.start()
        except OSError as error:
            self.log(f"Cannot open the control socket {path}: {error.strerror}")
            return
        self._control = server

    def _open_metrics(self) -> bool:
        """`/metrics` served from a thread, if asked for; False (after saying why) when its address cannot
        be bound: the start fails, as for an address of the configuration."""
        if self.options.metrics is None:
            return True
        from ..exposition import MetricsServer, address_text  # noqa: PLC0415 (prometheus-client only then)
        from .metrics import VrrpCollector  # noqa: PLC0415

        ip, port = self.options.metrics
        try:
            server = MetricsServer(ip, port)
        except OSError as error:
            self.log(f"Cannot serve metrics on {address_text(ip, port)}: {error.strerror} - exiting")
            return False
        server.register(VrrpCollector(self._views, lambda: self.runtime.scripts if self.runtime else {}))
        server.start()
        self._metrics = server
        return True

    def _status(self) -> dict[str, Any]:
        scripts = self.runtime.scripts if self.runtime is not None else {}
        return status_document(self.options.config, self._views(), scripts)

    def _notification(self, line: bytes) -> None:
        if self._control is not None:
            self._control.notification(line)

    async def _watch_links(self, watcher: LinkWatcher) -> None:
        async for event in watcher:
            if self.runtime is not None:
                self.runtime.link_changed(event)

    async def _watch_routing(self, watcher: RoutingWatcher) -> None:
        async for event in watcher:
            if self.runtime is not None:
                self.runtime.routing_removed(event)

    # ----- dumps (their modules, and tempfile's, are imported by the signals that ask for them)

    def _dump(self, suffix: str, text: str) -> None:
        """keepalived's /tmp/keepalived.SUFFIX (the temporary directory's)."""
        import tempfile  # noqa: PLC0415

        with open(os.path.join(tempfile.gettempdir(), f"keepalived.{suffix}"), "w", encoding="utf-8") as out:
            out.write(text)

    def _views(self) -> list[RouterSnapshot]:
        runtime = self.runtime
        if runtime is None:
            return []
        return [RouterSnapshot.of(router, runtime.now()) for router in runtime.routers.values()]

    def _write_data(self) -> None:
        self.log(f"Printing VRRP data for process({os.getpid()}) on signal")
        from . import dumps  # noqa: PLC0415

        runtime = self.runtime
        if runtime is None:
            return
        scripts = {name: ScriptSnapshot.of(state) for name, state in runtime.scripts.items()}
        realtime = (self.scheduler.realtime_priority, self.scheduler.rlimit_rttime_us)
        text = dumps.data_text(
            runtime.config, self._views(), scripts=scripts, realtime=realtime, sync_groups=runtime.groups
        )
        self._dump("data", text)

    def _write_stats(self) -> None:
        self.log(f"Printing VRRP stats for process({os.getpid()}) on signal")
        from . import dumps  # noqa: PLC0415

        self._dump("stats", dumps.stats_text(self._views()))

    def _write_json(self) -> None:
        self.log(f"Printing VRRP as json for process({os.getpid()}) on signal")
        from . import dumps  # noqa: PLC0415

        views = self._views()
        if views:
            self._dump("json", dumps.json_text(views))


def _notify_ready() -> None:
    """systemd's READY=1, with the main pid, as keepalived sends it once started or reloaded (a failed
    reload, which keepalived does not survive, leaves hapair running: READY=1 again)."""
    systemd.notify("READY=1", f"MAINPID={os.getpid()}")


def _fatal(result: LoadResult) -> bool:
    """Whether keepalived would not run this configuration: reading stopped, a keyword lacks its
    parameter, a file or interface is missing, or the VRRP process would exit at completion."""
    if result.stopped or result.missing_parameter or not result.config.vrrp.runnable:
        return True
    return any(d.severity in FATAL_SEVERITIES for d in result.report)


def _fifo_settings(config: KeepalivedConfig) -> tuple[object, ...]:
    defs = config.global_defs
    return (defs.notify_fifo, defs.vrrp_notify_fifo)


def _umask(config: KeepalivedConfig) -> int:
    umask = config.global_defs.umask
    return DEFAULT_UMASK if umask is None else umask


@dataclass(frozen=True)
class RouterSnapshot:
    """A router as the dumps show it, times turned into epoch seconds."""

    instance: VrrpInstance
    state: VrrpState
    wantstate: VrrpState
    effective_priority: int
    total_priority: int
    master_priority: int
    master_advert_int_us: int
    master_address: IPv4Address | None
    last_transition: float
    read_timeout: float | None
    master_down_timer_us: int
    num_script_if_fault: int
    num_script_init: int
    vips_set: bool
    stats: Stats

    @classmethod
    def of(cls, router: VirtualRouter, now_us: int) -> RouterSnapshot:
        def epoch(at_us: int) -> float:
            return time.time() - (now_us - at_us) / SECOND_US

        return cls(
            instance=router.instance,
            state=router.state,
            wantstate=router.wantstate,
            effective_priority=router.effective_priority,
            total_priority=router.total_priority,
            master_priority=router.master_priority,
            master_advert_int_us=router.master_advert_int_us,
            master_address=router.master_address,
            last_transition=epoch(router.last_transition_us),
            read_timeout=None if router.sands is None else epoch(router.sands),
            master_down_timer_us=router.down_timer_us,
            num_script_if_fault=len(router.faults),
            num_script_init=len(router.waiting),
            vips_set=router.vips_set,
            stats=router.stats,
        )


@dataclass(frozen=True)
class ScriptSnapshot:
    result: int
    init_state: InitState
    state: dumps.ScriptState

    @classmethod
    def of(cls, state: ScriptState) -> ScriptSnapshot:
        from . import dumps  # noqa: PLC0415

        return cls(state.result, state.init_state, dumps.ScriptState.IDLE)


def _ignore_stop_signals() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)


def run_daemon(
    options: DaemonOptions, logger: logging.Logger, first_reading: ForkedCall[LoadResult] | None = None
) -> int:
    daemon = VrrpDaemon(options, logger, first_reading)
    with contextlib.suppress(KeyboardInterrupt):
        return run_precisely(daemon.run())
    return 0

"""`master_process off`: the one process serves, as nginx's ngx_single_process_cycle: no change of user
(nor the other worker settings but `env`), SIGHUP reloads in place (the new listeners first, then the old
ones drain), SIGQUIT, SIGTERM and SIGINT end it at once, SIGUSR1 reopens its logs. Its "signal received"
lines do not say which process sent the signal (nginx's say "from PID")."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

import uvloop

from hapair import systemd
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.cycle import (
    Launch,
    UnixListeners,
    load_again,
    redirect_stderr,
    remove_pid_file,
    write_pid_file,
)
from hapair.proxy.daemon import Notify
from hapair.proxy.errorlog import ErrorLogHandler, ErrorLogWriter, log_loop_errors
from hapair.proxy.http.zones import zone_specs
from hapair.proxy.metrics import MetricsBoard, MetricsTotals
from hapair.proxy.shm import SharedZones
from hapair.proxy.status import StatusBoard, WorkerStatus
from hapair.proxy.worker import Services, set_environment

if TYPE_CHECKING:
    from hapair.exposition import MetricsServer

_SERVING = "serving in one process (master_process off)"
_RELOAD_FAILED = "reload failed, the running configuration kept"


class SingleProcess:
    """`master_process off`: the process serves itself (ngx_single_process_cycle)."""

    def __init__(
        self,
        launch: Launch,
        config: NginxConfig,
        log: ErrorLogWriter,
        exposition: MetricsServer | None = None,
    ) -> None:
        self.config = config
        self._launch = launch
        self._log = log
        self._exposition = exposition  # --metrics, served by a thread of the process
        self._totals: MetricsTotals | None = None
        self._boards: dict[Services, MetricsBoard] = {}  # each configuration's board of --metrics
        self._services: Services | None = None
        self._retired: set[Services] = set()
        self._stopped: asyncio.Event | None = None
        self._unix = UnixListeners()
        self._zones = SharedZones()  # the running configuration's shared memory zones
        self._switches: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references
        self._status: WorkerStatus | None = None  # stub_status's counters, kept across reloads

    def _status_for(self, config: NginxConfig) -> WorkerStatus | None:
        """The process's counters, if `config` shows them or --metrics does (made with the first
        configuration that does)."""
        if self._totals is None and (config.http is None or not config.http.serves_status()):
            return None
        if self._status is None:
            self._status = StatusBoard(slots=2).worker(1)
        return self._status

    def run(self, notify: Notify | None = None) -> int:
        set_environment(self.config.processes)
        logging.getLogger("hapair.proxy").addHandler(ErrorLogHandler(self._log))
        if self._exposition is not None:
            from hapair.proxy.collector import serve_metrics  # noqa: PLC0415 (only with --metrics)

            board = StatusBoard(slots=2)
            self._status = board.worker(1)
            self._totals = serve_metrics(self._exposition, board)
        try:
            return uvloop.run(self._serve(notify))
        finally:
            self._unix.close(self._log)
            self._zones.close()
            if self._exposition is not None:
                self._exposition.close()
            if self._totals is not None:
                self._totals.close()
            self._log.close()

    async def _start(self, config: NginxConfig, zones: SharedZones) -> Services:
        """The data planes of `config`, counting in a board of their own with --metrics."""
        if self._totals is None:
            return await Services.start(config, zones, self._status_for(config), checks=True)
        board = self._totals.generation(config, 1)
        board.live.add(0)
        try:
            services = await Services.start(
                config, zones, self._status_for(config), board.worker(0), checks=True
            )
        except BaseException:
            self._totals.retire(board, 0)
            raise
        self._totals.keep(board)
        self._boards[services] = board
        return services

    def _ended(self, services: Services) -> None:
        """Its counters kept, its board gone (--metrics)."""
        board = self._boards.pop(services, None)
        if self._totals is not None and board is not None:
            self._totals.retire(board, 0)

    async def _serve(self, notify: Notify | None) -> int:
        self._stopped = stopped = asyncio.Event()
        log_loop_errors(asyncio.get_running_loop(), self._log)
        if not self._unix.bind(self.config, self._log):
            return 1
        self._zones = self._zones.renew(zone_specs(self.config))
        try:
            self._services = await self._start(self.config, self._zones)
        except OSError as error:
            self._log.write(ErrorLevel.EMERG, str(error))
            return 1
        if not write_pid_file(self.config.pid, self._log):
            self._services.fast()
            await self._services.done.wait()
            return 1
        redirect_stderr(self.config)
        self._log.console = None
        if notify is not None:
            notify.ready()
        systemd.ready(_SERVING)
        loop = asyncio.get_running_loop()
        for signum, handler in (
            (signal.SIGHUP, self._reload),
            (signal.SIGQUIT, self._stop),
            (signal.SIGTERM, self._stop),
            (signal.SIGINT, self._stop),
            (signal.SIGUSR1, self._reopen),
        ):
            loop.add_signal_handler(signum, handler, signum)
        await stopped.wait()
        for services in (self._services, *self._retired):
            services.fast()
            await services.done.wait()
        remove_pid_file(self.config.pid, self._log)
        self._log.write(ErrorLevel.NOTICE, "exit")
        return 0

    def _received(self, signum: int, what: str) -> None:
        name = signal.Signals(signum).name
        self._log.write(ErrorLevel.NOTICE, f"signal {signum} ({name}) received, {what}")

    def _stop(self, signum: int) -> None:
        self._received(signum, "exiting" if signum != signal.SIGQUIT else "shutting down")
        systemd.stopping()
        if self._stopped is not None:
            self._stopped.set()

    def _reopen(self, signum: int) -> None:
        self._received(signum, "reopening logs")
        self._log.write(ErrorLevel.NOTICE, "reopening logs")
        self._log.reopen()
        redirect_stderr(self.config)
        if self._services is not None:
            self._services.reopen_logs(self._log)

    def _reload(self, signum: int) -> None:
        self._received(signum, "reconfiguring")
        self._log.write(ErrorLevel.NOTICE, "reconfiguring")
        systemd.reloading()
        loaded = load_again(self._launch, self.config, self._log, self._zones)
        if loaded is None or not self._unix.bind(loaded[0], self._log):
            if loaded is not None:
                loaded[1].release_unused(self._zones)
            self._unix.keep_only(self.config, self._log)
            systemd.ready(_RELOAD_FAILED)
            return
        task = asyncio.get_running_loop().create_task(self._switch(*loaded))
        self._switches.add(task)
        task.add_done_callback(self._switches.discard)

    async def _switch(self, config: NginxConfig, zones: SharedZones) -> None:
        """The new configuration's listeners first, then the old ones drain (nginx keeps the old cycle
        until its connections end)."""
        try:
            services = await self._start(config, zones)
        except OSError as error:
            self._log.write(ErrorLevel.EMERG, str(error))
            zones.release_unused(self._zones)
            self._unix.keep_only(self.config, self._log)
            systemd.ready(_RELOAD_FAILED)
            return
        self._unix.keep_only(config, self._log)
        running_zones, self._zones = self._zones, zones
        old, self._services = self._services, services
        previous, self.config = self.config, config
        self._log.close()
        self._log = ErrorLogWriter(config.error_logs)
        if previous.pid != config.pid and write_pid_file(config.pid, self._log):
            remove_pid_file(previous.pid, self._log)
        redirect_stderr(config)
        systemd.ready(_SERVING)
        if old is not None:
            self._retired.add(old)
            old.graceful(None)
            await old.done.wait()
            self._retired.discard(old)
            self._ended(old)
        running_zones.release_unused(zones)

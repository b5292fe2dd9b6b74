"""The process model of `hapair proxy`: nginx's master and worker processes, or its single process.

`run_proxy` is nginx's start: the configuration is read (its messages on the log of the command line,
`-e`), every listening address is bound for a moment as nginx binds it (`cycle`), then, with `daemon on`
(the default), the command forks the master into the background and returns 0 once the master serves, or
1 with nginx's messages when the start fails (`daemon`). With `daemon off` the master stays in the
foreground; with `master_process off` the one process serves (`single`).

The master (`Master.run`) forks `worker_processes` workers (`auto`: the CPU count; each one: `worker`) and
supervises them: a worker that dies is replaced (`worker process N exited on signal 9`). Before, it points
its stderr at the main error log when that is a file (ngx_log_redirect_stderr) and binds the unix sockets
its workers share; once every worker listens it writes the pid file. Signals are nginx's: SIGHUP reloads (a
configuration that fails to load keeps the running one and logs the emerg line; otherwise new workers
start, and once they listen the old ones stop gracefully), SIGQUIT stops gracefully, SIGTERM and SIGINT
stop at once, SIGUSR1 reopens the logs: the master first, creating each file again and giving it to the
workers' user as nginx does, then the workers. The master runs no event loop, so forking is clean.

Where hapair differs from nginx, on purpose:

- Every worker binds its own TCP listening sockets with SO_REUSEPORT, whether or not a `listen` says
  `reuseport`, so the kernel spreads connections among workers without a thundering herd. A connection
  still in the accept queue of an old worker's socket when that worker stops listening during a reload is
  reset by the kernel unless `net.ipv4.tcp_migrate_req` is 1 (connections already accepted are served to
  their end). The master binds each address for a moment first, without SO_REUSEPORT, so that an address
  another process holds fails the start as it fails nginx's. (Unix sockets are the master's, shared.)
- nginx's master reads the certificates and opens the log files once, before it forks; each hapair worker
  does it itself, before it gives up root.
- `daemon on` returns once the workers listen and the pid file is written; nginx's returns as soon as it
  has forked (its sockets listen already, but a start that fails later is not seen by the command). So
  the pid file appears once connections are accepted; nginx writes it before it starts its workers.
- A worker that cannot start (its `working_directory` missing...) fails the start or the reload; nginx
  would go on with a master and no workers.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hapair import systemd
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.forked import reaped_child
from hapair.proxy.control import ControlThread, control_path, status_document
from hapair.proxy.cycle import (
    Launch,
    UnixListeners,
    bind_all,
    load_again,
    log_os_status,
    redirect_stderr,
    remove_pid_file,
    reopen_files,
    report,
    write_pid_file,
)
from hapair.proxy.daemon import Notify, daemonized
from hapair.proxy.errorlog import ErrorLogWriter, command_line_log
from hapair.proxy.health import has_health_checks
from hapair.proxy.http.zones import zone_specs
from hapair.proxy.metrics import MetricsBoard, MetricsTotals
from hapair.proxy.preload import preload
from hapair.proxy.shm import SharedZones
from hapair.proxy.single import SingleProcess
from hapair.proxy.status import StatusBoard
from hapair.proxy.worker import HANDLED, WORKER_FATAL, become_worker, look_up_groups

if TYPE_CHECKING:
    from hapair.exposition import IpAddress, MetricsServer
    from hapair.proxy.health.reader import PeerHealthRecord

FAST_STOP_S = 5.0  # a fast stop kills workers still there after this long
IDLE_WAIT_S = 1.0  # the master's wait for a signal, between checks of its workers


def wait_for_signal(timeout: float) -> signal.struct_siginfo | None:
    """One of HANDLED (blocked) once it arrives, or None after `timeout` s.

    A process stopped (SIGSTOP, a debugger) and continued past its timeout gets EINTR from
    sigtimedwait(2), and CPython 3.11's signal.sigtimedwait then returns the siginfo it never filled in
    (garbage) instead of None: a result that names no signal we wait for is such a timeout."""
    info = signal.sigtimedwait(HANDLED, timeout)
    return info if info is not None and info.si_signo in HANDLED else None


READY_TIMEOUT_S = 10.0  # how long new workers get to listen before a start or reload gives up on them


def run_proxy(launch: Launch, metrics: tuple[IpAddress, int] | None = None) -> int:
    """`hapair proxy [-c FILE] [-p PREFIX] [-g DIRECTIVES] [-e FILE] [--metrics ADDR:PORT]`: start as
    nginx starts; the exit status of the command (see the module's documentation). `metrics`: the address
    of the Prometheus exposition (hapair's own), bound here with the listening addresses."""
    result = launch.load()
    report(result, command_line_log(launch.error_log, launch.prefix, ErrorLevel.NOTICE))
    config = result.config
    if config is None:
        return 1
    log = ErrorLogWriter(config.error_logs, console=sys.stderr.buffer)
    if not bind_all(config.listening, log):
        log.close()
        return 1
    exposition = None
    if metrics is not None:
        exposition = _metrics_server(metrics, log)
        if exposition is None:
            log.close()
            return 1
    log_os_status(log)
    if config.processes.daemon:
        return daemonized(lambda notify: _serve(launch, config, log, notify, exposition))
    return _serve(launch, config, log, None, exposition)


def _metrics_server(address: tuple[IpAddress, int], log: ErrorLogWriter) -> MetricsServer | None:
    """The exposition's socket, bound now (None: it cannot be, said as nginx says it of a listen)."""
    from hapair.exposition import MetricsServer, address_text  # noqa: PLC0415 (only with --metrics)

    try:
        return MetricsServer(*address)
    except OSError as error:
        log.write(
            ErrorLevel.EMERG, f"bind() to {address_text(*address)} failed ({error.errno}: {error.strerror})"
        )
        return None


def _serve(
    launch: Launch,
    config: NginxConfig,
    log: ErrorLogWriter,
    notify: Notify | None,
    exposition: MetricsServer | None,
) -> int:
    if config.processes.master:
        return Master(launch, config, log, exposition).run(notify)
    return SingleProcess(launch, config, log, exposition).run(notify)


def _health_records(config: NginxConfig, zones: SharedZones) -> list[PeerHealthRecord]:
    """What the health checks say of each peer, for the status document (none without checks)."""
    if not has_health_checks(config):
        return []
    # (imported by the master before it forked the workers: proxy/preload.py)
    from hapair.proxy.health.reader import HealthReader  # noqa: PLC0415

    return HealthReader(config, zones).peers()


def worker_count(config: NginxConfig) -> int:
    if config.worker_processes_auto:
        return os.cpu_count() or 1
    return config.worker_processes


@dataclass(slots=True)
class Worker:
    """A worker process as the master sees it: `number` is its place among the workers of its generation
    (its `worker_cpu_affinity` mask); `ready` is the read end of the pipe the worker writes one line to
    once it listens (or why it could not)."""

    pid: int
    number: int
    ready: int | None
    slot: int | None  # its slot of the status board (stub_status's counters), if it counts
    metrics: MetricsBoard | None = None  # its generation's board of --metrics (its slot: `number`)
    retiring: bool = False


class Master:
    """The master process: see the module's documentation."""

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
        self._exposition = exposition  # --metrics: served by a thread once the signals are blocked
        self._totals: MetricsTotals | None = None
        self._workers: dict[int, Worker] = {}
        self._stopping: int | None = None  # SIGQUIT or SIGTERM once a stop is under way
        self._kill_at: float | None = None
        self._pid_written = False
        self._notify: Notify | None = None
        self._unix = UnixListeners()
        self._zones = SharedZones()  # the running configuration's shared memory zones
        self._board: StatusBoard | None = None  # made with the first configuration that shows it
        self._control: ControlThread | None = None

    def run(self, notify: Notify | None = None) -> int:
        # Blocked, the signals wait for sigtimedwait(), which tells who sent them, as nginx's log does;
        # workers unblock them once their handlers are in place.
        signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
        self._notify = notify
        code = 0
        try:
            if self._exposition is not None:
                from hapair.proxy.collector import serve_metrics  # noqa: PLC0415 (only with --metrics)

                self._board = StatusBoard()
                self._totals = serve_metrics(self._exposition, self._board)
            if self._started():
                self._open_control()
                if notify is not None:
                    notify.ready()
                systemd.ready(self._serving())
            else:
                self._stop(signal.SIGTERM)
                code = 1
            self._end_console()
            while self._workers or self._stopping is None:
                info = wait_for_signal(self._timeout())
                if info is not None:
                    self._handle(info)
                self._reap()
                self._check_fast_stop()
            self._log.write(ErrorLevel.NOTICE, "exit")
        finally:
            if self._control is not None:
                self._control.close()
            self._unix.close(self._log)
            self._zones.close()
            if self._exposition is not None:
                self._exposition.close()
            if self._totals is not None:
                self._totals.close()
            if self._board is not None:
                self._board.close()
            if self._pid_written:
                remove_pid_file(self.config.pid, self._log)
            self._log.close()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)
        return code

    def _started(self) -> bool:
        """stderr goes to the error log (the terminal kept for the start's messages), the first workers
        listen, then the pid file is written."""
        if self._log.console is not None:
            sys.stderr.flush()
            self._log.console = os.fdopen(os.dup(2), "wb")
        redirect_stderr(self.config)
        if not self._unix.bind(self.config, self._log):
            return False
        self._zones = self._zones.renew(zone_specs(self.config))
        self._log.write(ErrorLevel.NOTICE, "start worker processes")
        workers, board = self._start_generation()
        if not self._wait_ready(workers):
            return False
        self._keep(board)
        self._pid_written = write_pid_file(self.config.pid, self._log)
        return self._pid_written

    def _end_console(self) -> None:
        """nginx's ngx_use_stderr = 0: once started, the master's lines go to the error log only."""
        if self._log.console is not None:
            self._log.console.close()
            self._log.console = None

    def _timeout(self) -> float:
        if self._kill_at is None:
            return IDLE_WAIT_S
        return max(0.0, self._kill_at - time.monotonic())

    def _handle(self, info: signal.struct_siginfo) -> None:
        signum = info.si_signo
        received = f"signal {signum} ({signal.Signals(signum).name}) received from {info.si_pid}"
        if signum == signal.SIGCHLD:
            if not reaped_child(info.si_pid):  # not a reading's child (forked.py)
                self._log.write(ErrorLevel.NOTICE, received)
        elif signum == signal.SIGHUP and self._stopping is None:
            self._log.write(ErrorLevel.NOTICE, f"{received}, reconfiguring")
            self._log.write(ErrorLevel.NOTICE, "reconfiguring")
            systemd.reloading()
            reloaded = self._reload()
            systemd.ready(self._serving() if reloaded else "reload failed, the running configuration kept")
        elif signum == signal.SIGQUIT and self._stopping is None:
            self._log.write(ErrorLevel.NOTICE, f"{received}, shutting down")
            self._stop(signal.SIGQUIT)
        elif signum in (signal.SIGTERM, signal.SIGINT):
            self._log.write(ErrorLevel.NOTICE, f"{received}, exiting")
            self._stop(signal.SIGTERM)
        elif signum == signal.SIGUSR1:
            self._log.write(ErrorLevel.NOTICE, f"{received}, reopening logs")
            self._log.write(ErrorLevel.NOTICE, "reopening logs")
            reopen_files(self.config, self._log)
            self._log.reopen()
            redirect_stderr(self.config)
            self._send(signal.SIGUSR1, self._workers.values())

    def _stop(self, signum: int) -> None:
        self._stopping = signum
        systemd.stopping()
        if signum == signal.SIGTERM:
            self._kill_at = time.monotonic() + FAST_STOP_S
        self._send(signum, self._workers.values())

    def _check_fast_stop(self) -> None:
        if self._kill_at is not None and time.monotonic() >= self._kill_at:
            self._send(signal.SIGKILL, self._workers.values())
            self._kill_at = None

    def _serving(self) -> str:
        return f"serving with {worker_count(self.config)} worker processes"

    def _reload(self) -> bool:
        """The new configuration's workers, then the old ones stop gracefully; False when it failed (the
        running configuration goes on)."""
        loaded = load_again(self._launch, self.config, self._log, self._zones)
        if loaded is None or not self._unix.bind(loaded[0], self._log):
            if loaded is not None:
                loaded[1].release_unused(self._zones)
            self._unix.keep_only(self.config, self._log)
            return False
        config, zones = loaded
        old = [worker for worker in self._workers.values() if not worker.retiring]
        previous, self.config = self.config, config
        running_zones, self._zones = self._zones, zones
        self._log.write(ErrorLevel.NOTICE, "start worker processes")
        started, board = self._start_generation()
        if not self._wait_ready(started):
            self.config = previous
            self._zones = running_zones
            zones.release_unused(running_zones)
            self._unix.keep_only(previous, self._log)
            self._log.write(ErrorLevel.ALERT, "new worker processes did not start, keeping the old ones")
            for worker in started:
                worker.retiring = True
            self._send(signal.SIGTERM, started)
            return False
        self._keep(board)
        self._unix.keep_only(config, self._log)
        running_zones.release_unused(zones)
        self._log.close()
        self._log = ErrorLogWriter(self.config.error_logs)
        if previous.pid != self.config.pid:
            self._pid_written = write_pid_file(self.config.pid, self._log)
            remove_pid_file(previous.pid, self._log)
        redirect_stderr(self.config)
        for worker in old:
            worker.retiring = True
        self._send(signal.SIGQUIT, old)
        return True

    def _start_generation(self) -> tuple[list[Worker], MetricsBoard | None]:
        """The workers of the running configuration, and their board of --metrics."""
        preload(self.config)  # what the workers would import on first use
        look_up_groups(self.config)  # the NSS modules glibc loads for it, here rather than in each worker
        count = worker_count(self.config)
        metrics = self._totals.generation(self.config, count) if self._totals is not None else None
        return [self._spawn(number, metrics) for number in range(count)], metrics

    def _keep(self, metrics: MetricsBoard | None) -> None:
        if self._totals is not None and metrics is not None:
            self._totals.keep(metrics)

    def _spawn(self, number: int, metrics: MetricsBoard | None) -> Worker:
        ready_read, ready_write = os.pipe2(os.O_CLOEXEC)
        master = os.getpid()
        board, slot = self._status_slot()
        # What exists now is the worker's as much as the master's: out of the collector's reach, the
        # collections of either process do not write to it, and its pages stay shared (issue 15)
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            os.close(ready_read)
            self._leave_to_master()
            status = board.worker(slot) if board is not None and slot is not None else None
            counting = metrics.worker(number) if metrics is not None else None
            become_worker(
                self.config,
                number,
                ready_write,
                self._log,
                master,
                zones=self._zones,
                status=status,
                metrics=counting,
            )
        os.close(ready_write)
        if metrics is not None:
            metrics.live.add(number)
        worker = Worker(pid, number, ready_read, slot, metrics)
        self._workers[pid] = worker
        self._log.write(ErrorLevel.NOTICE, f"start worker process {pid}")
        return worker

    def _open_control(self) -> None:
        """`hapair status`'s socket, beside the pid file (a master that cannot make it says so and serves)."""
        control = ControlThread(control_path(self.config.pid), self._status)
        error = control.start()
        if error is not None:
            self._log.write(ErrorLevel.WARN, f"cannot open the control socket: {error.strerror}")
            return
        self._control = control

    def _status(self) -> dict[str, Any]:
        """The status document, made in the control thread from what the main thread keeps."""
        workers = [pid for pid, worker in list(self._workers.items()) if not worker.retiring]
        totals = self._board.totals() if self._board is not None else None
        health = _health_records(self.config, self._zones)
        return status_document(self.config, self._launch.conf_file, workers, totals, health)

    def _status_slot(self) -> tuple[StatusBoard | None, int | None]:
        """A slot of the status board for a new worker, if its configuration shows the counters or
        --metrics does (the board made then, and kept to the end, as nginx keeps its counters across
        reloads)."""
        http = self.config.http
        if self._totals is None and (http is None or not http.serves_status()):
            return None, None
        if self._board is None:
            self._board = StatusBoard()
        return self._board, self._board.claim()

    def _leave_to_master(self) -> None:
        """In a new worker: what only the master holds while it starts (the terminal, the command's pipe)."""
        if self._notify is not None:
            self._notify.close()
        if self._exposition is not None:
            self._exposition.forget()
        if self._control is not None:
            self._control.forget()
        if self._log.console is not None:
            self._log.console.close()
            self._log.console = None

    def _wait_ready(self, workers: list[Worker]) -> bool:
        """Whether every new worker says it listens (read from its pipe, signals kept for later): "ok", or
        the level and text of the line it logged about why not."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        ok = True
        for worker in workers:
            if worker.ready is None:
                continue
            remaining = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([worker.ready], [], [], remaining)
            answer = os.read(worker.ready, 4096).decode(errors="replace").strip() if readable else ""
            os.close(worker.ready)
            worker.ready = None
            if answer != "ok":
                ok = False
                level, _, text = answer.partition(" ")
                if text:
                    self._log.echo(ErrorLevel(level), text)
        return ok

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self._workers.pop(pid, None)
            if worker is None:
                continue
            if worker.ready is not None:
                os.close(worker.ready)
            self._retire(worker)
            self._log_exit(pid, status)
            if self._replaces(worker, status):
                self._spawn(worker.number, worker.metrics)

    def _retire(self, worker: Worker) -> None:
        """A worker's counters kept once it has exited (under the exposition's lock with --metrics)."""
        if self._totals is not None:
            if worker.slot is not None:
                self._totals.retire_status(worker.slot)
            if worker.metrics is not None:
                self._totals.retire(worker.metrics, worker.number)
        elif worker.slot is not None and self._board is not None:
            self._board.retire(worker.slot)

    def _log_exit(self, pid: int, status: int) -> None:
        if os.WIFSIGNALED(status):
            self._log.write(ErrorLevel.ALERT, f"worker process {pid} exited on signal {os.WTERMSIG(status)}")
        else:
            code = os.WEXITSTATUS(status)
            level = ErrorLevel.NOTICE if code == 0 else ErrorLevel.ALERT
            self._log.write(level, f"worker process {pid} exited with code {code}")

    def _replaces(self, worker: Worker, status: int) -> bool:
        """nginx respawns a worker that ended unasked, except one that exited with code 2 (fatal)."""
        if self._stopping is not None or worker.retiring:
            return False
        return not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == WORKER_FATAL)

    def _send(self, signum: int, workers: Iterable[Worker]) -> None:
        for worker in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signum)

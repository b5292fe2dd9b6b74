"""A worker process, as nginx's ngx_worker_process_init and ngx_worker_process_cycle run it.

It keeps only the environment `env` names (and TZ), takes `worker_priority`, `worker_rlimit_nofile` and
`worker_rlimit_core`; then, still root, it binds its listening sockets, reads its certificates and opens its
log files (nginx's master does that once before it forks); then it takes the workers' user and group
(setgid, initgroups, setuid: `user`, else nobody:nogroup when the master runs as root), its
`worker_cpu_affinity` CPUs and its `working_directory`, and serves on its own uvloop loop until a signal
stops it: SIGQUIT gracefully (`worker_shutdown_timeout` closes what is left after it), SIGTERM and SIGINT
at once; SIGUSR1 reopens its logs. It says on a pipe that it listens ("ok"), or the line it logged about
why it could not, and then exits with code 2, which the master does not respawn.
"""

from __future__ import annotations

import _ctypes
import asyncio
import contextlib
import logging
import os
import resource
import signal
import sys
from collections.abc import Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING

import uvloop

from hapair.config.nginx.model.config import NginxConfig, Processes, WorkerUser
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.node.channel import channel_name, join
from hapair.proxy.cycle import create_temp_paths, errno_text
from hapair.proxy.errorlog import ErrorLogHandler, ErrorLogWriter, log_loop_errors
from hapair.proxy.health import has_health_checks
from hapair.proxy.http.service import HttpService, serve_http
from hapair.proxy.metrics import WorkerMetrics
from hapair.proxy.shm import SharedZones
from hapair.proxy.status import WorkerStatus

if TYPE_CHECKING:
    from hapair.config.nginx.model.health import HealthCheck
    from hapair.proxy.health.board import HealthBoard
    from hapair.proxy.health.checker import HealthChecker
    from hapair.proxy.stream import StreamService

# the signals the master blocks (and waits for), which a worker takes once it serves
HANDLED = (signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGUSR1)
WORKER_FATAL = 2  # nginx's exit code for a worker that cannot start: the master does not replace it
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
# the workers' user's supplementary groups, by user, looked up by the master (look_up_groups)
_groups: dict[WorkerUser, list[int]] = {}


def worker_environment(environment: Iterable[str], current: Mapping[str, str]) -> dict[str, str]:
    """ngx_set_environment: TZ and the variables `env` names keep their values, `env NAME=value` sets
    one; nothing else is left. The first of a name wins, as getenv() finds it first."""
    entries = list(environment)
    if not any(entry == "TZ" or entry.startswith("TZ=") for entry in entries):
        entries.append("TZ")
    kept: dict[str, str] = {}
    for entry in entries:
        name, equals, value = entry.partition("=")
        if equals:
            kept.setdefault(name, value)
        elif name in current:
            kept.setdefault(name, current[name])
    return kept


def set_environment(processes: Processes) -> None:
    kept = worker_environment(processes.environment, os.environ)
    os.environ.clear()
    os.environ.update(kept)


class WorkerStartError(Exception):
    """A worker cannot start: the message (nginx's) and the level it is logged at."""

    def __init__(self, level: ErrorLevel, text: str) -> None:
        super().__init__(text)
        self.level = level


def become_worker(
    config: NginxConfig,
    number: int,
    ready: int,
    log: ErrorLogWriter,
    master: int,
    *,
    zones: SharedZones,
    status: WorkerStatus | None,
    metrics: WorkerMetrics | None = None,
) -> None:
    """The child side of the fork (`zones`: the shared memory zones the master made; `status`: the
    worker's slot of the master's counters, if the configuration shows them; `metrics`: its slot of
    --metrics): never returns."""
    code = 1
    try:
        die_with_master(master)
        logging.getLogger("hapair.proxy").addHandler(ErrorLogHandler(log))
        code = run_worker(config, number, ready, log, master, zones=zones, status=status, metrics=metrics)
    except BaseException as error:  # the worker must never return into the master's code
        log.write(ErrorLevel.EMERG, f"worker failed: {error!r}")
    finally:
        sys.stderr.flush()
        os._exit(code)


def _prctl(option: int, value: int) -> int:
    """prctl(2), called through ctypes' C module (imported by the master): ctypes' Python module, its C
    types' classes, would be 0.3 MB of each worker's memory (issue 15's budget) for two calls with
    integers."""
    program = _ctypes.dlopen(None, os.RTLD_NOW)  # type: ignore[arg-type]  # (dlopen(NULL): libc's symbols too)
    function = _ctypes.dlsym(program, "prctl")
    return int(_ctypes.call_function(function, (option, value, 0, 0, 0)))


def die_with_master(master: int) -> None:
    """A worker left behind by a master killed with SIGKILL would hold the ports: end with it."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != master:  # it died before prctl
        os._exit(1)


def run_worker(
    config: NginxConfig,
    number: int,
    ready: int,
    log: ErrorLogWriter,
    master: int,
    *,
    zones: SharedZones,
    status: WorkerStatus | None,
    metrics: WorkerMetrics | None = None,
) -> int:
    """Serve `config` on a new uvloop loop until a stop signal; the exit code."""
    channel = channel_name()  # `hapair node`'s health channel, named in the environment narrowed next
    set_environment(config.processes)
    _apply_limits(config.processes, log)
    serving = _serve_worker(
        config, number, master, ready, log, zones=zones, status=status, channel=channel, metrics=metrics
    )
    return uvloop.run(serving)


def _apply_limits(processes: Processes, log: ErrorLogWriter) -> None:
    if processes.priority:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, processes.priority)
        except OSError as error:
            log.write(ErrorLevel.ALERT, f"setpriority({processes.priority}) failed {errno_text(error)}")
    limits = (("NOFILE", resource.RLIMIT_NOFILE, processes.rlimit_nofile),)
    limits += (("CORE", resource.RLIMIT_CORE, processes.rlimit_core),)
    for name, which, value in limits:
        if value is None:
            continue
        try:
            resource.setrlimit(which, (value, value))
        except (OSError, ValueError) as error:
            log.write(ErrorLevel.ALERT, f"setrlimit(RLIMIT_{name}, {value}) failed {errno_text(error)}")


def _become_user(config: NginxConfig, number: int, master: int, log: ErrorLogWriter) -> None:
    """The rest of ngx_worker_process_init, once the services hold what needs root: the temporary
    directories made the workers' (nginx's master makes them), the workers' user and group, the worker's
    CPUs, the working directory."""
    user = config.processes.user
    takes_user = user is not None and os.geteuid() == 0
    try:
        create_temp_paths(config, user.uid if user is not None and takes_user else None)
    except OSError as error:
        raise WorkerStartError(ErrorLevel.EMERG, error.strerror or str(error)) from error
    if user is not None and takes_user:
        _take_user(user, log)
        die_with_master(master)  # a change of user clears the parent-death signal
    affinity = config.processes.cpu_affinity
    cpus = affinity.for_worker(number) if affinity is not None else None
    if cpus is not None:
        _take_cpus(cpus, log)
    _prctl(_PR_SET_DUMPABLE, 1)  # as nginx: core dumps, and /proc/PID readable by the user, after setuid
    directory = config.processes.working_directory
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as error:
            raise WorkerStartError(
                ErrorLevel.ALERT, f'chdir("{directory}") failed {errno_text(error)}'
            ) from error


def look_up_groups(config: NginxConfig) -> None:
    """The master's lookup, before it forks the workers, of the supplementary groups initgroups() gives
    the workers' user (`os.getgrouplist`), which each worker sets: glibc loads its NSS modules
    (libnss_systemd, with libcap: 0.27 MB) into the process that reads the group database, into each
    worker otherwise (issue 15's budget). A lookup that fails is left to the workers, which log it as
    nginx logs a failed initgroups()."""
    _groups.clear()
    user = config.processes.user
    if user is not None and os.geteuid() == 0:
        with contextlib.suppress(OSError):
            _groups[user] = os.getgrouplist(user.name, user.gid)


def _take_user(user: WorkerUser, log: ErrorLogWriter) -> None:
    try:
        os.setgid(user.gid)
    except OSError as error:
        raise WorkerStartError(ErrorLevel.EMERG, f"setgid({user.gid}) failed {errno_text(error)}") from error
    try:
        groups = _groups.get(user)  # as the master looked them up (look_up_groups), else here
        os.setgroups(groups if groups is not None else os.getgrouplist(user.name, user.gid))
    except OSError as error:
        log.write(ErrorLevel.EMERG, f"initgroups({user.name}, {user.gid}) failed {errno_text(error)}")
    try:
        os.setuid(user.uid)
    except OSError as error:
        raise WorkerStartError(ErrorLevel.EMERG, f"setuid({user.uid}) failed {errno_text(error)}") from error


def _take_cpus(cpus: frozenset[int], log: ErrorLogWriter) -> None:
    """ngx_setaffinity."""
    for cpu in sorted(cpus):
        log.write(ErrorLevel.NOTICE, f"sched_setaffinity(): using cpu #{cpu}")
    try:
        os.sched_setaffinity(0, cpus)
    except OSError as error:
        log.write(ErrorLevel.ALERT, f"sched_setaffinity() failed {errno_text(error)}")


class Services:
    """The data planes of one configuration in a process, and how they stop: `graceful()` (SIGQUIT) lets
    what is under way finish, for `worker_shutdown_timeout` at most; `fast()` (SIGTERM, SIGINT, also during
    a graceful stop) ends everything now."""

    def __init__(
        self,
        config: NginxConfig,
        http: HttpService | None,
        stream: StreamService | None,
        checker: HealthChecker | None = None,
    ) -> None:
        self.config = config
        self.http = http
        self.stream = stream
        self.checker = checker  # the node's health checks, in the one process that runs them
        self.stopping = False
        self.done = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references

    @classmethod
    async def start(
        cls,
        config: NginxConfig,
        zones: SharedZones,
        status: WorkerStatus | None,
        metrics: WorkerMetrics | None = None,
        *,
        checks: bool,
    ) -> Services:
        """`checks`: this process runs the configuration's health checks (hapair.proxy.health)."""
        http = None
        if config.http is not None:
            http = await serve_http(
                config.http,
                reuse_port=True,
                zones=zones,
                thread_pools=config.thread_pools,
                status=status,
                metrics=metrics,
            )
        try:
            stream = None
            if config.stream is not None:
                from hapair.proxy.stream import serve_stream  # noqa: PLC0415 (L4 only for a stream{}: preload.py)

                health = _health_board(zones, config.stream.health_checks)
                stream = await serve_stream(
                    config.stream, reuse_port=True, status=status, health=health, metrics=metrics
                )
        except BaseException:
            if http is not None:
                http.close()
            raise
        checker = _checker(config, zones) if checks else None
        if checker is not None:
            checker.start()
        return cls(config, http, stream, checker)

    def graceful(self, log: ErrorLogWriter | None) -> None:
        if self.stopping:
            return
        self.stopping = True
        self._stop_checks()
        if log is not None:
            log.write(ErrorLevel.NOTICE, "gracefully shutting down")
        timeout_ms = self.config.processes.shutdown_timeout_ms
        self._run(self._drain(timeout_ms / 1000 if timeout_ms else None))

    def fast(self) -> None:
        self.stopping = True
        self._stop_checks()
        if self.stream is not None:
            self.stream.abort()
        if self.http is not None:
            self.http.close()
        self._run(self._closed())

    def _stop_checks(self) -> None:
        if self.checker is not None:
            self.checker.stop()
            self.checker = None

    def _run(self, step: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(step)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reopen_logs(self, log: ErrorLogWriter) -> None:
        log.write(ErrorLevel.NOTICE, "reopening logs")
        log.reopen()
        for service in (self.http, self.stream):
            if service is None:
                continue
            try:
                service.reopen_logs()
            except OSError as error:
                log.write(ErrorLevel.EMERG, f"reopening logs failed {errno_text(error)}")

    async def _drain(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        if self.stream is not None:
            self.stream.close()
        if self.http is not None:
            await self.http.drain(timeout)
        if self.stream is not None and deadline is not None:
            closed = asyncio.ensure_future(self.stream.wait_closed())
            finished, _ = await asyncio.wait({closed}, timeout=max(0.0, deadline - loop.time()))
            if not finished:
                self.stream.abort()
            await closed
        await self._closed()

    async def _closed(self) -> None:
        if self.http is not None:
            await self.http.wait_closed()
        if self.stream is not None:
            await self.stream.wait_closed()
        self.done.set()


def _checker(config: NginxConfig, zones: SharedZones) -> HealthChecker | None:
    if not has_health_checks(config):
        return None
    # (hapair.proxy.health with checks only, imported by the master before it forked: proxy/preload.py)
    from hapair.proxy.health.board import HealthBoard  # noqa: PLC0415
    from hapair.proxy.health.checker import HealthChecker  # noqa: PLC0415

    boards = [
        board
        for checks, stream in (
            (config.http.health_checks if config.http is not None else (), False),
            (config.stream.health_checks if config.stream is not None else (), True),
        )
        if (board := HealthBoard.of(zones, checks, stream=stream)) is not None
    ]
    return HealthChecker(boards) if boards else None


def _health_board(zones: SharedZones, checks: tuple[HealthCheck, ...]) -> HealthBoard | None:
    """The stream block's health board, with checks only."""
    if not checks:
        return None
    from hapair.proxy.health.board import HealthBoard  # noqa: PLC0415 (as _checker)

    return HealthBoard.of(zones, checks, stream=True)


def _ignore() -> None:
    pass


async def _serve_worker(
    config: NginxConfig,
    number: int,
    master: int,
    ready: int,
    log: ErrorLogWriter,
    *,
    zones: SharedZones,
    status: WorkerStatus | None,
    channel: str | None = None,
    metrics: WorkerMetrics | None = None,
) -> int:
    """`number`: the worker's place in its generation; `master`: its master's pid; `channel`: the health
    channel of the `hapair node` supervising the proxy, which the worker joins once it listens."""
    loop = asyncio.get_running_loop()
    log_loop_errors(loop, log)
    try:
        services = await Services.start(config, zones, status, metrics, checks=number == 0)
        _become_user(config, number, master, log)
    except (OSError, WorkerStartError) as error:
        level = error.level if isinstance(error, WorkerStartError) else ErrorLevel.EMERG
        log.write(level, str(error))
        os.write(ready, f"{level.value} {error}\n".encode())
        os.close(ready)
        return WORKER_FATAL
    loop.add_signal_handler(signal.SIGQUIT, services.graceful, log)
    loop.add_signal_handler(signal.SIGTERM, services.fast)
    loop.add_signal_handler(signal.SIGINT, services.fast)
    loop.add_signal_handler(signal.SIGUSR1, services.reopen_logs, log)
    loop.add_signal_handler(signal.SIGHUP, _ignore)  # the master reloads; a worker ignores it, as nginx's
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)
    os.write(ready, b"ok\n")
    os.close(ready)
    health = join(channel) if channel else None
    await services.done.wait()
    if health is not None:
        health.cancel()
    log.write(ErrorLevel.NOTICE, "exiting")
    log.write(ErrorLevel.NOTICE, "exit")
    return 0

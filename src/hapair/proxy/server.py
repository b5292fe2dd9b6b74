"""The process model of `hapair proxy`: nginx's master and worker processes.

The master (`Master.run`) reads the configuration, writes the pid file and the error log, forks
`worker_processes` workers (`auto`: the CPU count) and supervises them: a worker that dies is replaced
(`worker process N exited on signal 9`). Signals are nginx's: SIGHUP reloads (a configuration that fails
to load keeps the running one and logs the emerg line; otherwise new workers start, and once they listen
the old ones stop gracefully), SIGQUIT stops gracefully, SIGTERM and SIGINT stop at once, SIGUSR1 reopens
the access logs. The master runs no event loop, so forking is clean; each worker runs its own uvloop loop.

Where hapair differs from nginx, on purpose:

- Every worker binds its own listening sockets with SO_REUSEPORT, whether or not a `listen` says
  `reuseport`, so the kernel spreads connections among workers without a thundering herd. A connection
  still in the accept queue of an old worker's socket when that worker stops listening during a reload is
  reset by the kernel unless `net.ipv4.tcp_migrate_req` is 1 (connections already accepted are served to
  their end).
- The master stays in the foreground (nginx's `daemon off`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass

import uvloop

from hapair.config.nginx.load import LoadResult, load
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.errorlog import ErrorLogHandler, ErrorLogWriter
from hapair.proxy.http.service import HttpService, serve_http
from hapair.proxy.stream import StreamService, serve_stream

_HANDLED = (signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGUSR1)
_PR_SET_PDEATHSIG = 1
FAST_STOP_S = 5.0  # a fast stop kills workers still there after this long
IDLE_WAIT_S = 1.0  # the master's wait for a signal, between checks of its workers
READY_TIMEOUT_S = 10.0  # how long new workers get to listen before a reload gives up on them


def worker_count(config: NginxConfig) -> int:
    if config.worker_processes_auto:
        return os.cpu_count() or 1
    return config.worker_processes


@dataclass(slots=True)
class Worker:
    """A worker process as the master sees it: `ready` is the read end of the pipe the worker writes one
    line to once it listens (or why it could not)."""

    pid: int
    ready: int | None
    retiring: bool = False


class Master:
    """The master process: see the module's documentation."""

    def __init__(self, result: LoadResult, conf_file: str, prefix: str | None) -> None:
        assert result.config is not None
        self.config = result.config
        self._conf_file = conf_file
        self._prefix = prefix
        self._log = ErrorLogWriter(self.config.error_logs)
        self._workers: dict[int, Worker] = {}
        self._stopping: int | None = None  # SIGQUIT or SIGTERM once a stop is under way
        self._kill_at: float | None = None

    def run(self) -> int:
        # Blocked, the signals wait for sigtimedwait(), which tells who sent them, as nginx's log does;
        # workers unblock them once their handlers are in place.
        if not self._write_pid():
            return 1
        signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
        code = 0
        try:
            self._log.write(ErrorLevel.NOTICE, "start worker processes")
            if not self._wait_ready(self._start_generation()):
                self._stop(signal.SIGTERM)
                code = 1
            while self._workers or self._stopping is None:
                info = signal.sigtimedwait(_HANDLED, self._timeout())
                if info is not None:
                    self._handle(info)
                self._reap()
                self._check_fast_stop()
            self._log.write(ErrorLevel.NOTICE, "exit")
        finally:
            self._remove_pid(self.config.pid)
            self._log.close()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
        return code

    def _timeout(self) -> float:
        if self._kill_at is None:
            return IDLE_WAIT_S
        return max(0.0, self._kill_at - time.monotonic())

    def _handle(self, info: signal.struct_siginfo) -> None:
        signum = info.si_signo
        received = f"signal {signum} ({signal.Signals(signum).name}) received from {info.si_pid}"
        if signum == signal.SIGCHLD:
            self._log.write(ErrorLevel.NOTICE, received)
        elif signum == signal.SIGHUP and self._stopping is None:
            self._log.write(ErrorLevel.NOTICE, f"{received}, reconfiguring")
            self._log.write(ErrorLevel.NOTICE, "reconfiguring")
            self._reload()
        elif signum == signal.SIGQUIT and self._stopping is None:
            self._log.write(ErrorLevel.NOTICE, f"{received}, shutting down")
            self._stop(signal.SIGQUIT)
        elif signum in (signal.SIGTERM, signal.SIGINT):
            self._log.write(ErrorLevel.NOTICE, f"{received}, exiting")
            self._stop(signal.SIGTERM)
        elif signum == signal.SIGUSR1:
            self._log.write(ErrorLevel.NOTICE, f"{received}, reopening logs")
            self._log.write(ErrorLevel.NOTICE, "reopening logs")
            self._log.reopen()
            self._send(signal.SIGUSR1, self._workers.values())

    def _stop(self, signum: int) -> None:
        self._stopping = signum
        if signum == signal.SIGTERM:
            self._kill_at = time.monotonic() + FAST_STOP_S
        self._send(signum, self._workers.values())

    def _check_fast_stop(self) -> None:
        if self._kill_at is not None and time.monotonic() >= self._kill_at:
            self._send(signal.SIGKILL, self._workers.values())
            self._kill_at = None

    def _reload(self) -> None:
        result = load(self._conf_file, self._prefix)
        if result.config is None:
            for message in (*result.reading, *result.starting):
                self._log.write(ErrorLevel(message.severity.value), _located(message.text, message.place))
            return
        old = [worker for worker in self._workers.values() if not worker.retiring]
        previous, self.config = self.config, result.config
        self._log.write(ErrorLevel.NOTICE, "start worker processes")
        started = self._start_generation()
        if not self._wait_ready(started):
            self.config = previous
            self._log.write(ErrorLevel.ALERT, "new worker processes did not start, keeping the old ones")
            for worker in started:
                worker.retiring = True
            self._send(signal.SIGTERM, started)
            return
        self._log.close()
        self._log = ErrorLogWriter(self.config.error_logs)
        if previous.pid != self.config.pid:
            self._remove_pid(previous.pid)
        self._write_pid()
        for worker in old:
            worker.retiring = True
        self._send(signal.SIGQUIT, old)

    def _start_generation(self) -> list[Worker]:
        return [self._spawn() for _ in range(worker_count(self.config))]

    def _spawn(self) -> Worker:
        ready_read, ready_write = os.pipe2(os.O_CLOEXEC)
        master = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(ready_read)
            _become_worker(self.config, ready_write, self._log, master)
        os.close(ready_write)
        worker = Worker(pid, ready_read)
        self._workers[pid] = worker
        self._log.write(ErrorLevel.NOTICE, f"start worker process {pid}")
        return worker

    def _wait_ready(self, workers: list[Worker]) -> bool:
        """Whether every new worker says it listens (read from its pipe, signals kept for later)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        ok = True
        for worker in workers:
            if worker.ready is None:
                continue
            remaining = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([worker.ready], [], [], remaining)
            answer = os.read(worker.ready, 4096).decode(errors="replace") if readable else ""
            os.close(worker.ready)
            worker.ready = None
            if answer.strip() != "ok":
                ok = False
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
            self._log_exit(pid, status)
            if self._replaces(worker, status):
                self._spawn()

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
        return not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 2)

    def _send(self, signum: int, workers: Iterable[Worker]) -> None:
        for worker in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signum)

    def _write_pid(self) -> bool:
        try:
            with open(self.config.pid, "w") as pid_file:
                pid_file.write(f"{os.getpid()}\n")
        except OSError as error:
            self._log.write(
                ErrorLevel.EMERG, f'open() "{self.config.pid}" failed ({error.errno}: {error.strerror})'
            )
            return False
        return True

    def _remove_pid(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _located(text: str, place: object) -> str:
    return f"{text} in {place}" if place is not None else text


def _become_worker(config: NginxConfig, ready: int, log: ErrorLogWriter, master: int) -> None:
    """The child side of the fork: never returns."""
    code = 1
    try:
        _die_with_master(master)
        logging.getLogger("hapair.proxy").addHandler(ErrorLogHandler(log))
        code = run_worker(config, ready, log)
    except BaseException as error:  # the worker must never return into the master's code
        log.write(ErrorLevel.EMERG, f"worker failed: {error!r}")
    finally:
        sys.stderr.flush()
        os._exit(code)


def _die_with_master(master: int) -> None:
    """A worker left behind by a master killed with SIGKILL would hold the ports: end with it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != master:  # it died before prctl
        os._exit(1)


def run_worker(config: NginxConfig, ready: int, log: ErrorLogWriter) -> int:
    """Serve `config` on a new uvloop loop until a stop signal; the exit code."""
    return uvloop.run(_serve(config, ready, log))


class _WorkerServices:
    """The data planes of one worker and how they stop: `graceful()` (SIGQUIT) lets what is under way
    finish; `fast()` (SIGTERM, SIGINT, also during a graceful stop) ends everything now."""

    def __init__(self, http: HttpService | None, stream: StreamService | None) -> None:
        self.http = http
        self.stream = stream
        self.stopping = False
        self.done = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references

    def graceful(self, log: ErrorLogWriter) -> None:
        if self.stopping:
            return
        self.stopping = True
        log.write(ErrorLevel.NOTICE, "gracefully shutting down")
        self._run(self._drain())

    def fast(self) -> None:
        self.stopping = True
        if self.stream is not None:
            self.stream.abort()
        if self.http is not None:
            self.http.close()
        self._run(self._closed())

    def _run(self, step: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(step)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reopen_logs(self, log: ErrorLogWriter) -> None:
        log.write(ErrorLevel.NOTICE, "reopening logs")
        log.reopen()
        if self.http is not None:
            self.http.reopen_logs()
        if self.stream is not None:
            self.stream.reopen_logs()

    async def _drain(self) -> None:
        if self.stream is not None:
            self.stream.close()
        if self.http is not None:
            await self.http.drain()
        await self._closed()

    async def _closed(self) -> None:
        if self.http is not None:
            await self.http.wait_closed()
        if self.stream is not None:
            await self.stream.wait_closed()
        self.done.set()


def _ignore() -> None:
    pass


async def _serve(config: NginxConfig, ready: int, log: ErrorLogWriter) -> int:
    loop = asyncio.get_running_loop()
    try:
        http = await serve_http(config.http, reuse_port=True) if config.http is not None else None
        stream = await serve_stream(config.stream, reuse_port=True) if config.stream is not None else None
    except OSError as error:
        log.write(ErrorLevel.EMERG, str(error))
        os.write(ready, f"{error}\n".encode())
        os.close(ready)
        return 2
    services = _WorkerServices(http, stream)
    loop.add_signal_handler(signal.SIGQUIT, services.graceful, log)
    loop.add_signal_handler(signal.SIGTERM, services.fast)
    loop.add_signal_handler(signal.SIGINT, services.fast)
    loop.add_signal_handler(signal.SIGUSR1, services.reopen_logs, log)
    loop.add_signal_handler(signal.SIGHUP, _ignore)  # the master reloads; a worker ignores it, as nginx's
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
    os.write(ready, b"ok\n")
    os.close(ready)
    await services.done.wait()
    log.write(ErrorLevel.NOTICE, "exiting")
    log.write(ErrorLevel.NOTICE, "exit")
    return 0


def run_proxy(conf_file: str, prefix: str | None) -> int:
    """`hapair proxy -c FILE [-p PREFIX]`: load, then run the master until it is stopped. A configuration
    that does not load is reported as nginx reports it at start-up: error log lines on stderr."""
    result = load(conf_file, prefix)
    if result.config is None:
        startup_log = ErrorLogWriter(())
        for message in (*result.reading, *result.starting):
            startup_log.write(ErrorLevel(message.severity.value), _located(message.text, message.place))
        return 1
    return Master(result, conf_file, prefix).run()

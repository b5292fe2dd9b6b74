"""The process model of `hapair proxy`: nginx's master and worker processes, or its single process.

`run_proxy` is nginx's start: the configuration is read (its messages on the log of the command line,
`-e`), every listening address is bound for a moment as nginx binds it (five tries, half a second apart,
for an address in use), then, with `daemon on` (the default), the command forks the master into the
background (setsid, umask 0, stdin and stdout to /dev/null) and returns 0 once the master serves, or 1 with
nginx's messages when the start fails. With `daemon off` the master stays in the foreground.

The master (`Master.run`) forks `worker_processes` workers (`auto`: the CPU count) and supervises them: a
worker that dies is replaced (`worker process N exited on signal 9`). Once every worker listens it writes
the pid file and, when the main error log is a file, points its stderr at it (ngx_log_redirect_stderr).
Signals are nginx's: SIGHUP reloads (a configuration that fails to load keeps the running one and logs the
emerg line; otherwise new workers start, and once they listen the old ones stop gracefully), SIGQUIT stops
gracefully (`worker_shutdown_timeout` closes what is left after it), SIGTERM and SIGINT stop at once,
SIGUSR1 reopens the logs: the master first, creating each file again and giving it to the workers' user as
nginx does, then the workers. The master runs no event loop, so forking is clean; each worker runs its own
uvloop loop.

A worker starts as nginx's (ngx_worker_process_init): only the environment `env` keeps, `worker_priority`,
`worker_rlimit_nofile`, `worker_rlimit_core`; then, still root, it binds its sockets, reads its
certificates and opens its log files; then it takes the workers' user and group (setgid, initgroups,
setuid: the `user` directive, else nobody:nogroup when the master runs as root), its
`worker_cpu_affinity` CPUs and `working_directory`.

With `master_process off` (`SingleProcess`) the one process serves, as nginx's: no user change, SIGHUP
reloads in place (new listeners first, then the old ones drain), SIGQUIT and SIGTERM end it at once.

Where hapair differs from nginx, on purpose:

- Every worker binds its own listening sockets with SO_REUSEPORT, whether or not a `listen` says
  `reuseport`, so the kernel spreads connections among workers without a thundering herd. A connection
  still in the accept queue of an old worker's socket when that worker stops listening during a reload is
  reset by the kernel unless `net.ipv4.tcp_migrate_req` is 1 (connections already accepted are served to
  their end). The master binds each address for a moment first, without SO_REUSEPORT, so that an address
  another process holds fails the start as it fails nginx's.
- nginx's master reads the certificates and opens the log files once, before it forks; each hapair worker
  does it itself, before it gives up root.
- `daemon on` returns once the workers listen and the pid file is written; nginx's returns as soon as it
  has forked (its sockets listen already, but a start that fails later is not seen by the command).
- A worker that cannot start (its `working_directory` missing...) fails the start or the reload; nginx
  would go on with a master and no workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import platform
import resource
import select
import signal
import socket
import stat
import sys
import time
import traceback
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass

import uvloop

from hapair import __version__
from hapair.config.nginx.load import LoadResult, load
from hapair.config.nginx.model.addresses import UnixAddress
from hapair.config.nginx.model.config import ListeningSocket, NginxConfig, Processes
from hapair.config.nginx.model.http import NGX_LISTEN_BACKLOG
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.proxy.errorlog import SEVERITY, STDERR, ErrorLogHandler, ErrorLogWriter, command_line_log
from hapair.proxy.http.service import HttpService, serve_http
from hapair.proxy.listening import listening_socket, share, try_bind
from hapair.proxy.stream import StreamService, serve_stream

VERSION = f"hapair/{__version__} (nginx/1.22.1)"
_HANDLED = (signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGUSR1)
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
FAST_STOP_S = 5.0  # a fast stop kills workers still there after this long
IDLE_WAIT_S = 1.0  # the master's wait for a signal, between checks of its workers
READY_TIMEOUT_S = 10.0  # how long new workers get to listen before a start or reload gives up on them
BIND_TRIES = 5  # ngx_open_listening_sockets: an address in use is tried 5 times, 500 ms apart
BIND_RETRY_S = 0.5
WORKER_FATAL = 2  # nginx's exit code for a worker that cannot start: the master does not replace it


@dataclass(frozen=True, slots=True)
class Launch:
    """The command line a configuration is read with, again on each reload."""

    conf_file: str
    prefix: str | None
    directives: str = ""
    error_log: str | None = None

    def load(self) -> LoadResult:
        return load(self.conf_file, self.prefix, directives=self.directives, error_log=self.error_log)

    def load_for_signal(self) -> LoadResult:
        """As `nginx -s` reads it: no file opened."""
        return load(self.conf_file, self.prefix, signal=True, directives=self.directives)


def report(result: LoadResult, log: ErrorLogWriter, *, syntax_ok: Callable[[], None] | None = None) -> None:
    """What reading and starting the configuration said, where nginx writes it: `log` (the command line's
    at a start, the running one at a reload), `syntax_ok` between the reading and the rest (`nginx -t`'s
    line), then the configuration's main error log, which nginx has opened by then."""
    for message in result.reading:
        log.message(message)
    if result.syntax_ok and syntax_ok is not None:
        syntax_ok()
    for message in result.starting:
        log.message(message)
    if result.logged:
        main_log = ErrorLogWriter(result.error_logs, console=log.console)
        for message in result.logged:
            main_log.message(message)
        main_log.close()


def run_proxy(launch: Launch) -> int:
    """`hapair proxy [-c FILE] [-p PREFIX] [-g DIRECTIVES] [-e FILE]`: start as nginx starts; the exit
    status of the command (see the module's documentation)."""
    result = launch.load()
    report(result, command_line_log(launch.error_log, launch.prefix, ErrorLevel.NOTICE))
    config = result.config
    if config is None:
        return 1
    log = ErrorLogWriter(config.error_logs, console=sys.stderr.buffer)
    if not bind_all(config.listening, log):
        log.close()
        return 1
    _log_os_status(log)
    if config.processes.daemon:
        return _daemonized(lambda notify: _serve(launch, config, log, notify))
    return _serve(launch, config, log, None)


def _serve(launch: Launch, config: NginxConfig, log: ErrorLogWriter, notify: Notify | None) -> int:
    if config.processes.master:
        return Master(launch, config, log).run(notify)
    return SingleProcess(launch, config, log).run(notify)


def bind_all(listening: Iterable[ListeningSocket], log: ErrorLogWriter) -> bool:
    """Whether every address can be bound: nginx's tries, and its messages, for those that cannot."""
    pending = list(listening)
    for _ in range(BIND_TRIES):
        in_use: list[ListeningSocket] = []
        for socket_ in pending:
            try:
                try_bind(socket_.address, socket_.ipv6only)
            except OSError as error:
                log.write(ErrorLevel.EMERG, str(error))
                if error.errno != errno.EADDRINUSE:
                    return False
                in_use.append(socket_)
        if not in_use:
            return True
        pending = in_use
        log.write(ErrorLevel.NOTICE, "try again to bind() after 500ms")
        time.sleep(BIND_RETRY_S)
    log.write(ErrorLevel.EMERG, "still could not bind()")
    return False


def load_again(launch: Launch, running: NginxConfig, log: ErrorLogWriter) -> NginxConfig | None:
    """A reload's ngx_init_cycle: the configuration read again, its messages to the running error log, its
    new addresses bound as at a start; None keeps the running configuration."""
    result = launch.load()
    report(result, log)
    config = result.config
    if config is None:
        return None
    if config.processes.lock_file != running.processes.lock_file:
        log.write(ErrorLevel.EMERG, '"lock_file" could not be changed, ignored')
    bound = {socket_.address for socket_ in running.listening}
    if not bind_all((socket_ for socket_ in config.listening if socket_.address not in bound), log):
        return None
    log.write(ErrorLevel.NOTICE, 'using the "epoll" event method')
    return config


def _log_os_status(log: ErrorLogWriter) -> None:
    """The lines nginx writes as it starts (ngx_event_module_init, ngx_os_status)."""
    soft, hard = (_rlimit_text(limit) for limit in resource.getrlimit(resource.RLIMIT_NOFILE))
    log.write(ErrorLevel.NOTICE, 'using the "epoll" event method')
    log.write(ErrorLevel.NOTICE, VERSION)
    log.write(ErrorLevel.NOTICE, f"OS: {platform.system()} {platform.release()}")
    log.write(ErrorLevel.NOTICE, f"getrlimit(RLIMIT_NOFILE): {soft}:{hard}")


def _rlimit_text(limit: int) -> str:
    return str(2**64 - 1) if limit == resource.RLIM_INFINITY else str(limit)


def _daemonized(serve: Callable[[Notify], int]) -> int:
    """ngx_daemon, waiting for the master to serve: the command's exit status (0 once the daemon says it
    serves, 1 if it ends before)."""
    sys.stdout.flush()
    sys.stderr.flush()
    answer, tell = os.pipe2(os.O_CLOEXEC)
    if os.fork() != 0:
        os.close(tell)
        with os.fdopen(answer, "rb") as pipe:
            return 0 if pipe.read() == b"ok" else 1
    os.close(answer)
    os.setsid()
    os.umask(0)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    code = 1
    try:
        code = serve(Notify(tell))
    except BaseException:  # the daemon must never return into the command's code
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


class Notify:
    """The write end of the pipe the command waits on until the daemon serves. Only the master holds it:
    a worker closes it, so that the command sees the end of a daemon that dies."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def ready(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):  # the command may be gone (its terminal closed...)
            os.write(self.fd, b"ok")
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def write_pid_file(path: str, log: ErrorLogWriter) -> bool:
    """ngx_create_pidfile: the process's pid and a newline, mode 0644."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    except OSError as error:
        log.write(ErrorLevel.EMERG, f'open() "{path}" failed ({error.errno}: {error.strerror})')
        return False
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)
    return True


def remove_pid_file(path: str, log: ErrorLogWriter) -> None:
    """ngx_delete_pidfile."""
    try:
        os.unlink(path)
    except OSError as error:
        log.write(ErrorLevel.ALERT, f'unlink() "{path}" failed ({error.errno}: {error.strerror})')


def redirect_stderr(config: NginxConfig) -> None:
    """ngx_log_redirect_stderr: unless an `error_log` is stderr, stderr goes to the main error log file
    (the most verbose one), so that nothing written there is lost once the terminal is gone."""
    logs = config.error_logs
    if any(error_log.target == STDERR for error_log in logs):
        return
    first = max(logs, key=lambda error_log: SEVERITY[error_log.level], default=None)
    if first is None:
        return
    sys.stderr.flush()
    fd = os.open(first.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)


def reopen_files(config: NginxConfig, log: ErrorLogWriter) -> None:
    """ngx_reopen_files in the master: each log file is opened again (created if it was moved away) and,
    when the workers run as another user, given to that user and made readable and writable by it, so
    that the workers can open it in their turn."""
    user = config.processes.user
    for path in config.log_files:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644))
        except OSError as error:
            log.write(ErrorLevel.EMERG, f'open() "{path}" failed ({error.errno}: {error.strerror})')
            continue
        if user is not None:
            _give(path, user.uid, log)


def _give(path: str, uid: int, log: ErrorLogWriter) -> None:
    try:
        info = os.stat(path)
    except OSError as error:
        log.write(ErrorLevel.EMERG, f'stat() "{path}" failed ({error.errno}: {error.strerror})')
        return
    if info.st_uid != uid:
        try:
            os.chown(path, uid, -1)
        except OSError as error:
            log.write(ErrorLevel.EMERG, f'chown("{path}", {uid}) failed ({error.errno}: {error.strerror})')
            return
    owner_rw = stat.S_IRUSR | stat.S_IWUSR
    if info.st_mode & owner_rw != owner_rw:
        try:
            os.chmod(path, stat.S_IMODE(info.st_mode) | owner_rw)
        except OSError as error:
            log.write(ErrorLevel.EMERG, f'chmod() "{path}" failed ({error.errno}: {error.strerror})')


def worker_count(config: NginxConfig) -> int:
    if config.worker_processes_auto:
        return os.cpu_count() or 1
    return config.worker_processes


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


def _set_environment(processes: Processes) -> None:
    kept = worker_environment(processes.environment, os.environ)
    os.environ.clear()
    os.environ.update(kept)


class UnixListeners:
    """The configuration's unix sockets, bound once by the master and shared with the processes it forks
    (`listening.share`); a reload keeps those still configured. Closed, they are removed from the file
    system, as nginx removes them."""

    def __init__(self) -> None:
        self._sockets: dict[str, socket.socket] = {}

    def bind(self, config: NginxConfig, log: ErrorLogWriter) -> bool:
        """Bind those of `config` not bound yet (nginx makes them readable and writable by all); whether
        all are."""
        for listening in config.listening:
            address = listening.address
            if not isinstance(address, UnixAddress) or address.path in self._sockets:
                continue
            try:
                sock = listening_socket(address, backlog=NGX_LISTEN_BACKLOG, ipv6only=True, reuse_port=False)
            except OSError as error:
                log.write(ErrorLevel.EMERG, str(error))
                return False
            self._sockets[address.path] = sock
            try:
                os.chmod(address.path, 0o666)
            except OSError as error:
                log.write(ErrorLevel.EMERG, f'chmod() "{address.path}" failed {_errno(error)}')
        share(self._sockets)
        return True

    def keep_only(self, config: NginxConfig, log: ErrorLogWriter) -> None:
        """Close those `config` does not have (ngx_init_cycle's "deleting socket")."""
        kept = {socket_.address for socket_ in config.listening}
        for path in [path for path in self._sockets if UnixAddress(path) not in kept]:
            log.write(ErrorLevel.WARN, f"deleting socket {path}")
            self._close(path, log)
        share(self._sockets)

    def close(self, log: ErrorLogWriter) -> None:
        for path in list(self._sockets):
            self._close(path, log)
        share(self._sockets)

    def _close(self, path: str, log: ErrorLogWriter) -> None:
        self._sockets.pop(path).close()
        try:
            os.unlink(path)
        except OSError as error:
            log.write(ErrorLevel.EMERG, f"unlink() {path} failed {_errno(error)}")


@dataclass(slots=True)
class Worker:
    """A worker process as the master sees it: `number` is its place among the workers of its generation
    (its `worker_cpu_affinity` mask); `ready` is the read end of the pipe the worker writes one line to
    once it listens (or why it could not)."""

    pid: int
    number: int
    ready: int | None
    retiring: bool = False


class Master:
    """The master process: see the module's documentation."""

    def __init__(self, launch: Launch, config: NginxConfig, log: ErrorLogWriter) -> None:
        self.config = config
        self._launch = launch
        self._log = log
        self._workers: dict[int, Worker] = {}
        self._stopping: int | None = None  # SIGQUIT or SIGTERM once a stop is under way
        self._kill_at: float | None = None
        self._pid_written = False
        self._notify: Notify | None = None
        self._unix = UnixListeners()

    def run(self, notify: Notify | None = None) -> int:
        # Blocked, the signals wait for sigtimedwait(), which tells who sent them, as nginx's log does;
        # workers unblock them once their handlers are in place.
        signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
        self._notify = notify
        code = 0
        try:
            if self._started():
                if notify is not None:
                    notify.ready()
            else:
                self._stop(signal.SIGTERM)
                code = 1
            self._end_console()
            while self._workers or self._stopping is None:
                info = signal.sigtimedwait(_HANDLED, self._timeout())
                if info is not None:
                    self._handle(info)
                self._reap()
                self._check_fast_stop()
            self._log.write(ErrorLevel.NOTICE, "exit")
        finally:
            self._unix.close(self._log)
            if self._pid_written:
                remove_pid_file(self.config.pid, self._log)
            self._log.close()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
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
        self._log.write(ErrorLevel.NOTICE, "start worker processes")
        if not self._wait_ready(self._start_generation()):
            return False
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
            reopen_files(self.config, self._log)
            self._log.reopen()
            redirect_stderr(self.config)
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
        config = load_again(self._launch, self.config, self._log)
        if config is None or not self._unix.bind(config, self._log):
            self._unix.keep_only(self.config, self._log)
            return
        old = [worker for worker in self._workers.values() if not worker.retiring]
        previous, self.config = self.config, config
        self._log.write(ErrorLevel.NOTICE, "start worker processes")
        started = self._start_generation()
        if not self._wait_ready(started):
            self.config = previous
            self._unix.keep_only(previous, self._log)
            self._log.write(ErrorLevel.ALERT, "new worker processes did not start, keeping the old ones")
            for worker in started:
                worker.retiring = True
            self._send(signal.SIGTERM, started)
            return
        self._unix.keep_only(config, self._log)
        self._log.close()
        self._log = ErrorLogWriter(self.config.error_logs)
        if previous.pid != self.config.pid:
            self._pid_written = write_pid_file(self.config.pid, self._log)
            remove_pid_file(previous.pid, self._log)
        redirect_stderr(self.config)
        for worker in old:
            worker.retiring = True
        self._send(signal.SIGQUIT, old)

    def _start_generation(self) -> list[Worker]:
        return [self._spawn(number) for number in range(worker_count(self.config))]

    def _spawn(self, number: int) -> Worker:
        ready_read, ready_write = os.pipe2(os.O_CLOEXEC)
        master = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(ready_read)
            self._leave_to_master()
            _become_worker(self.config, number, ready_write, self._log, master)
        os.close(ready_write)
        worker = Worker(pid, number, ready_read)
        self._workers[pid] = worker
        self._log.write(ErrorLevel.NOTICE, f"start worker process {pid}")
        return worker

    def _leave_to_master(self) -> None:
        """In a new worker: what only the master holds while it starts (the terminal, the command's pipe)."""
        if self._notify is not None:
            self._notify.close()
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
            self._log_exit(pid, status)
            if self._replaces(worker, status):
                self._spawn(worker.number)

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


class WorkerStartError(Exception):
    """A worker cannot start: the message (nginx's) and the level it is logged at."""

    def __init__(self, level: ErrorLevel, text: str) -> None:
        super().__init__(text)
        self.level = level


def _become_worker(config: NginxConfig, number: int, ready: int, log: ErrorLogWriter, master: int) -> None:
    """The child side of the fork: never returns."""
    code = 1
    try:
        _die_with_master(master)
        logging.getLogger("hapair.proxy").addHandler(ErrorLogHandler(log))
        code = run_worker(config, number, ready, log, master)
    except BaseException as error:  # the worker must never return into the master's code
        log.write(ErrorLevel.EMERG, f"worker failed: {error!r}")
    finally:
        sys.stderr.flush()
        os._exit(code)


def _prctl(option: int, value: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(option, value, 0, 0, 0))


def _die_with_master(master: int) -> None:
    """A worker left behind by a master killed with SIGKILL would hold the ports: end with it."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != master:  # it died before prctl
        os._exit(1)


def run_worker(config: NginxConfig, number: int, ready: int, log: ErrorLogWriter, master: int) -> int:
    """Serve `config` on a new uvloop loop until a stop signal; the exit code."""
    _set_environment(config.processes)
    _apply_limits(config.processes, log)
    return uvloop.run(_serve_worker(config, (number, master), ready, log))


def _apply_limits(processes: Processes, log: ErrorLogWriter) -> None:
    if processes.priority:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, processes.priority)
        except OSError as error:
            log.write(ErrorLevel.ALERT, f"setpriority({processes.priority}) failed {_errno(error)}")
    limits = (("NOFILE", resource.RLIMIT_NOFILE, processes.rlimit_nofile),)
    limits += (("CORE", resource.RLIMIT_CORE, processes.rlimit_core),)
    for name, which, value in limits:
        if value is None:
            continue
        try:
            resource.setrlimit(which, (value, value))
        except (OSError, ValueError) as error:
            log.write(ErrorLevel.ALERT, f"setrlimit(RLIMIT_{name}, {value}) failed {_errno(error)}")


def _errno(error: Exception) -> str:
    if isinstance(error, OSError) and error.errno is not None:
        return f"({error.errno}: {error.strerror})"
    return f"({error})"


def _become_user(config: NginxConfig, number: int, master: int, log: ErrorLogWriter) -> None:
    """The rest of ngx_worker_process_init, once the services hold what needs root: the workers' user
    and group, the worker's CPUs, the working directory."""
    user = config.processes.user
    if user is not None and os.geteuid() == 0:
        try:
            os.setgid(user.gid)
        except OSError as error:
            raise WorkerStartError(ErrorLevel.EMERG, f"setgid({user.gid}) failed {_errno(error)}") from error
        try:
            os.initgroups(user.name, user.gid)
        except OSError as error:
            log.write(ErrorLevel.EMERG, f"initgroups({user.name}, {user.gid}) failed {_errno(error)}")
        try:
            os.setuid(user.uid)
        except OSError as error:
            raise WorkerStartError(ErrorLevel.EMERG, f"setuid({user.uid}) failed {_errno(error)}") from error
        _die_with_master(master)  # a change of user clears the parent-death signal
    affinity = config.processes.cpu_affinity
    cpus = affinity.for_worker(number) if affinity is not None else None
    if cpus is not None:
        for cpu in sorted(cpus):
            log.write(ErrorLevel.NOTICE, f"sched_setaffinity(): using cpu #{cpu}")
        try:
            os.sched_setaffinity(0, cpus)
        except OSError as error:
            log.write(ErrorLevel.ALERT, f"sched_setaffinity() failed {_errno(error)}")
    _prctl(_PR_SET_DUMPABLE, 1)  # as nginx: core dumps, and /proc/PID readable by the user, after setuid
    directory = config.processes.working_directory
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as error:
            text = f'chdir("{directory}") failed {_errno(error)}'
            raise WorkerStartError(ErrorLevel.ALERT, text) from error


class _Services:
    """The data planes of one configuration in a process, and how they stop: `graceful()` (SIGQUIT) lets
    what is under way finish, for `worker_shutdown_timeout` at most; `fast()` (SIGTERM, SIGINT, also during
    a graceful stop) ends everything now."""

    def __init__(self, config: NginxConfig, http: HttpService | None, stream: StreamService | None) -> None:
        self.config = config
        self.http = http
        self.stream = stream
        self.stopping = False
        self.done = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references

    @classmethod
    async def start(cls, config: NginxConfig) -> _Services:
        http = await serve_http(config.http, reuse_port=True) if config.http is not None else None
        try:
            stream = await serve_stream(config.stream, reuse_port=True) if config.stream is not None else None
        except BaseException:
            if http is not None:
                http.close()
            raise
        return cls(config, http, stream)

    def graceful(self, log: ErrorLogWriter | None) -> None:
        if self.stopping:
            return
        self.stopping = True
        if log is not None:
            log.write(ErrorLevel.NOTICE, "gracefully shutting down")
        timeout_ms = self.config.processes.shutdown_timeout_ms
        self._run(self._drain(timeout_ms / 1000 if timeout_ms else None))

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
        for service in (self.http, self.stream):
            if service is None:
                continue
            try:
                service.reopen_logs()
            except OSError as error:
                log.write(ErrorLevel.EMERG, f"reopening logs failed {_errno(error)}")

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


def _ignore() -> None:
    pass


async def _serve_worker(config: NginxConfig, slot: tuple[int, int], ready: int, log: ErrorLogWriter) -> int:
    """`slot`: the worker's number and its master's pid."""
    loop = asyncio.get_running_loop()
    try:
        services = await _Services.start(config)
        _become_user(config, *slot, log)
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
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
    os.write(ready, b"ok\n")
    os.close(ready)
    await services.done.wait()
    log.write(ErrorLevel.NOTICE, "exiting")
    log.write(ErrorLevel.NOTICE, "exit")
    return 0


class SingleProcess:
    """`master_process off`: the process serves itself (ngx_single_process_cycle)."""

    def __init__(self, launch: Launch, config: NginxConfig, log: ErrorLogWriter) -> None:
        self.config = config
        self._launch = launch
        self._log = log
        self._services: _Services | None = None
        self._retired: set[_Services] = set()
        self._stopped: asyncio.Event | None = None
        self._unix = UnixListeners()
        self._switches: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references

    def run(self, notify: Notify | None = None) -> int:
        _set_environment(self.config.processes)
        logging.getLogger("hapair.proxy").addHandler(ErrorLogHandler(self._log))
        try:
            return uvloop.run(self._serve(notify))
        finally:
            self._unix.close(self._log)
            self._log.close()

    async def _serve(self, notify: Notify | None) -> int:
        self._stopped = stopped = asyncio.Event()
        if not self._unix.bind(self.config, self._log):
            return 1
        try:
            self._services = await _Services.start(self.config)
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
        config = load_again(self._launch, self.config, self._log)
        if config is None or not self._unix.bind(config, self._log):
            self._unix.keep_only(self.config, self._log)
            return
        task = asyncio.get_running_loop().create_task(self._switch(config))
        self._switches.add(task)
        task.add_done_callback(self._switches.discard)

    async def _switch(self, config: NginxConfig) -> None:
        """The new configuration's listeners first, then the old ones drain (nginx keeps the old cycle
        until its connections end)."""
        try:
            services = await _Services.start(config)
        except OSError as error:
            self._log.write(ErrorLevel.EMERG, str(error))
            self._unix.keep_only(self.config, self._log)
            return
        self._unix.keep_only(config, self._log)
        old, self._services = self._services, services
        previous, self.config = self.config, config
        self._log.close()
        self._log = ErrorLogWriter(config.error_logs)
        if previous.pid != config.pid and write_pid_file(config.pid, self._log):
            remove_pid_file(previous.pid, self._log)
        redirect_stderr(config)
        if old is not None:
            self._retired.add(old)
            old.graceful(None)
            await old.done.wait()
            self._retired.discard(old)

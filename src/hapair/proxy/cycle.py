"""What a start and a reload of `hapair proxy` share, as nginx's ngx_init_cycle and main() do them: the
command line a configuration is read with (`Launch`), where the messages of reading it go (`report`), the
listening addresses bound for a moment as nginx binds them (five tries, half a second apart, for an
address in use), the unix sockets the master binds itself (`UnixListeners`), the pid file, stderr pointed at
the error log, the log files reopened and given to the workers' user, and the temporary directories made
theirs."""

from __future__ import annotations

import errno
import os
import resource
import socket
import stat
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hapair import __version__
from hapair.config.nginx.errors import ConfigError, Message, Severity
from hapair.config.nginx.model.addresses import UnixAddress
from hapair.config.nginx.model.config import ListeningSocket, NginxConfig
from hapair.config.nginx.model.http import NGX_LISTEN_BACKLOG, HttpConfig, Location, Settings
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.result import LoadResult
from hapair.forked import ForkedCall, ForkedCallError
from hapair.proxy.errorlog import SEVERITY, STDERR, ErrorLogWriter
from hapair.proxy.http.zones import zone_specs
from hapair.proxy.listening import listening_socket, share, try_bind
from hapair.proxy.shm import SharedZones, ZoneError

VERSION = f"hapair/{__version__} (nginx/1.22.1)"
BIND_TRIES = 5  # ngx_open_listening_sockets: an address in use is tried 5 times, 500 ms apart
BIND_RETRY_S = 0.5


@dataclass(frozen=True, slots=True)
class Launch:
    """The command line a configuration is read with, again on each reload."""

    conf_file: str
    prefix: str | None
    directives: str = ""
    error_log: str | None = None

    def load(self) -> LoadResult:
        """Read in a child process (forked.py), so that the reader stays neither in the master nor in the
        workers it forks (issue 15's 25 MB a worker)."""
        try:
            return ForkedCall(_read, self).result()
        except ForkedCallError as error:
            return failed_reading(self.conf_file, str(error))

    def load_for_signal(self) -> LoadResult:
        """As `nginx -s` reads it: no file opened (in this process: the command ends next)."""
        from hapair.config.nginx.load import load  # noqa: PLC0415  (the master never imports the reader)

        return load(self.conf_file, self.prefix, signal=True, directives=self.directives)


def _read(launch: Launch) -> LoadResult:
    from hapair.config.nginx.load import load  # noqa: PLC0415  (in the reading child only)

    return load(launch.conf_file, launch.prefix, directives=launch.directives, error_log=launch.error_log)


def failed_reading(conf_file: str, why: str) -> LoadResult:
    """A reading whose child failed (a bug of hapair's reader): its traceback's lines, the last one in the
    [emerg] that stops the start or the reload as a configuration error would."""
    *lines, last = why.splitlines()
    error = ConfigError(f"reading the configuration failed: {last}", None, directive=False)
    told = tuple(Message(Severity.CRIT, line, None, False) for line in lines)
    return LoadResult(conf_file, None, (*told, error.message), False, (), error)


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


def bind_all(listening: Iterable[ListeningSocket], log: ErrorLogWriter) -> bool:
    """Whether every address can be bound: nginx's tries, and its messages, for those that cannot."""
    pending = list(listening)
    for _ in range(BIND_TRIES):
        in_use: list[ListeningSocket] = []
        for socket_ in pending:
            try:
                try_bind(socket_.address, socket_.ipv6only, udp=socket_.udp)
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


def load_again(
    launch: Launch, running: NginxConfig, log: ErrorLogWriter, zones: SharedZones
) -> tuple[NginxConfig, SharedZones] | None:
    """A reload's ngx_init_cycle: the configuration read again, its messages to the running error log, its
    shared memory zones (the running ones it shares kept, see `shm`), its new addresses bound as at a
    start; None keeps the running configuration (and `zones`)."""
    result = launch.load()
    report(result, log)
    config = result.config
    if config is None:
        return None
    if config.processes.lock_file != running.processes.lock_file:
        log.write(ErrorLevel.EMERG, '"lock_file" could not be changed, ignored')
    try:
        renewed = zones.renew(zone_specs(config))
    except ZoneError as error:
        log.write(ErrorLevel.EMERG, str(error))
        return None
    bound = {(socket_.address, socket_.udp) for socket_ in running.listening}
    if not bind_all(
        (socket_ for socket_ in config.listening if (socket_.address, socket_.udp) not in bound), log
    ):
        renewed.release_unused(zones)
        return None
    log.write(ErrorLevel.NOTICE, 'using the "epoll" event method')
    return config, renewed


def log_os_status(log: ErrorLogWriter) -> None:
    """The lines nginx writes as it starts (ngx_event_module_init, ngx_os_status)."""
    soft, hard = (_rlimit_text(limit) for limit in resource.getrlimit(resource.RLIMIT_NOFILE))
    log.write(ErrorLevel.NOTICE, 'using the "epoll" event method')
    log.write(ErrorLevel.NOTICE, VERSION)
    system = os.uname()  # what platform.system() and release() give, without platform (issue 15)
    log.write(ErrorLevel.NOTICE, f"OS: {system.sysname} {system.release}")
    log.write(ErrorLevel.NOTICE, f"getrlimit(RLIMIT_NOFILE): {soft}:{hard}")


def _rlimit_text(limit: int) -> str:
    return str(2**64 - 1) if limit == resource.RLIM_INFINITY else str(limit)


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


def temp_paths(http: HttpConfig) -> set[str]:
    """The temporary directories of the http block's levels: request bodies, buffered responses, and the
    FastCGI, uwsgi and SCGI modules' (made as nginx makes them, used by nothing)."""
    paths: set[str] = set()

    def add(settings: Settings, locations: Iterable[Location]) -> None:
        paths.update((settings.client_body_temp_path, settings.proxy.response.temp_path))
        paths.update(settings.other_temp_paths)
        for location in locations:
            add(location.settings, location.locations)

    for server in http.servers:
        add(server.settings, server.locations)
    return paths


def create_temp_paths(config: NginxConfig, uid: int | None) -> None:
    """ngx_create_paths: each temporary directory made (mode 0700; its missing parents too, where nginx
    fails) and, when the workers run as another user, given to that user, so that they can write their
    files there. Raises OSError with nginx's message."""
    if config.http is None:
        return
    for path in sorted(temp_paths(config.http)):
        try:
            os.makedirs(path, 0o700)
        except FileExistsError:
            pass
        except OSError as error:
            raise OSError(error.errno, f'mkdir() "{path}" failed {errno_text(error)}') from error
        if uid is not None:
            _give_directory(path, uid)


def _give_directory(path: str, uid: int) -> None:
    info = os.stat(path)
    try:
        if info.st_uid != uid:
            os.chown(path, uid, -1)
    except OSError as error:
        raise OSError(error.errno, f'chown("{path}", {uid}) failed {errno_text(error)}') from error
    owner_all = stat.S_IRWXU
    try:
        if info.st_mode & owner_all != owner_all:
            os.chmod(path, stat.S_IMODE(info.st_mode) | owner_all)
    except OSError as error:
        raise OSError(error.errno, f'chmod() "{path}" failed {errno_text(error)}') from error


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
                log.write(ErrorLevel.EMERG, f'chmod() "{address.path}" failed {errno_text(error)}')
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
            log.write(ErrorLevel.EMERG, f"unlink() {path} failed {errno_text(error)}")


def errno_text(error: Exception) -> str:
    """nginx's `(errno: strerror)` for an OSError."""
    if isinstance(error, OSError) and error.errno is not None:
        return f"({error.errno}: {error.strerror})"
    return f"({error})"

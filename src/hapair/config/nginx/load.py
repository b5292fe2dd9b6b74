"""Reading a configuration as `nginx -t` reads it, into the model.

The file given may be one of three things (`detect_form`):

- a whole nginx.conf: it has an `events` block at its top level;
- the inside of an `http {}` block, as the seed's `conf.d/k8sapi.conf` is (Debian's nginx.conf includes
  conf.d/*.conf inside `http {}`): its first top-level directive, not counting `include` and `error_log`
  (which both contexts take), is one nginx allows in `http` and not at the top of nginx.conf
  (`upstream`, `server`, `log_format`, `proxy_*`...). It is read as the inside of an `http` block with
  nginx's defaults;
- main-level directives without `events`, as the seed's `tcpconf.d/k8sapi.conf` (a `stream {}` block) is:
  read as a whole nginx.conf whose `events {}` is empty. nginx itself refuses a whole configuration
  without `events`; hapair reads it this way.

Relative paths follow nginx: includes and certificates from the directory of the file given, log files
from the prefix (`-p`).
"""

from __future__ import annotations

from .context import Block
from .directives import HANDLERS
from .directives.http_core import close_http, open_http
from .errors import ConfigError
from .flags import HTTP_MAIN_CONF, MAIN_CONF, ModuleKind
from .known import DIRECTIVES
from .lexer import End, Lexer
from .model.config import InputForm, ListeningSocket, NginxConfig, Processes, ThreadPool
from .model.logging import ErrorLevel, ErrorLog
from .model.place import Place
from .paths import DEFAULT_LOCK_FILE, DEFAULT_PID, Paths
from .reader import Parser
from .result import LoadResult
from .startup import LoggedError, Startup, init_conf, open_cycle
from .state import (
    DAEMON,
    DEFAULT_WORKER_CONNECTIONS,
    LOCK_FILE,
    MASTER_PROCESS,
    WORKER_RLIMIT_CORE,
    WORKER_RLIMIT_NOFILE,
    WORKER_SHUTDOWN_TIMEOUT,
    WORKING_DIRECTORY,
    MainState,
)
from .system import LocalSystem, System

_BOTH_CONTEXTS = frozenset({"include", "error_log"})
_MAIN_DIRECTIVES = frozenset(d.name for d in DIRECTIVES if d.kind is ModuleKind.CORE and d.flags & MAIN_CONF)
_HTTP_DIRECTIVES = frozenset(
    d.name for d in DIRECTIVES if d.kind is ModuleKind.HTTP and d.flags & HTTP_MAIN_CONF
)


def load(
    conf_file: str,
    prefix: str | None = None,
    system: System | None = None,
    *,
    test: bool = False,
    signal: bool = False,
    directives: str = "",
    error_log: str | None = None,
) -> LoadResult:
    """Read `conf_file` (relative to `prefix`, as nginx's -c and -p) after the main-context `directives`
    of `-g`, then do what nginx does before it starts: with `test`, also bind the listening sockets for a
    moment, as `nginx -t` does; with `signal`, only what `nginx -s` does (no file opened). `error_log` is
    `-e`: where the main error log goes when no `error_log` says (None: Debian's default, stderr)."""
    paths = Paths.for_config(conf_file, prefix)
    main = MainState(paths, system or LocalSystem())
    parser = Parser(paths, HANDLERS)
    form = detect_form(paths.conf_file)
    try:
        _read(parser, main, form, directives)
    except ConfigError as exc:
        return LoadResult(paths.conf_file, None, (*parser.warnings, exc.message), False, (), exc)
    startup = Startup()
    try:
        init_conf(main, startup)
        if not signal:
            _default_error_log(main, error_log)
            open_cycle(main, startup, test=test)
    except LoggedError as exc:
        startup.logged.append(exc.message)
        return _started(main, parser, startup, error=exc)
    except ConfigError as exc:
        startup.messages.append(exc.message)
        return _started(main, parser, startup, error=exc)
    return _started(main, parser, startup, config=_config(main, form, tuple(parser.files)))


def _started(
    main: MainState,
    parser: Parser,
    startup: Startup,
    *,
    config: NginxConfig | None = None,
    error: ConfigError | None = None,
) -> LoadResult:
    return LoadResult(
        main.paths.conf_file,
        config,
        tuple(parser.warnings),
        True,
        tuple(startup.messages),
        error,
        tuple(startup.logged),
        tuple(main.error_logs),
        tuple(parser.sources.items()),
    )


def _default_error_log(main: MainState, error_log: str | None) -> None:
    """ngx_log_open_default: without an `error_log` to a file (or stderr) in the main context, errors also
    go to `-e`'s file (or stderr) from `error` up."""
    if any(log.syslog is None for log in main.error_logs):
        return
    target = "stderr" if error_log in (None, "", "stderr") else main.paths.from_prefix(str(error_log))
    if target != "stderr":
        main.open_file(target, None)
    main.error_logs.append(ErrorLog(target, ErrorLevel.ERROR, (), None))


def _read(parser: Parser, main: MainState, form: InputForm, directives: str) -> None:
    top = Block(ModuleKind.CORE, MAIN_CONF, main)
    if directives:
        parser.parse_parameters(directives, top)
    path = main.paths.conf_file
    if form is not InputForm.HTTP_SNIPPET:
        parser.parse_file(path, top)
        return
    inner = open_http(top, Place(path, 1))
    end = parser.parse_file(path, inner)
    close_http(inner, end, parser)


def detect_form(path: str) -> InputForm:
    """See the module's documentation; a file that cannot be read or tokenized is taken as a whole
    nginx.conf, and reading it reports the problem."""
    try:
        with open(path, "rb") as conf:
            lexer = Lexer(conf.read(), path)
        return _form(lexer)
    except (OSError, ConfigError):
        return InputForm.WHOLE


def _form(lexer: Lexer) -> InputForm:
    first = True
    while True:
        end, words = lexer.read()
        if end in (End.FILE_DONE, End.BLOCK_DONE):
            return InputForm.MAIN_SNIPPET
        name = words[0]
        if name == "events":
            return InputForm.WHOLE
        if first and name not in _BOTH_CONTEXTS:
            first = False
            if name in _HTTP_DIRECTIVES and name not in _MAIN_DIRECTIVES:
                return InputForm.HTTP_SNIPPET
        if end is End.BLOCK_START:
            _skip_block(lexer)


def _skip_block(lexer: Lexer) -> None:
    depth = 1
    while depth:
        end, _ = lexer.read()
        if end is End.FILE_DONE:
            return
        depth += {End.BLOCK_START: 1, End.BLOCK_DONE: -1}.get(end, 0)


def _config(main: MainState, form: InputForm, files: tuple[str, ...]) -> NginxConfig:
    workers = main.worker_processes
    connections = main.worker_connections
    return NginxConfig(
        conf_file=main.paths.conf_file,
        prefix=main.paths.prefix,
        form=form,
        files=files,
        worker_processes=workers.value if workers is not None else 1,
        worker_processes_auto=main.worker_processes_auto,
        worker_connections=connections.value if connections is not None else DEFAULT_WORKER_CONNECTIONS,
        pid=main.paths.from_prefix(main.pid.value if main.pid is not None else DEFAULT_PID),
        error_logs=tuple(main.error_logs),
        http=main.http_config,
        stream=main.stream_config,
        defined=_defined(main),
        processes=_processes(main),
        log_files=tuple(opened.path for opened in main.open_files),
        listening=tuple(
            ListeningSocket(socket.address, socket.ipv6only, socket.udp) for socket in main.listening
        ),
        thread_pools=tuple(
            ThreadPool(name, threads, max_queue)
            for name, (threads, max_queue, _) in main.thread_pools.items()
        ),
    )


def _processes(main: MainState) -> Processes:
    """ngx_core_module_init_conf's defaults: a daemon with a master, workers as they are."""
    level = main.level
    return Processes(
        daemon=level.value(DAEMON, True),
        master=level.value(MASTER_PROCESS, True),
        user=main.worker_user,
        priority=main.worker_priority.value if main.worker_priority is not None else 0,
        cpu_affinity=main.cpu_affinity.value if main.cpu_affinity is not None else None,
        rlimit_nofile=level.value(WORKER_RLIMIT_NOFILE, None),
        rlimit_core=level.value(WORKER_RLIMIT_CORE, None),
        shutdown_timeout_ms=level.value(WORKER_SHUTDOWN_TIMEOUT, 0),
        working_directory=level.value(WORKING_DIRECTORY, None),
        environment=tuple(main.environment),
        lock_file=main.paths.from_prefix(level.value(LOCK_FILE, DEFAULT_LOCK_FILE)),
    )


def _defined(main: MainState) -> dict[str, Place]:
    places = {
        "worker_processes": main.worker_processes.place if main.worker_processes else None,
        "pid": main.pid.place if main.pid else None,
        "user": main.user.place if main.user else None,
        "worker_priority": main.worker_priority.place if main.worker_priority else None,
        "worker_cpu_affinity": main.cpu_affinity.place if main.cpu_affinity else None,
        "events": main.events,
        "worker_connections": main.worker_connections.place if main.worker_connections else None,
        "use": main.event_method.place if main.event_method else None,
        "load_module": main.stream_loaded,
    }
    return {**main.level.defined(), **{name: place for name, place in places.items() if place is not None}}

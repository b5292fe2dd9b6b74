"""`error_log`, `log_format` and `access_log`, in the main context, http and stream (ngx_log_set_log,
ngx_http_log_module, ngx_stream_log_module)."""

from __future__ import annotations

from ..context import Block, Directive, Reading
from ..fields import ACCESS_LOGS, ERROR_LOGS, AccessLogs
from ..model.logging import AccessLog, ErrorLevel, ErrorLog, LogFormat, SyslogTarget
from ..numbers import parse_size, parse_time
from ..state import MainState
from ..syslog import syslog_target
from ..variables import VariableUses, compile_log_format, compile_template, has_variables, log_escape

DEBUG_LEVELS = (
    "debug_core",
    "debug_alloc",
    "debug_mutex",
    "debug_event",
    "debug_http",
    "debug_mail",
    "debug_stream",
)


def error_log(main: MainState, directive: Directive) -> ErrorLog:
    """One `error_log` (ngx_log_set_log): a file, `stderr`, `syslog:...`, and levels."""
    target = directive.args[0]
    if target.startswith("memory:"):
        raise directive.unsupported('"memory:" logging')
    syslog = syslog_target(directive, target, main.system) if target.startswith("syslog:") else None
    if target != "stderr" and syslog is None:
        target = main.paths.from_prefix(target)
        main.open_file(target, directive.place)
    level, debug = _levels(directive)
    return ErrorLog(target, level, debug, directive.place, syslog)


def _levels(directive: Directive) -> tuple[ErrorLevel, tuple[str, ...]]:
    level: ErrorLevel | None = None
    debug: list[str] = []
    for arg in directive.args[1:]:
        named = next((candidate for candidate in ErrorLevel if candidate.value == arg), None)
        if named is not None:
            if level is not None or debug:
                raise directive.error(f'duplicate log level "{arg}"')
            level = named
        elif arg in DEBUG_LEVELS:
            if level is not None and level is not ErrorLevel.DEBUG:
                raise directive.error(f'invalid log level "{arg}"')
            debug.append(arg)
        else:
            raise directive.error(f'invalid log level "{arg}"')
    if level is ErrorLevel.DEBUG:
        return level, DEBUG_LEVELS
    if level is None:
        return (ErrorLevel.DEBUG if debug else ErrorLevel.ERROR), tuple(debug)
    return level, tuple(debug)


def level_error_log(block: Block, directive: Directive, reading: Reading) -> None:
    """`error_log` in http or stream: added to the block's list."""
    level = block.level()
    here = level.here(ERROR_LOGS)
    logs = here.value if here is not None else ()
    level.set(ERROR_LOGS, (*logs, error_log(block.main, directive)), directive.place)


def log_format(formats: dict[str, LogFormat], uses: VariableUses, directive: Directive) -> None:
    name = directive.args[0]
    if name in formats:
        raise directive.error(f'duplicate "log_format" name "{name}"')
    escape, strings = log_escape(directive.args[1:], directive.place)
    template = compile_log_format(strings, uses, directive.place)
    formats[name] = LogFormat(name, escape, template, directive.place)


def access_log(
    block: Block,
    directive: Directive,
    formats: dict[str, LogFormat],
    uses: VariableUses,
    default_format: bool,
) -> None:
    """One `access_log` in http or stream, added to the block's level. `default_format`: http's
    `combined` stands in when no format is named; stream needs one."""
    level = block.level()
    here = level.here(ACCESS_LOGS)
    current = here.value if here is not None else AccessLogs(off=False, logs=())
    args = directive.args
    if args[0] == "off":
        if len(args) > 1:
            raise directive.error(f'invalid parameter "{args[1]}"')
        level.set(ACCESS_LOGS, AccessLogs(off=True, logs=current.logs), directive.place)
        return
    syslog = syslog_target(directive, args[0], block.main.system) if args[0].startswith("syslog:") else None
    if syslog is None and has_variables(args[0]):
        raise directive.unsupported("variables in the log file name")
    path = args[0] if syslog is not None else block.main.paths.from_prefix(args[0])
    if len(args) < 2 and not default_format:
        raise directive.error("log format is not specified")
    name = args[1] if len(args) > 1 else "combined"
    log_format_used = next((fmt for fmt in formats.values() if fmt.name.lower() == name.lower()), None)
    if log_format_used is None:
        raise directive.error(f'unknown log format "{name}"')
    log = _with_parameters(directive, path, log_format_used, uses, syslog)
    if syslog is None:
        _check_buffering(block.main, directive, log)
    level.set(ACCESS_LOGS, AccessLogs(off=current.off, logs=(*current.logs, log)), directive.place)


def _with_parameters(
    directive: Directive,
    path: str,
    log_format_used: LogFormat,
    uses: VariableUses,
    syslog: SyslogTarget | None,
) -> AccessLog:
    """`buffer=`, `flush=` and `if=` (a syslog log takes only `if=`)."""
    buffer = flush = 0
    condition = None
    for arg in directive.args[2:]:
        if arg.startswith("buffer="):
            value = parse_size(arg[7:])
            if not value:
                raise directive.error(f'invalid buffer size "{arg[7:]}"')
            buffer = value
        elif arg.startswith("flush="):
            value = parse_time(arg[6:], seconds=False)
            if not value:
                raise directive.error(f'invalid flush time "{arg[6:]}"')
            flush = value
        elif arg == "gzip" or arg.startswith("gzip="):
            raise directive.unsupported('"gzip" compression')
        elif arg.startswith("if="):
            condition = compile_template(arg[3:], uses, directive.place, directive.place)
        else:
            raise directive.error(f'invalid parameter "{arg}"')
    if flush and not buffer:
        raise directive.error(f'no buffer is defined for access_log "{directive.args[0]}"')
    if syslog is not None and buffer:
        raise directive.error("logs to syslog cannot be buffered")
    return AccessLog(path, log_format_used, buffer, flush, condition, directive.place, syslog)


def _check_buffering(main: MainState, directive: Directive, log: AccessLog) -> None:
    """The file is opened for the log; a buffered log must use the same buffer as earlier ones."""
    opened = main.open_file(log.path, log.place)
    if not log.buffer:
        return
    if opened.buffering is not None and opened.buffering != (log.buffer, log.flush):
        raise directive.error(f'access_log "{directive.args[0]}" already defined with conflicting parameters')
    opened.buffering = (log.buffer, log.flush)

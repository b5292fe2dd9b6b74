"""`hapair proxy`: the load balancer, configured by nginx's configuration files, with nginx 1.22's command
line: options read as ngx_get_options reads them (`-tq`, `-c FILE` or `-cFILE`, the last of a repeated
option wins), nginx's messages on stderr (`nginx: invalid option: "x"`...), the configuration dump of
`-T` on stdout, and nginx's exit statuses.

    -?,-h  help         -v  version        -V  version and build     -t  test        -T  test and dump
    -q  quiet -t        -s stop|quit|reopen|reload                   -p PREFIX       -e FILE|stderr
    -c FILE             -g "DIRECTIVES;"        --metrics ADDR:PORT (hapair's own)

hapair is not nginx, and `-v`, `-V` and `-h` say so where nginx names itself: `nginx version: hapair/0.1.0
(nginx/1.22.1)` keeps nginx's shape and names the nginx whose behaviour hapair follows; `-V` then gives the
TLS library and the Python runtime it runs on, and as "configure arguments" the default paths hapair uses
(Debian's) and the modules it has; `-h` says "Usage: hapair proxy". Every other message is nginx's, with
its "nginx:" prefix.

`--metrics ADDR:PORT` (or `--metrics=ADDR:PORT`; `[ADDR]:PORT` for IPv6) is hapair's own: the master
serves Prometheus metrics there (`hapair.proxy.metrics`). nginx has no long options.
"""

from __future__ import annotations

import os
import signal
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httptools
import uvloop

from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.numbers import atoi
from hapair.config.nginx.paths import DEFAULT_CONFIG, DEFAULT_LOCK_FILE, DEFAULT_PID, DEFAULT_PREFIX
from hapair.proxy.cycle import VERSION, Launch, report
from hapair.proxy.errorlog import command_line_log, console_line
from hapair.proxy.server import run_proxy

if TYPE_CHECKING:
    import argparse

    from hapair.config.nginx.result import LoadResult
    from hapair.exposition import IpAddress

SIGNALS = {"stop": signal.SIGTERM, "quit": signal.SIGQUIT, "reopen": signal.SIGUSR1, "reload": signal.SIGHUP}
# the options that take a value, and what nginx says when it is missing
_VALUE_OPTIONS = {
    "p": "directory name",
    "e": "file name",
    "c": "file name",
    "g": "parameter",
    "s": "parameter",
}
_METRICS = "--metrics"  # hapair's own option: the one long one
_PID_FILE_READ = 22  # NGX_INT64_LEN + 2: as much of the pid file as nginx reads
_MAX_PID = 2**31 - 1
CONFIGURE = (  # hapair's defaults are Debian's build's; the modules are those hapair has
    f"--prefix={DEFAULT_PREFIX.rstrip('/')} --conf-path={DEFAULT_CONFIG} "
    f"--http-log-path=/var/log/nginx/access.log --error-log-path=stderr --lock-path={DEFAULT_LOCK_FILE} "
    f"--pid-path={DEFAULT_PID} --with-http_ssl_module --with-stream=dynamic"
)
USAGE = f"""Usage: hapair proxy [-?hvVtTq] [-s signal] [-p prefix]
             [-e filename] [-c filename] [-g directives]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and configure options then exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to a master process: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: {DEFAULT_PREFIX})
  -e filename   : set error log file (default: stderr)
  -c filename   : set configuration file (default: {DEFAULT_CONFIG})
  -g directives : set global directives out of configuration file
  --metrics addr:port : serve Prometheus metrics there (hapair's own)

"""


class OptionError(Exception):
    """What nginx says about a command line it refuses (exit status 1)."""


@dataclass
class Options:
    help: bool = False
    version: bool = False
    configure: bool = False
    test: bool = False
    dump: bool = False
    quiet: bool = False
    prefix: str | None = None
    error_log: str | None = None  # "" is stderr (`-e stderr`)
    conf_file: str = DEFAULT_CONFIG
    directives: str = ""
    signal: str | None = None
    metrics: tuple[IpAddress, int] | None = None  # --metrics


def register(commands: Any) -> None:
    """`hapair proxy` in the sub-commands' list (`hapair --help`); cli/main.py runs it without argparse."""
    import argparse  # noqa: PLC0415

    parser: argparse.ArgumentParser = commands.add_parser(
        "proxy",
        help="L4/L7 load balancer, configured by nginx configuration files (nginx's options: -h)",
        add_help=False,
        prefix_chars="\0",  # every argument is nginx's to read
    )
    parser.add_argument("argv", nargs=argparse.REMAINDER)


def run_argv(argv: Sequence[str]) -> int:
    try:
        options = parse_options(argv)
    except OptionError as error:
        console_line(str(error))
        return 1
    return main(options)


def parse_options(argv: Sequence[str]) -> Options:
    """ngx_get_options: single-letter options, several in one argument (`-tq`); a value follows its letter
    or is the next argument."""
    options = Options()
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == _METRICS or arg.startswith(f"{_METRICS}="):
            value = arg[len(_METRICS) + 1 :]
            if arg == _METRICS:
                index += 1
                if index == len(argv):
                    raise OptionError(f'option "{_METRICS}" requires address:port')
                value = argv[index]
            options.metrics = _metrics_address(value)
            index += 1
            continue
        if not arg.startswith("-"):
            raise OptionError(f'invalid option: "{arg}"')
        for position in range(1, len(arg)):
            letter = arg[position]
            if letter in _VALUE_OPTIONS:
                value = arg[position + 1 :]
                if not value:
                    index += 1
                    if index == len(argv):
                        raise OptionError(f'option "-{letter}" requires {_VALUE_OPTIONS[letter]}')
                    value = argv[index]
                _set_value(options, letter, value)
                break
            _set_flag(options, letter)
        index += 1
    return options


def _metrics_address(value: str) -> tuple[IpAddress, int]:
    from hapair.exposition import parse_address  # noqa: PLC0415 (prometheus-client only with --metrics)

    try:
        return parse_address(value)
    except ValueError:
        raise OptionError(f'invalid option: "{_METRICS} {value}"') from None


def _set_flag(options: Options, letter: str) -> None:
    if letter in "?h":
        options.version = options.help = True
    elif letter == "v":
        options.version = True
    elif letter == "V":
        options.version = options.configure = True
    elif letter == "t":
        options.test = True
    elif letter == "T":
        options.test = options.dump = True
    elif letter == "q":
        options.quiet = True
    else:
        raise OptionError(f'invalid option: "{letter}"')


def _set_value(options: Options, letter: str, value: str) -> None:
    if letter == "p":
        options.prefix = value
    elif letter == "e":
        options.error_log = "" if value == "stderr" else value
    elif letter == "c":
        options.conf_file = value
    elif letter == "g":
        options.directives = value
    elif value in SIGNALS:
        options.signal = value
    else:
        raise OptionError(f'invalid option: "-s {value}"')


def main(options: Options) -> int:
    """nginx's main(): the version, else a test, a signal or a start."""
    if options.version:
        _write_stderr(version_text(options))
        if not options.test:
            return 0
    if options.test:
        return config_test(options)
    if options.signal is not None:
        return send_signal(options, options.signal)
    return run_proxy(_launch(options), options.metrics)


def _launch(options: Options) -> Launch:
    return Launch(options.conf_file, options.prefix, options.directives, options.error_log)


def python_version() -> str:
    """What platform.python_version() gives (sys.version's first word), without platform's import."""
    return sys.version.split()[0]


def version_text(options: Options) -> str:
    text = f"nginx version: {VERSION}\n"
    if options.help:
        text += USAGE
    if options.configure:
        text += (
            f"built with {ssl.OPENSSL_VERSION} (Python {python_version()}, uvloop "
            f"{uvloop.__version__}, httptools {httptools.__version__})\n"
            f"TLS SNI support {'enabled' if ssl.HAS_SNI else 'disabled'}\n"
            f"configure arguments: {CONFIGURE}\n"
        )
    return text


def config_test(options: Options) -> int:
    """`-t`, `-T`, `-q`: read the configuration as nginx does before it starts, and say whether it would."""
    from hapair.config.nginx.load import load  # noqa: PLC0415  (a running master reads in a child)

    result = load(
        options.conf_file,
        options.prefix,
        test=True,
        signal=options.signal is not None,  # nginx -t -s reads no further than nginx -s
        directives=options.directives,
        error_log=options.error_log,
    )
    log = command_line_log(options.error_log, options.prefix, ErrorLevel.INFO)
    report(result, log, syntax_ok=None if options.quiet else lambda: _syntax_ok(result))
    if result.error is not None:
        console_line(f"configuration file {result.conf_file} test failed")
        return 1
    if not options.quiet:
        console_line(f"configuration file {result.conf_file} test is successful")
    if options.dump:
        for path, data in result.sources:
            sys.stdout.flush()
            sys.stdout.buffer.write(f"# configuration file {path}:\n".encode("utf-8", "surrogateescape"))
            sys.stdout.buffer.write(data + b"\n")
            sys.stdout.buffer.flush()
    return 0


def _syntax_ok(result: LoadResult) -> None:
    console_line(f"the configuration file {result.conf_file} syntax is ok")


def send_signal(options: Options, name: str) -> int:
    """`-s`: the master's pid, read from the configuration's pid file, is sent nginx's signal for `name`
    (ngx_signal_process). A pid file that names process 0 or a negative one is refused, where nginx would
    signal its own process group."""
    log = command_line_log(options.error_log, options.prefix, ErrorLevel.NOTICE)
    result = _launch(options).load_for_signal()
    if result.config is None:
        report(result, log)
        return 1
    log.write(ErrorLevel.NOTICE, "signal process started")
    path = result.config.pid
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        log.write(ErrorLevel.ERROR, f'open() "{path}" failed ({error.errno}: {error.strerror})')
        return 1
    try:
        data = os.pread(fd, _PID_FILE_READ, 0)
    except OSError as error:
        log.write(ErrorLevel.CRIT, f'pread() "{path}" failed ({error.errno}: {error.strerror})')
        return 1
    finally:
        os.close(fd)
    text = data.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
    pid = atoi(text)
    if pid is None or not 0 < pid <= _MAX_PID:
        log.write(ErrorLevel.ERROR, f'invalid PID number "{text}" in "{path}"')
        return 1
    signum = SIGNALS[name]
    try:
        os.kill(pid, signum)
    except OSError as error:
        log.write(ErrorLevel.ALERT, f"kill({pid}, {signum}) failed ({error.errno}: {error.strerror})")
        return 1
    return 0


def _write_stderr(text: str) -> None:
    sys.stderr.flush()
    sys.stderr.buffer.write(text.encode())
    sys.stderr.buffer.flush()

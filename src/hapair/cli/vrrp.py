"""`hapair vrrp`: keepalived's VRRP side, with keepalived's command-line habits.

`-t` imports only the configuration reader (not the daemon, asyncio or pyroute2: issue 15's start-up
budget); the daemon's modules are imported when it runs, asyncio without ssl (tlsless.py). Both import
with the garbage collector paused and freeze what they imported (frozen_imports.py).

The options are argparse's (`register`), but a command line of their plain forms is read without it
(`read_plainly`: each option whole, `--option=value`, short flags together as in `-nlG`), which keeps
argparse (0.3 MB) out of the daemon's memory (issue 15's budget); anything else (`--help`, an error, an
abbreviated long option, `-fFILE`, a value starting with `-`) is argparse's to read, so that its help,
messages and exit status stay what they are."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TextIO

from hapair import frozen_imports
from hapair.control.protocol import VRRP_SOCKET as DEFAULT_CONTROL
from hapair.control.protocol import socket_beside
from hapair.tlsless import import_asyncio_without_ssl
from hapair.vrrp.log import FACILITIES, configure_logging

if TYPE_CHECKING:
    import argparse

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"
DEFAULT_PID_FILE = "/run/hapair_vrrp.pid"
# the options `register` adds, for `read_plainly`: destination by flag, and each destination's default
FLAGS = {
    **dict.fromkeys(("-l", "--log-console"), "log_console"),
    **dict.fromkeys(("-D", "--log-detail"), "log_detail"),
    **dict.fromkeys(("-G", "--no-syslog"), "no_syslog"),
    **dict.fromkeys(("-n", "--dont-fork"), "dont_fork"),
}
VALUES = {
    **dict.fromkeys(("-f", "--use-file"), "config"),
    **dict.fromkeys(("-i", "--config-id"), "config_id"),
    **dict.fromkeys(("-S", "--log-facility"), "log_facility"),
    **dict.fromkeys(("-g", "--log-file"), "log_file"),
    **dict.fromkeys(("-p", "--pid"), "pid"),
    "--metrics": "metrics",
    "--control": "control",
}
OPTIONAL_VALUE = ("-t", "--config-test")  # its value if the next argument is not an option, else ""
DEFAULTS = {
    "command": "vrrp",
    "config": DEFAULT_CONFIG,
    "config_test": None,
    "config_id": None,
    **dict.fromkeys(FLAGS.values(), False),
    "log_facility": "daemon",
    "log_file": None,
    "pid": DEFAULT_PID_FILE,
    "metrics": None,
    "control": None,
}


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "vrrp",
        help="VRRP failover of virtual IPs, configured by keepalived.conf",
        description="Run or check a keepalived-compatible VRRP configuration.",
    )
    parser.add_argument(
        "-f",
        "--use-file",
        dest="config",
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help=f"configuration file (a glob is allowed; default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "-t",
        "--config-test",
        nargs="?",
        const="",
        default=None,
        metavar="LOGFILE",
        help="check the configuration and exit: 0 clean, 4 fatal, 5 errors or warnings, "
        "6 script-security violation, 2 keyword missing its parameter; "
        "messages go to stderr, or are appended to LOGFILE",
    )
    parser.add_argument(
        "-i",
        "--config-id",
        default=None,
        metavar="ID",
        help="id matched by @ID / @^ID lines (default: the short host name)",
    )
    add_daemon_options(
        parser, log_file=("-g", "--log-file"), pid=("-p", "--pid"), default_pid=DEFAULT_PID_FILE
    )
    parser.set_defaults(run=run)


def add_daemon_options(
    group: Any, *, log_file: tuple[str, ...], pid: tuple[str, ...], default_pid: str, side: str = "its "
) -> None:
    """keepalived's logging and process options (`log_file`, `pid`: their flags) and hapair's
    `--metrics` and `--control`, for `hapair vrrp` and the VRRP side (`side`) of `hapair node`."""
    group.add_argument("-l", "--log-console", action="store_true", help="log to the console (stderr)")
    group.add_argument("-D", "--log-detail", action="store_true", help="detailed log messages")
    group.add_argument(
        "-S",
        "--log-facility",
        default="daemon",
        choices=sorted(FACILITIES),
        metavar="{0-7|local0-7|user|daemon}",
        help="syslog facility (default daemon)",
    )
    group.add_argument(*log_file, dest="log_file", metavar="FILE", help="also write log lines to FILE")
    group.add_argument("-G", "--no-syslog", action="store_true", help="do not log to syslog")
    group.add_argument("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    group.add_argument(
        *pid, dest="pid", default=default_pid, metavar="FILE", help=f"pid file (default {default_pid})"
    )
    group.add_argument(
        "--metrics",
        type=metrics_address,
        metavar="ADDR:PORT",
        help=f"serve {side}Prometheus metrics at http://ADDR:PORT/metrics ([ADDR]:PORT for IPv6; "
        "hapair's own)",
    )
    group.add_argument(
        "--control",
        metavar="PATH",
        help=f"{side}control socket `hapair status` reads, or `none` (default {DEFAULT_CONTROL}, or beside "
        f"the pid file when {pid[0]} is given: its name with .sock)",
    )


def run_argv(argv: Sequence[str]) -> int:
    """`hapair vrrp` with the arguments after `vrrp`."""
    plainly = read_plainly(argv)
    if plainly is not None:
        return run(plainly)
    from hapair.cli.main import build_parser  # noqa: PLC0415

    return run(build_parser("vrrp").parse_args(["vrrp", *argv]))


def read_plainly(argv: Sequence[str]) -> SimpleNamespace | None:
    """The options as argparse's parser gives them, when each argument is an option `register` adds, whole
    (or `--option=value`, or short flags together), and each value one that does not start with `-` and
    that the option takes; otherwise None."""
    values: dict[str, Any] = dict(DEFAULTS)
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg in FLAGS:
            values[FLAGS[arg]] = True
        elif arg in OPTIONAL_VALUE:
            if index < len(argv) and not argv[index].startswith("-"):
                values["config_test"] = argv[index]
                index += 1
            else:
                values["config_test"] = ""
        elif arg.startswith("--") and "=" in arg and arg.split("=", 1)[0] in VALUES:
            flag, value = arg.split("=", 1)
            if not _take_value(values, VALUES[flag], value):
                return None
        elif arg in VALUES:
            if index == len(argv) or argv[index].startswith("-"):
                return None
            if not _take_value(values, VALUES[arg], argv[index]):
                return None
            index += 1
        elif len(arg) > 2 and arg[0] == "-" and all(f"-{letter}" in FLAGS for letter in arg[1:]):
            for letter in arg[1:]:
                values[FLAGS[f"-{letter}"]] = True
        else:
            return None
    return SimpleNamespace(**values, run=run)


def _take_value(values: dict[str, Any], dest: str, value: str) -> bool:
    """Set `dest` to `value` as argparse would; False for a value argparse refuses."""
    if dest == "log_facility" and value not in FACILITIES:
        return False
    if dest == "metrics":
        from hapair.exposition import parse_address  # noqa: PLC0415  (as metrics_address)

        try:
            values[dest] = parse_address(value)
        except ValueError:
            return False
        return True
    values[dest] = value
    return True


def daemon_logger(args: argparse.Namespace | SimpleNamespace) -> logging.Logger:
    """The logger the options of `add_daemon_options` ask for."""
    return configure_logging(
        console=args.log_console,
        syslog=not args.no_syslog,
        facility=args.log_facility,
        log_file=args.log_file,
    )


def metrics_address(text: str) -> tuple[Any, int]:
    """`--metrics`' value (prometheus-client is imported only when it is given)."""
    from hapair.exposition import parse_address  # noqa: PLC0415

    try:
        return parse_address(text)
    except ValueError:
        import argparse  # noqa: PLC0415  (only where argparse reads the command line)

        raise argparse.ArgumentTypeError(f"not an address:port: {text!r}") from None


def control_path(control: str | None, pid: str, default_pid: str = DEFAULT_PID_FILE) -> str | None:
    """Where the control socket goes: as given (`none`: nowhere), else beside a pid file given with -p,
    else the default; so that daemons started with pid files of their own (tests, several on one
    machine) do not share a socket."""
    if control is not None:
        return None if control == "none" else control
    if pid != default_pid:
        return socket_beside(pid)
    return DEFAULT_CONTROL


def run(args: argparse.Namespace | SimpleNamespace) -> int:
    if args.config_test is not None:
        return config_test(args.config, args.config_id, args.config_test)
    if not args.dont_fork and _daemonized_parent():
        return 0
    with frozen_imports.frozen():
        # the keepalived model, which the reading child fills and the daemon runs, imported once, before the
        # child is forked: on a loaded machine the two processes share the cores, and the model's import
        # was a fifth of the start's instructions in each (issue 15's start-up budget)
        import hapair.config.keepalived.model.vrrp  # noqa: F401, PLC0415
        from hapair.vrrp.reading import start_reading  # noqa: PLC0415

        # a child reads the configuration while asyncio and the daemon's modules are imported here
        reading = start_reading(args.config, args.config_id)
        import_asyncio_without_ssl()  # before the daemon's modules import asyncio with it
        from hapair.vrrp.daemon import DaemonOptions, run_daemon  # noqa: PLC0415  (not for -t)

    logger = daemon_logger(args)
    options = DaemonOptions(
        config=args.config,
        config_id=args.config_id,
        detail=args.log_detail,
        control=control_path(args.control, args.pid),
        metrics=args.metrics,
    )
    with _pid_file(args.pid):
        return run_daemon(options, logger, reading)


def _daemonized_parent() -> bool:
    """Fork into the background as keepalived does without -n: True in the parent, which should exit."""
    if os.fork():
        return True
    os.setsid()
    if os.fork():
        os._exit(0)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    return False


@contextmanager
def _pid_file(path: str) -> Iterator[None]:
    with open(path, "w", encoding="ascii") as out:
        out.write(f"{os.getpid()}\n")
    try:
        yield
    finally:
        os.unlink(path)


def config_test(path: str, config_id: str | None, logfile: str) -> int:
    with frozen_imports.frozen():
        from hapair.config.keepalived.load import load  # noqa: PLC0415
        from hapair.net.host import LocalHost  # noqa: PLC0415

    result = load(path, LocalHost(), config_id=config_id, config_test=True)
    lines = [d.render() for d in result.report]
    if logfile:
        with open(logfile, "a", encoding="utf-8", errors="surrogateescape") as out:
            _write(out, lines)
    else:
        _write(sys.stderr, lines)
    return result.exit_status


def _write(out: TextIO, lines: list[str]) -> None:
    for line in lines:
        out.write(line + "\n")
    out.flush()

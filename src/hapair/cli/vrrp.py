"""`hapair vrrp`: keepalived's VRRP side, with keepalived's command-line habits.

`-t` imports only the configuration reader (not the daemon, asyncio or pyroute2: issue 15's start-up
budget); the daemon's modules are imported when it runs, asyncio without ssl (tlsless.py). Both import
with the garbage collector paused and freeze what they imported (frozen_imports.py)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from hapair import frozen_imports
from hapair.control.protocol import VRRP_SOCKET as DEFAULT_CONTROL
from hapair.control.protocol import socket_beside
from hapair.tlsless import import_asyncio_without_ssl
from hapair.vrrp.log import FACILITIES, configure_logging

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"
DEFAULT_PID_FILE = "/run/hapair_vrrp.pid"


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


def daemon_logger(args: argparse.Namespace) -> logging.Logger:
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


def run(args: argparse.Namespace) -> int:
    if args.config_test is not None:
        return config_test(args.config, args.config_id, args.config_test)
    if not args.dont_fork and _daemonized_parent():
        return 0
    with frozen_imports.frozen():
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

"""`hapair vrrp`: keepalived's VRRP side, with keepalived's command-line habits."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from hapair.config.keepalived.load import load
from hapair.net.host import LocalHost

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.config_test is None:
        print("hapair vrrp: only --config-test (-t) is available so far", file=sys.stderr)
        return 1
    return config_test(args.config, args.config_id, args.config_test)


def config_test(path: str, config_id: str | None, logfile: str) -> int:
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

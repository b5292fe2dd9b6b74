"""`hapair proxy`: the load balancer, configured by nginx's configuration files, with nginx's command-line
habits (`-c`, `-p`, `-t`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hapair.config.nginx.load import LoadResult, load
from hapair.config.nginx.paths import DEFAULT_CONFIG, DEFAULT_PREFIX
from hapair.proxy.server import run_proxy


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "proxy",
        help="L4/L7 load balancer, configured by nginx configuration files",
        description="Run or check an nginx-compatible load balancer configuration.",
    )
    parser.add_argument(
        "-c",
        dest="config",
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help=f"configuration file: a whole nginx.conf, the inside of http {{}} or main-level directives "
        f"(default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "-p", dest="prefix", default=None, metavar="PREFIX", help=f"prefix path (default {DEFAULT_PREFIX})"
    )
    parser.add_argument(
        "-t",
        dest="test",
        action="store_true",
        help="check the configuration as nginx -t does, and exit: 0 when it is usable, 1 when not",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.test:
        return config_test(args.config, args.prefix)
    return run_proxy(args.config, args.prefix)


def config_test(config: str, prefix: str | None) -> int:
    result = load(config, prefix, test=True)
    _write(check_report(result))
    return 0 if result.error is None else 1


def check_report(result: LoadResult) -> list[str]:
    """What `nginx -t` prints on stderr for this result."""
    lines = [message.render() for message in result.reading]
    if result.syntax_ok:
        lines.append(f"nginx: the configuration file {result.conf_file} syntax is ok")
    lines += [message.render() for message in result.starting]
    if result.error is None:
        lines.append(f"nginx: configuration file {result.conf_file} test is successful")
    else:
        lines.append(f"nginx: configuration file {result.conf_file} test failed")
    return lines


def _write(lines: list[str]) -> None:
    sys.stderr.flush()
    for line in lines:
        sys.stderr.buffer.write(line.encode("utf-8", "surrogateescape") + b"\n")
    sys.stderr.buffer.flush()

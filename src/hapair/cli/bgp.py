"""`hapair bgp`: announce VIPs over BGP (through BIRD or ExaBGP) while this node's proxy is healthy, and
`hapair bgp drain|undrain|status` to the running daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from typing import Any

from hapair.bgp.config import DEFAULT_CONFIG, BgpConfig, ConfigError, check, load

from .vrrp import metrics_address

ACTIONS = ("drain", "undrain", "status")
CONTROL_TIMEOUT_S = 600


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "bgp",
        help="announce VIPs over BGP (BIRD or ExaBGP) while this node is healthy",
        description=__doc__,
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=ACTIONS,
        help="drain: withdraw, then stop the proxy once its connections end; undrain; status "
        "(none: run the daemon)",
    )
    parser.add_argument(
        "-c", "--conf", default=DEFAULT_CONFIG, metavar="FILE", help=f"its file (default {DEFAULT_CONFIG})"
    )
    parser.add_argument("-t", "--test", action="store_true", help="check the configuration and exit")
    parser.add_argument(
        "--metrics",
        type=metrics_address,
        default=None,
        metavar="ADDR:PORT",
        help="serve the announcements' Prometheus metrics at http://ADDR:PORT/metrics (off unless given)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.test:
        return _test(args.conf)
    try:
        config = load(args.conf, None if args.action is not None else "bgp")
    except ConfigError as error:
        print(f"hapair bgp: {error}", file=sys.stderr)
        return 1
    if args.action is not None:
        return _control(config, args.action)
    return _daemon(config, args.metrics)


def _test(path: str) -> int:
    """-t: the file for hapair bgp, or for hapair node --bgp when it has none of hapair bgp's probes (said
    before nginx's two lines)."""
    try:
        _, daemon = check(path)
    except ConfigError as error:
        print(f"hapair bgp: {error}", file=sys.stderr)
        return 1
    if daemon == "node":
        kind = "a file for hapair node --bgp (no directive of hapair bgp's probes)"
        print(f"hapair bgp: {path} is {kind}", file=sys.stderr)
    print(f"hapair bgp: the configuration file {path} syntax is ok", file=sys.stderr)
    print(f"hapair bgp: configuration file {path} test is successful", file=sys.stderr)
    return 0


def _control(config: BgpConfig, action: str) -> int:
    """Send `action` to the daemon and print its answer as it comes (a drain's steps as they happen)."""
    # the daemon's longest silence: a drain's settle, or its proxy's graceful stop up to drain_timeout
    timeout = CONTROL_TIMEOUT_S + max(config.drain_settle, config.drain_timeout)
    failed = False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(config.control)
            connection.sendall(action.encode() + b"\n")
            with connection.makefile("r") as answer:
                for line in answer:
                    print(line.rstrip("\n"), flush=True)
                    failed = failed or line.startswith("error:")
    except TimeoutError:
        print(f"hapair bgp: no answer from the daemon at {config.control} in {timeout:g} s", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"hapair bgp: cannot reach the daemon at {config.control}: {error.strerror}", file=sys.stderr)
        return 1
    return 1 if failed else 0


def _daemon(config: BgpConfig, metrics: tuple[Any, int] | None) -> int:
    from hapair.bgp.daemon import BgpDaemon, run, serve_metrics  # noqa: PLC0415 - not for the control actions
    from hapair.bgp.speakers import speaker_for  # noqa: PLC0415
    from hapair.exposition import address_text  # noqa: PLC0415

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s hapair bgp: %(message)s")
    daemon = BgpDaemon(config, speaker_for(config))
    server = None
    if metrics is not None:
        try:
            server = serve_metrics(daemon, metrics)
        except OSError as error:
            where = address_text(*metrics)
            print(f"hapair bgp: cannot serve metrics on {where}: {error.strerror}", file=sys.stderr)
            return 1
    try:
        asyncio.run(run(daemon))
    finally:
        if server is not None:
            server.close()
    return 0

"""`hapair node`: one node of the pair, the VRRP engine and the load balancer together, from
keepalived.conf and nginx.conf, the proxy's health tracked natively (hapair.node)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from hapair.bgp.config import BgpConfig, ConfigError
from hapair.bgp.config import load as load_bgp
from hapair.config.nginx.paths import DEFAULT_CONFIG as NGINX_CONFIG
from hapair.node.daemon import NodeOptions, run_node
from hapair.node.settings import DEFAULT_FILE, NodeSettings, SettingsError, read_settings, validated
from hapair.vrrp.daemon import DaemonOptions

from .vrrp import (
    DEFAULT_CONFIG,
    _daemonized_parent,
    _pid_file,
    add_daemon_options,
    control_path,
    daemon_logger,
)

DEFAULT_PID_FILE = "/run/hapair_node.pid"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "node",
        help="one node: VRRP and the load balancer together, the proxy's health tracked natively",
        description="Run the VRRP engine (keepalived.conf) and the proxy (nginx.conf) of one node.",
    )
    files = parser.add_argument_group("configuration")
    files.add_argument(
        "-f",
        "--use-file",
        dest="config",
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help=f"keepalived configuration (default {DEFAULT_CONFIG})",
    )
    files.add_argument(
        "-c",
        "--nginx-conf",
        default=NGINX_CONFIG,
        metavar="FILE",
        help=f"nginx configuration (default {NGINX_CONFIG})",
    )
    files.add_argument("--prefix", default=None, metavar="PREFIX", help="the proxy's prefix (nginx's -p)")
    files.add_argument(
        "--directives",
        default="",
        metavar="DIRECTIVES",
        help="main-context directives for the proxy (nginx's -g; `daemon off;` is implied)",
    )
    files.add_argument(
        "--bgp",
        default=None,
        metavar="FILE",
        help="N active nodes: announce the VIPs over BGP by hapair bgp's FILE (docs/bgp.md), following the "
        "native trackers, in place of VRRP (keepalived.conf is not read)",
    )
    files.add_argument("-i", "--config-id", default=None, metavar="ID", help="keepalived's config id")
    files.add_argument(
        "--settings",
        default=None,
        metavar="FILE",
        help=f"native tracking settings (TOML; default {DEFAULT_FILE} when it exists)",
    )
    logs = parser.add_argument_group("VRRP logging and process")
    # nginx's -g and -p are the proxy's (--directives, --prefix): the log file and pid file go by name
    side = "the VRRP side's "
    add_daemon_options(
        logs, log_file=("--log-file",), pid=("--pid",), default_pid=DEFAULT_PID_FILE, side=side
    )
    health = parser.add_argument_group("native tracking (over the settings file)")
    health.add_argument("--no-native", action="store_true", help="no native tracker")
    health.add_argument("--no-backends", action="store_true", help="do not track the backends")
    health.add_argument("--proxy-weight", type=int, metavar="W", help="0 (FAULT) or a priority weight")
    health.add_argument("--backends-weight", type=int, metavar="W", help="0 (FAULT) or a priority weight")
    health.add_argument("--health-interval", type=float, metavar="S", help="seconds between worker exchanges")
    health.add_argument("--health-fall", type=int, metavar="N", help="failed exchanges before not serving")
    health.add_argument("--health-rise", type=int, metavar="N", help="good exchanges before serving again")
    parser.set_defaults(run=run)


def settings_of(args: argparse.Namespace) -> NodeSettings:
    """The settings file's (if any) with the command line's options over them."""
    path = args.settings or DEFAULT_FILE
    settings = read_settings(path, required=args.settings is not None)
    native, proxy, backends = settings.native, settings.proxy, settings.backends
    if args.no_native:
        native = replace(native, enabled=False)
    if args.no_backends:
        backends = replace(backends, enabled=False)
    proxy_changes = {
        "weight": args.proxy_weight,
        "interval": args.health_interval,
        "fall": args.health_fall,
        "rise": args.health_rise,
    }
    proxy = replace(proxy, **{k: v for k, v in proxy_changes.items() if v is not None})
    if args.backends_weight is not None:
        backends = replace(backends, weight=args.backends_weight)
    return validated(replace(settings, native=native, proxy=proxy, backends=backends), "command line")


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_of(args)
    except SettingsError as error:
        sys.stderr.write(f"hapair node: {error}\n")
        return 1
    bgp = None
    if args.bgp is not None:
        try:
            bgp = _bgp_config(args)
        except ConfigError as error:
            sys.stderr.write(f"hapair node: {error}\n")
            return 1
    if not args.dont_fork and _daemonized_parent():
        return 0
    logger = daemon_logger(args)
    options = NodeOptions(
        vrrp=DaemonOptions(
            config=args.config,
            config_id=args.config_id,
            detail=args.log_detail,
            control=control_path(args.control, args.pid, DEFAULT_PID_FILE),
            metrics=args.metrics,
        ),
        nginx_conf=args.nginx_conf,
        prefix=args.prefix,
        directives=args.directives,
        settings=settings,
    )
    with _pid_file(args.pid):
        if bgp is not None:
            from hapair.bgp.speakers import speaker_for  # noqa: PLC0415 - pyroute2 only when it is used
            from hapair.node.bgp import run_bgp_node  # noqa: PLC0415

            return run_bgp_node(options, bgp, speaker_for(bgp), logger)
        return run_node(options, logger)


def _bgp_config(args: argparse.Namespace) -> BgpConfig:
    """hapair bgp's file, for the node; the VRRP side's --control has no use with it (--metrics serves the
    announcers' metrics)."""
    if args.control is not None:
        raise ConfigError("--control is the VRRP side's: with --bgp, use hapair bgp's file's 'control'")
    return load_bgp(args.bgp, "node")

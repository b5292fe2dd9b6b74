"""`hapair lab`: the seed's two-node system in network namespaces on this machine (up, status, fail, heal,
logs, down), and its failover test told unattended (demo)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hapair.lab import bgp, faults, lab, status
from hapair.lab.bgp_demo import run_bgp_demo
from hapair.lab.configs import export_seed
from hapair.lab.demo import run_demo
from hapair.lab.errors import LabError
from hapair.lab.layout import DEFAULT_NAME, NODES, Layout
from hapair.lab.logs import LOGS, log_text
from hapair.lab.processes import INTERRUPTED
from hapair.lab.state import LabState

DEMO_NAME = "demo"
ALL_NODES = (*NODES, *range(max(NODES) + 1, max(bgp.NODE_COUNTS) + 1))
NODE_HELP = "1 or 2 (the BGP lab: 1 to N)"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "lab",
        help="the seed's keepalived + nginx pair on this machine, in network namespaces",
        description=__doc__,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    up = _action(actions, "up", "build the lab and start both nodes", _up)
    _build_options(up)
    up.add_argument(
        "--config-dir",
        metavar="DIR",
        help="your own files, laid out as `hapair lab export` writes the seed's",
    )
    _bgp_options(up)

    _action(actions, "status", "each node's VRRP state, priority, VIP and proxy", _status)

    fail = _action(actions, "fail", "inject a fault on a node", _fail)
    fail.add_argument("node", type=int, choices=ALL_NODES, metavar="NODE", help=NODE_HELP)
    fail.add_argument(
        "--how",
        required=True,
        choices=list(dict.fromkeys([*faults.FAULTS, *faults.BGP_FAULTS])),
        help="; ".join(f"{k}: {v}" for k, v in faults.FAULTS.items())
        + "; the BGP lab: "
        + "; ".join(f"{k}: {v}" for k, v in faults.BGP_FAULTS.items()),
    )

    heal = _action(actions, "heal", "undo a node's fault (cable, proxy, VRRP daemon)", _heal)
    heal.add_argument("node", type=int, choices=ALL_NODES, metavar="NODE", help=NODE_HELP)

    logs = _action(actions, "logs", "print a node's log", _logs)
    logs.add_argument("node", type=int, choices=ALL_NODES, metavar="NODE", help=NODE_HELP)
    logs.add_argument("--what", choices=list(LOGS), default="vrrp", help="which log (default vrrp)")

    _action(actions, "down", "stop everything and remove the namespaces (also a half-built lab)", _down)

    demo = _action(
        actions,
        "demo",
        "the seed's failover test, unattended: up, stop the master, restore, down",
        _demo,
        default_name=DEMO_NAME,
    )
    _build_options(demo)
    _bgp_options(demo)

    export = actions.add_parser(
        "export", help="write the seed's files to DIR, to edit and use with --config-dir"
    )
    export.add_argument("directory", metavar="DIR")
    export.set_defaults(run=_guarded(_export))


def _action(actions: Any, name: str, help_text: str, run: Any, default_name: str = DEFAULT_NAME) -> Any:
    parser = actions.add_parser(name, help=help_text, description=help_text)
    parser.add_argument(
        "--name",
        default=default_name,
        help=f"the lab's name: its namespaces are hapair-NAME-* (default {default_name})",
    )
    parser.set_defaults(run=_guarded(run))
    return parser


def _build_options(parser: argparse.ArgumentParser) -> None:
    for program, instead in (("keepalived", "hapair vrrp"), ("nginx", "hapair proxy")):
        parser.add_argument(
            f"--with-{program}",
            type=int,
            action="append",
            default=[],
            choices=NODES,
            metavar="NODE",
            help=f"run the real {program} on NODE instead of {instead}",
        )
    parser.add_argument(
        "--health",
        choices=("script", "native"),
        default="script",
        help="what tracks the proxy: the seed's check_nginx.sh (default), or hapair node's native trackers "
        "(each node that runs hapair for both parts runs them as one hapair node)",
    )
    parser.add_argument(
        "--node-cpu",
        type=float,
        metavar="CPUS",
        help="each node's processes capped at CPUS processors (cgroup CPU controller), so that nodes have "
        "a size of their own rather than sharing this machine's cores (default: no cap)",
    )
    parser.add_argument(
        "--layer",
        type=int,
        choices=(4, 7),
        default=7,
        help="the seed's L7 (conf.d, default) or L4 (tcpconf.d) nginx configuration",
    )


def _bgp_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bgp",
        action="store_true",
        help="N active nodes behind a BIRD router announcing the VIP over BGP (ECMP), not the VRRP pair; "
        "--health native runs hapair node --bgp on them, else hapair proxy and hapair bgp",
    )
    parser.add_argument(
        "--nodes", type=int, default=3, metavar="N", help="with --bgp: 2 to 4 nodes (default 3)"
    )


def _guarded(run: Any) -> Any:
    """Run an action, turning a LabError into one line on stderr and exit status 1."""

    def guarded(args: argparse.Namespace) -> int:
        try:
            return int(run(args))
        except LabError as error:
            print(f"hapair lab: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("hapair lab: interrupted", file=sys.stderr)
            return INTERRUPTED

    return guarded


def _options(args: argparse.Namespace, config_dir: str | None = None) -> lab.LabOptions:
    return lab.LabOptions(
        name=args.name,
        config_dir=config_dir,
        layer=args.layer,
        keepalived_nodes=frozenset(args.with_keepalived),
        nginx_nodes=frozenset(args.with_nginx),
        health=args.health,
        node_cpu=args.node_cpu,
    )


def _say(line: str) -> None:
    print(line, flush=True)


def _up(args: argparse.Namespace) -> int:
    config_dir = str(Path(args.config_dir).resolve()) if args.config_dir else None
    if args.bgp:
        if config_dir is not None:
            raise LabError("--bgp runs hapair proxy on the seed's files: no --config-dir")
        _check_bgp(args)
        bgp.up(args.name, args.nodes, args.layer, _say, health=args.health, node_cpu=args.node_cpu)
    else:
        lab.up(_options(args, config_dir), _say)
    name = "" if args.name == DEFAULT_NAME else f" --name {args.name}"
    _say(f"lab {args.name} is up: hapair lab status{name}; hapair lab down{name} removes it")
    return 0


def _loaded(args: argparse.Namespace) -> LabState:
    lab.check_requirements()
    return LabState.load(Layout.named(args.name))


def _status(args: argparse.Namespace) -> int:
    state = _loaded(args)
    if state.mode == "bgp":
        _say(bgp.render(*bgp.gather(state)))
    else:
        _say(status.render(status.gather(state)))
    return 0


def _fail(args: argparse.Namespace) -> int:
    _say(faults.fail(_loaded(args), args.node, args.how))
    return 0


def _heal(args: argparse.Namespace) -> int:
    _say(faults.heal(_loaded(args), args.node))
    return 0


def _logs(args: argparse.Namespace) -> int:
    sys.stdout.write(log_text(_loaded(args), args.node, args.what))
    return 0


def _down(args: argparse.Namespace) -> int:
    if lab.down(args.name):
        _say(f"lab {args.name} removed")
    else:
        _say(f"no lab named {args.name}: nothing to remove")
    return 0


def _check_bgp(args: argparse.Namespace) -> None:
    if args.with_keepalived or args.with_nginx:
        raise LabError("--bgp runs hapair on every node: no --with-keepalived or --with-nginx")


def _demo(args: argparse.Namespace) -> int:
    if args.bgp:
        _check_bgp(args)
        return run_bgp_demo(args.name, args.nodes, args.layer, args.health, _say)
    return run_demo(_options(args), _say)


def _export(args: argparse.Namespace) -> int:
    for path in export_seed(Path(args.directory)):
        _say(str(path))
    return 0

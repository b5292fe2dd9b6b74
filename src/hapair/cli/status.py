"""`hapair status`: what the daemons running on this node say through their control sockets: every VRRP
instance (state, priorities, master, VIPs, tracked scripts, counters), the load balancer (workers,
listening addresses, upstream peers and their health checks, connections) and, in BGP mode (`hapair bgp`,
`hapair node --bgp`: their file's `control` socket), each VIP announced or not, why, since when and its
health sources; `--json` as JSON, `--follow` the VRRP state changes (in BGP mode, each VIP's
announcements and withdrawals) as JSON lines, in order, until the daemon stops. Without `--socket`, the
default sockets of the daemons that run."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from hapair.bgp.config import DEFAULT_CONTROL as BGP_SOCKET
from hapair.control.client import ControlError, follow, status
from hapair.control.protocol import PROXY_SOCKET, VRRP_SOCKET


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "status", help="what the daemons running here say: VRRP instances, their state and why"
    )
    parser.add_argument("--json", action="store_true", help="print the daemons' documents as JSON")
    parser.add_argument(
        "--follow", action="store_true", help="print state changes as JSON lines as they come"
    )
    parser.add_argument(
        "--socket",
        action="append",
        type=Path,
        metavar="PATH",
        help=f"a daemon's control socket (repeatable; default: those of {VRRP_SOCKET}, {PROXY_SOCKET}, "
        f"{BGP_SOCKET} there)",
    )
    parser.set_defaults(run=run)


def default_sockets(daemons: tuple[str, ...] = (VRRP_SOCKET, PROXY_SOCKET, BGP_SOCKET)) -> list[Path]:
    """The default sockets of `daemons` that exist (the VRRP one when none does: its error says no daemon
    runs)."""
    there = [Path(path) for path in daemons if Path(path).exists()]
    return there or [Path(VRRP_SOCKET)]


EVENTS = (VRRP_SOCKET, BGP_SOCKET)  # what `--follow` reads: the proxy has no state changes to stream


def run(args: argparse.Namespace) -> int:
    sockets: list[Path] = args.socket or default_sockets()
    try:
        if args.follow:
            for event in follow((args.socket or default_sockets(EVENTS))[0]):
                print(json.dumps(event, sort_keys=True), flush=True)
            return 0
        documents = [status(path) for path in sockets]
    except ControlError as error:
        print(f"hapair status: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps(documents if len(documents) > 1 else documents[0], indent=2, sort_keys=True))
    else:
        for document in documents:
            print("\n".join(describe(document)))
    return 0


def describe(document: dict[str, Any]) -> list[str]:
    """A daemon's document as lines for a terminal."""
    lines = [f"{document['daemon']} (pid {document['pid']}, {document['config']})"]
    if document["daemon"] == "proxy":
        return lines + describe_proxy(document)
    if document["daemon"] in ("bgp", "node --bgp"):
        return lines + describe_bgp(document)
    for instance in document.get("instances", []):
        master = instance["master"]
        lines.append(
            f"  {instance['name']}: {instance['state']} on {instance['interface']} vrid {instance['vrid']}, "
            f"priority {instance['effective_priority']} (base {instance['base_priority']}), "
            f"master {master['address'] or '-'} priority {master['priority']}"
        )
        held = "held" if instance["vips_held"] else "not held"
        lines.append(f"    VIPs {', '.join(instance['vips']) or '-'} ({held})")
        for name, state in instance["tracked_scripts"].items():
            lines.append(f"    script {name}: {state}")
        counters = instance["counters"]
        lines.append(
            f"    adverts sent {counters['advert_sent']}, received {counters['advert_rcvd']}, "
            f"became master {counters['become_master']}, released {counters['release_master']}"
        )
    return lines


def describe_proxy(document: dict[str, Any]) -> list[str]:
    lines = [f"  workers {', '.join(str(pid) for pid in document['workers']) or '-'}"]
    lines.append(f"  listening {', '.join(document['listening']) or '-'}")
    for upstream in document["upstreams"]:
        lines.append(f"  upstream {upstream['name']} ({upstream['block']})")
        for peer in upstream["peers"]:
            marks = [m for m, on in (("backup", peer["backup"]), ("down", peer["down"])) if on]
            if peer["health"] is not None:
                marks.append(f"health check: {peer['health']}")
            lines.append(f"    {peer['address']}" + (f" ({', '.join(marks)})" if marks else ""))
    connections = document["connections"]
    if connections is not None:
        gauges = ", ".join(f"{name} {connections[name]}" for name in ("reading", "writing", "waiting"))
        totals = ", ".join(f"{name} {connections[name]}" for name in ("accepted", "requests"))
        lines.append(f"  connections active {connections['active']} ({gauges}), {totals}")
    return lines


def describe_bgp(document: dict[str, Any]) -> list[str]:
    """Each VIP: announced or withdrawn, since when (local time), why; then its sources."""
    lines = []
    for vip in document["vips"]:
        since = datetime.fromtimestamp(vip["since"]).isoformat(timespec="milliseconds")
        state = "announced" if vip["announced"] else "withdrawn"
        lines.append(f"  {vip['vip']}: {state} since {since}: {vip['why']}")
        for name, source in vip["sources"].items():
            up = {True: "up", False: "down", None: "not decided yet"}[source["up"]]
            lines.append(f"    source {name}: {up} ({source['detail']})")
    return lines

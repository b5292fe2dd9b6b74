"""`hapair status`: what the daemons running on this node say through their control sockets: every VRRP
instance (state, priorities, master, VIPs, tracked scripts, counters); `--json` as JSON, `--follow` the
state changes as JSON lines, in order, until the daemon stops."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hapair.control.client import ControlError, follow, status
from hapair.control.protocol import VRRP_SOCKET


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
        help=f"a daemon's control socket (repeatable; default {VRRP_SOCKET})",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sockets: list[Path] = args.socket or [Path(VRRP_SOCKET)]
    try:
        if args.follow:
            for event in follow(sockets[0]):
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

"""`hapair lab status`: each node's VRRP state and effective priority (from the daemon's keepalived.json,
which both hapair vrrp and keepalived write on SIGRTMIN+2), whether it holds the VIP (its interface's
addresses), and whether its proxy answers the client (a request from the client's namespace)."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from . import client, network
from .layout import ADDRESSES, node_role
from .processes import POLL_S
from .state import LabState

JSON_TIMEOUT_S = 2.0
DUMP_SIGNAL = signal.SIGRTMIN + 2
VRRP_STATES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"}
COLUMNS = ("node", "address", "vrrp", "state", "priority", "VIP", "proxy", "proxy answers", "health", "fault")
TRACKER_LINE = "hapair tracker "


@dataclass(frozen=True)
class NodeStatus:
    """One row of the table."""

    node: int
    address: str
    vrrp: str
    state: str
    priority: int | None
    vips: tuple[str, ...]
    proxy: str
    proxy_answers: str
    health: str
    fault: str | None


def gather(state: LabState) -> list[NodeStatus]:
    return [_node_status(state, number) for number in sorted(state.nodes)]


def _node_status(state: LabState, number: int) -> NodeStatus:
    record = state.node(number)
    role = node_role(number)
    vrrp_state, priority = "stopped", None
    if record.vrrp is not None and record.vrrp.running():
        vrrp_state, priority = _vrrp_view(record.vrrp.pid, state.node_directory(number) / "tmp")
    own = ADDRESSES[role]
    vips = tuple(a for a in network.addresses(state.layout.namespace(role)) if a != own)
    return NodeStatus(
        node=number,
        address=own,
        vrrp="hapair node" if record.native else _program(record.vrrp_program, "vrrp"),
        state=vrrp_state,
        priority=priority,
        vips=vips,
        proxy="(its child)" if record.native else _program(record.proxy_program, "proxy"),
        proxy_answers=_proxy_answers(state, own),
        health=_health(state, number),
        fault=record.fault,
    )


def _program(program: str, part: str) -> str:
    return f"hapair {part}" if program == "hapair" else program


def _health(state: LabState, number: int) -> str:
    """What tracks the proxy: the seed's check script, or `hapair node`'s trackers as its log last said
    (each starts up)."""
    if not state.node(number).native:
        return "check_nginx.sh"
    trackers = {"proxy": "up", "proxy_serving": "up", "backends": "up"}
    log = state.node_directory(number) / "log" / "vrrp.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    for line in text.splitlines():
        _, found, rest = line.partition(TRACKER_LINE)
        name, _, verdict = rest.partition(" is ")
        if found and name in trackers:
            trackers[name] = verdict.strip()
    return " ".join(f"{name}:{verdict}" for name, verdict in trackers.items())


def _vrrp_view(pid: int, tmp: Path) -> tuple[str, int | None]:
    """(state, effective priority) of the first VRRP instance, from the keepalived.json the daemon writes
    on SIGRTMIN+2; ("no answer", None) if it writes none in time."""
    if not _catches(pid, DUMP_SIGNAL):
        return "starting", None  # the signal's default action would end it
    path = tmp / "keepalived.json"
    before = path.stat().st_mtime_ns if path.exists() else 0
    signal_time = time.monotonic()
    try:
        os.kill(pid, DUMP_SIGNAL)
    except ProcessLookupError:
        return "stopped", None
    while time.monotonic() - signal_time < JSON_TIMEOUT_S:
        if path.exists() and path.stat().st_mtime_ns != before:
            try:
                instance = json.loads(path.read_text())[0]["data"]
            except (ValueError, IndexError, KeyError):
                time.sleep(POLL_S)  # caught half-written
                continue
            return VRRP_STATES.get(instance["state"], str(instance["state"])), int(
                instance["effective_priority"]
            )
        time.sleep(POLL_S)
    return "no answer", None


def _catches(pid: int, signum: int) -> bool:
    """Whether the process handles `signum`: it has a handler, or blocks it to read it from a signalfd
    (as keepalived does); /proc/PID/status's SigCgt and SigBlk."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    masks = [
        int(line.split()[1], 16) for line in text.splitlines() if line.startswith(("SigCgt:", "SigBlk:"))
    ]
    return any(mask >> (signum - 1) & 1 for mask in masks)


def _proxy_answers(state: LabState, address: str) -> str:
    answer = network.run_in(state.layout.namespace("client"), lambda: client.ask(address))
    if answer.ok:
        return "yes"
    return f"no ({answer.error})"


def render(rows: list[NodeStatus]) -> str:
    """The status table, columns aligned."""
    cells = [list(COLUMNS)]
    for row in rows:
        cells.append(
            [
                str(row.node),
                row.address,
                row.vrrp,
                row.state,
                "-" if row.priority is None else str(row.priority),
                ", ".join(row.vips) or "-",
                row.proxy,
                row.proxy_answers,
                row.health,
                row.fault or "-",
            ]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )

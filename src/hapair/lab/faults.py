"""`hapair lab fail NODE --how ...` and `hapair lab heal NODE`: the seed's "Simulate a failure" (stop the
master's keepalived) and a few more ways for a node to fail, and their undoing. Under `hapair node`
(`--health native`) a killed proxy is restarted by the node itself; `heal` continues a hung one.

The BGP lab has its own meaning for each (BGP_FAULTS): `stop` and `kill` are its announcer's stop and its
BGP speaker's crash; `proxy-hang` needs `--health native` (hapair bgp's own probes cannot see it)."""

from __future__ import annotations

import contextlib
import os
import signal

from . import network
from .bgp import run_hapair_bgp
from .errors import LabError
from .layout import node_role
from .nodes import Node
from .processes import parent
from .state import LabState

FAULTS = {
    "stop": "VRRP daemon stopped by SIGTERM, as the seed's `systemctl stop keepalived` (a master hands over)",
    "kill": "VRRP daemon killed by SIGKILL, a crash: no hand-over, the backup takes over after 3 s silence",
    "link": "cable pulled: the node's bridge port is down, so its interface loses carrier",
    "proxy": "its nginx (the proxy) stopped by SIGTERM: check_nginx.sh's `pidof nginx` fails, FAULT follows",
    "proxy-kill": "its proxy's master and workers killed by SIGKILL (a crash)",
    "proxy-hang": "its proxy's master and workers stopped by SIGSTOP: still there, serving nothing",
    "backends": "its path to the backends cut: connections to them fail",
}
BGP_FAULTS = {
    "stop": "its announcer stopped by SIGTERM: it withdraws the VIP before it exits",
    "kill": "its BGP speaker (BIRD) killed by SIGKILL, a crash: the router drops its session and routes",
    "link": FAULTS["link"] + ": the router notices by BFD",
    "proxy-kill": "the proxy and its workers killed by SIGKILL: the VIP withdrawn",
    "proxy-hang": "the proxy and its workers stopped by SIGSTOP: the worker health exchange withdraws",
    "backends": FAULTS["backends"] + ": the VIP withdrawn",
    "drain": "hapair bgp drain: the VIP withdrawn, then the proxy stopped once its connections end",
}
HANG_NEEDS_NATIVE = (
    "proxy-hang needs the BGP lab's --health native: hapair bgp's own probes (the pid file, a TCP connect) "
    "do not see a stopped proxy, whose listening sockets the kernel still answers"
)


def fail(state: LabState, number: int, how: str) -> str:
    """Inject fault `how` on node `number`; what it did."""
    record = state.node(number)
    if record.fault is not None:
        raise LabError(f"node {number} already has a fault ({record.fault}); hapair lab heal {number} first")
    node = Node(state, number)
    if state.mode == "bgp":
        done = _fail_bgp(state, node, how)
        record.fault = how
        state.save()
        return f"node {number}: {done}"
    if how == "stop":
        node.stop_vrrp()
    elif how == "kill":
        node.kill_vrrp()
    elif how == "link":
        network.set_cable(state.layout, node_role(number), plugged=False)
    elif how == "proxy":
        node.stop_proxy()
    elif how == "proxy-kill":
        _signal_proxy(node, signal.SIGKILL)
    elif how == "proxy-hang":
        _signal_proxy(node, signal.SIGSTOP)
    elif how == "backends":
        network.set_backend_path(state.layout, node_role(number), cut=True)
    else:
        raise LabError(f"unknown fault {how!r} (one of {', '.join(FAULTS)})")
    record.fault = how
    state.save()
    return f"node {number}: {FAULTS[how]}"


def _signal_proxy(node: Node, signum: int) -> None:
    processes = node.proxy_processes()
    if not processes:
        raise LabError(f"node {node.number}: its proxy is not running")
    for process in processes:
        process.signal(signum)


def _fail_bgp(state: LabState, node: Node, how: str) -> str:
    if how not in BGP_FAULTS:
        raise LabError(f"the BGP lab's faults are {', '.join(BGP_FAULTS)}, not {how!r}")
    if how == "proxy-hang" and not node.record.native:
        raise LabError(HANG_NEEDS_NATIVE)
    if how == "drain":
        lines = run_hapair_bgp(state, node.number, "drain")
        node.record.proxy = None
        return "; ".join(lines)
    if how == "stop":
        node.stop_announcer()
    elif how == "kill":
        node.kill_bird()
    elif how == "link":
        network.set_cable(state.layout, node_role(node.number), plugged=False)
    elif how == "proxy-kill":
        _signal_proxy(node, signal.SIGKILL)
        node.record.proxy = None
    elif how == "proxy-hang":
        _signal_proxy(node, signal.SIGSTOP)
    else:
        network.set_backend_path(state.layout, node_role(node.number), cut=True)
    return BGP_FAULTS[how]


def heal(state: LabState, number: int) -> str:
    """Undo whatever is wrong with node `number`: cable back, proxy and VRRP daemon running again."""
    record = state.node(number)
    node = Node(state, number)
    done = []
    stopped = node.proxy_processes()
    if record.fault == "proxy-hang" and stopped:
        # nsenter, which started it, stopped itself too (it mirrors its child's stops): it goes on first
        wrapper = parent(stopped[0].pid)
        for pid in [*([wrapper] if wrapper is not None else []), *(p.pid for p in stopped)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        done.append("proxy continued")
    if network.backend_path_cut(state.layout, node_role(number)):
        network.set_backend_path(state.layout, node_role(number), cut=False)
        done.append("path to the backends restored")
    if not network.cable_plugged(state.layout, node_role(number)):
        network.set_cable(state.layout, node_role(number), plugged=True)
        done.append("cable plugged back")
    if state.mode == "bgp":
        done += _heal_bgp(node)
    else:
        done += _heal_pair(node)
    record.fault = None
    state.save()
    return f"node {number}: " + (", ".join(done) if done else "nothing to heal")


def _heal_pair(node: Node) -> list[str]:
    record = node.record
    done = []
    if not record.native and (record.proxy is None or not record.proxy.running()):
        node.start_proxy()
        done.append("proxy started")
    if record.vrrp is None or not record.vrrp.running():
        node.start_vrrp()
        done.append("VRRP daemon started")
    return done


def _heal_bgp(node: Node) -> list[str]:
    """The BGP lab's node: its speaker, its proxy (hapair node restarts its own), its announcer."""
    record = node.record
    done = []
    if record.bird is None or not record.bird.running():
        node.start_bird()
        done.append("BIRD started")
    announcer = node.announcer
    if announcer is None or not announcer.running():
        node.start_announcer()
        done.append(f"{node.announcer_name} started")
    elif not record.native and (record.proxy is None or not record.proxy.running()):
        node.start_proxy()
        done.append("proxy started")
    if record.fault == "drain":
        run_hapair_bgp(node.state, node.number, "undrain")
        done.append("undrained")
    return done

"""Bringing a lab up and taking it down: the checks first, then the LAN, the backend and the two nodes,
each recorded in the state directory as soon as it exists; `down` undoes whatever the state names, so it
also cleans a half-built lab, and does nothing on a lab that is not there."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import configs, cpu, network
from .errors import LabError
from .layout import ADDRESSES, NODES, Layout, node_role
from .nodes import Node, missing_program
from .processes import (
    ProcessId,
    identified,
    signals_deferred,
    signals_ignored,
    sigterm_interrupts,
    stop,
    wait_gone,
)
from .state import LabState, NodeState

REQUIRED = {"nsenter": "util-linux", "unshare": "util-linux", "useradd": "passwd", "sh": "dash"}
STOP_TIMEOUT_S = 5


@dataclass(frozen=True)
class LabOptions:
    """What `up` builds: the lab's name, the configuration directory (None: the seed's), the nginx layer
    (7: conf.d, 4: tcpconf.d) and the nodes that run the real keepalived or nginx."""

    name: str
    config_dir: str | None = None
    layer: int = 7
    keepalived_nodes: frozenset[int] = field(default_factory=frozenset)
    nginx_nodes: frozenset[int] = field(default_factory=frozenset)
    health: str = "script"  # "native": `hapair node` on the nodes that run hapair for both parts
    node_cpu: float | None = None  # each node capped at this many CPUs (lab/cpu.py)

    def native(self, node: int) -> bool:
        hapair_only = node not in self.keepalived_nodes | self.nginx_nodes
        return self.health == "native" and hapair_only


def check_requirements(euid: int | None = None) -> None:
    """Raise LabError naming the first thing missing: root, or a program the lab runs."""
    if (os.geteuid() if euid is None else euid) != 0:
        raise LabError("hapair lab needs root: it builds network namespaces (run it with sudo)")
    for program, package in REQUIRED.items():
        if shutil.which(program) is None:
            raise LabError(f"hapair lab needs {program} (Debian package {package})")


def check_options(options: LabOptions) -> Layout:
    layout = Layout.named(options.name)
    for node in sorted(options.keepalived_nodes | options.nginx_nodes):
        if node not in NODES:
            raise LabError(f"no node {node}: the lab's nodes are 1 and 2")
    for program, nodes in (("keepalived", options.keepalived_nodes), ("nginx", options.nginx_nodes)):
        reason = missing_program(program) if nodes else None
        if reason:
            raise LabError(reason)
    for node in NODES:
        configs.config_text(options.config_dir, f"{node_role(node)}/keepalived.conf")
    configs.config_text(options.config_dir, "check_nginx.sh")
    configs.nginx_files(options.config_dir, options.layer, layout.directory)
    if options.node_cpu is not None:
        cpu.check(options.node_cpu)
    return layout


def up(options: LabOptions, report: Callable[[str], None]) -> LabState:
    """Build the lab; on any failure or interruption (Ctrl-C or SIGTERM), remove what was built and
    re-raise."""
    check_requirements()
    layout = check_options(options)
    if layout.directory.exists():
        raise LabError(f"a lab named {layout.name} is already up ({layout.directory}); take it down first")
    taken = network.existing(layout.all_namespaces())
    if taken:
        raise LabError(f"network namespaces already exist: {', '.join(taken)}; choose another --name")
    state = LabState(
        name=options.name,
        namespaces=layout.all_namespaces(),
        layer=options.layer,
        config_dir=options.config_dir,
        node_cpu=options.node_cpu,
        nodes={
            n: NodeState(
                n,
                vrrp_program="keepalived" if n in options.keepalived_nodes else "hapair",
                proxy_program="nginx" if n in options.nginx_nodes else "hapair",
                native=options.native(n),
            )
            for n in NODES
        },
    )
    try:
        with sigterm_interrupts():
            state.save()  # before anything exists: `down` then knows what to look for
            _build(state, report)
    except BaseException:
        with signals_ignored():
            down_state(state)
        raise
    return state


def _build(state: LabState, report: Callable[[str], None]) -> None:
    layout = state.layout
    certificates = configs.make_certificates(state.directory / "certs")
    network.create_bridge(layout)
    for role in ADDRESSES:
        network.attach_host(layout, role)
    report(
        f"LAN 10.101.1.0/24 in namespaces {layout.namespace('*')}: "
        + ", ".join(f"{role} {address}" for role, address in ADDRESSES.items())
    )
    start_backend(state, certificates["k8sapiserver"])
    for number in NODES:
        node = Node(state, number)
        node.write_files(certificates)
        node.start_holder()
        node.start_proxy()
        node.start_vrrp()
        record = node.record
        report(f"node {number}: {_programs(record)} started (logs: hapair lab logs {number})")


def _programs(record: NodeState) -> str:
    if record.native:
        return "hapair node (VRRP and proxy, native health tracking)"
    vrrp = _program_name(record.vrrp_program, "vrrp")
    return f"{vrrp} and {_program_name(record.proxy_program, 'proxy')}"


def _program_name(program: str, part: str) -> str:
    return f"hapair {part}" if program == "hapair" else program


def start_backend(state: LabState, pair: tuple[Path, Path]) -> None:
    log = state.directory / "web.log"
    command = [
        "nsenter",
        f"--net=/run/netns/{state.layout.namespace('web')}",
        sys.executable,
        "-m",
        "hapair.lab.backend",
        str(pair[0]),
        str(pair[1]),
    ]
    with signals_deferred(), open(log, "ab") as output:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        state.backend = ProcessId.of(process.pid)
        state.save()


def down(name: str) -> bool:
    """Remove the lab `name`; whether there was one."""
    check_requirements()
    layout = Layout.named(name)
    try:
        state = LabState.load(layout)
    except LabError:
        leftover = network.existing(layout.all_namespaces())
        if leftover:
            raise LabError(
                f"no state for lab {name} in {layout.directory}, but namespaces {', '.join(leftover)} "
                "exist: not removed, as hapair did not record them"
            ) from None
        return False
    down_state(state)
    return True


def down_state(state: LabState) -> None:
    """Stop every recorded process, then any process still in the lab's namespaces (one started by an
    `up` that was killed before it could record it), delete the namespaces and the state directory."""
    for number in state.nodes:
        node = Node(state, number)
        node.stop_vrrp()
        node.stop_proxy()
    for number in state.nodes:
        Node(state, number).stop_all()
    if state.backend is not None:
        stop(state.backend, STOP_TIMEOUT_S)
    strays = identified(network.pids_in(state.namespaces))
    for process in strays:
        process.signal(signal.SIGKILL)
    if not wait_gone(strays, STOP_TIMEOUT_S):
        raise LabError(
            f"processes in the lab's namespaces would not end: {[p.pid for p in strays if p.running()]}"
        )
    network.remove(state.namespaces)
    for number in state.nodes:
        cpu.remove(state.node_cgroup(number))
    shutil.rmtree(state.directory, ignore_errors=True)

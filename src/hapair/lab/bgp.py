"""`hapair lab up --bgp --nodes N`: N active nodes behind one VIP announced over BGP (docs/bgp.md).

The plan: a router namespace running BIRD, on the LAN 10.101.1.0/24 at .1 (the bridge, as in the pair
lab) and on the client's own link 10.101.2.0/24; nodes 1..N at 10.101.1.11.., each with the VIP
10.101.10.10 on its loopback, its proxy (the seed's nginx files), its BIRD and its `hapair bgp`, which puts
the VIP's /32 in the kernel table BIRD announces from while the proxy is healthy (with `--health
native`, `hapair node --bgp` in place of both: the proxy its child, the VIP following its native
trackers); the backend web server at .104. The router (AS 65000) takes each node (AS 65001) as an eBGP
neighbour with BFD and 3 s hold timers, and BIRD merges the equal routes into one kernel route with a
next-hop per node; the kernel hashes flows over them on their addresses, ports and protocol, so the
client's many source ports spread over the nodes. The hash is the custom policy (3) on those five fields,
not the L4 policy (1): for a forwarded packet, policy 1 takes the hash the packet already carries, and a
veth carries the client socket's own, which is random and changes when TCP retransmits after a timeout,
so flows would be placed at random and move by themselves (a real router hashes the 5-tuple).

The router pins each flow to the next-hop it started on, so that a drained node keeps its established
flows until they end while new flows follow BIRD's ECMP route (docs/bgp.md, "A drain that loses
nothing"): nftables marks a flow's conntrack entry with its node's number from the route's next-hop on its
first forwarded packet and copies that mark onto the flow's later packets, and an `ip rule` per node sends
marked packets to a table of that node's own, which holds `VIP/32 via NODE` while the router's BFD session
with the node is up (a BIRD static route with `bfd`, exported to the kernel): a flow pinned to a node that
died falls back to the ECMP route, where another node answers it with a reset, as without pinning."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute

from . import configs, cpu, lab, network
from .errors import LabError
from .layout import Layout, node_role
from .nodes import BIRD_PRIORITY, Node
from .processes import ProcessId, signals_deferred, signals_ignored, sigterm_interrupts
from .state import LabState, NodeState

VIP = "10.101.10.10"
ROUTER_LAN = "10.101.1.1"
ROUTER_CLIENT_SIDE = "10.101.2.1"
CLIENT = "10.101.2.100"
WEB = "10.101.1.104"
ROUTER_AS = 65000
NODE_AS = 65001
TABLE = 200
NODE_COUNTS = range(2, 5)
PORTS = {7: (8080, 8443), 4: (8080,)}  # the seed's listeners at each layer
HOLD_TIME_S = 3
BFD_INTERVAL_MS = 100
BFD_MULTIPLIER = 3
HASH_FIELDS = "0x0037"  # source and destination address, protocol, source and destination port
PIN_TABLES = 100  # the router's kernel table of node N's pinned flows is PIN_TABLES + N, their mark N
PIN_RULE_PRIORITY = 100  # the `ip rule`s for the marks, before the main table's (32766)


def node_address(number: int) -> str:
    return f"10.101.1.{10 + number}"


def namespaces(layout: Layout, count: int) -> list[str]:
    roles = ["router", "client", "web", *(node_role(n) for n in range(1, count + 1))]
    return [layout.bridge_namespace, *(layout.namespace(role) for role in roles)]


def up(
    name: str,
    count: int,
    layer: int,
    report: Callable[[str], None],
    *,
    health: str = "script",
    node_cpu: float | None = None,
) -> LabState:
    """Build the BGP lab (`health` "native": hapair node --bgp on the nodes; `node_cpu`: each node capped
    at that many CPUs); on any failure or interruption, remove what was built and re-raise."""
    lab.check_requirements()
    if shutil.which("bird") is None:
        raise LabError("--bgp needs BIRD (apt-get install bird2)")
    if shutil.which("nft") is None:
        raise LabError("--bgp needs nft for the router's flow pinning (apt-get install nftables)")
    if count not in NODE_COUNTS:
        raise LabError(f"--nodes {count}: the BGP lab has 2 to 4 nodes")
    if node_cpu is not None:
        cpu.check(node_cpu)
    layout = Layout.named(name)
    if layout.directory.exists():
        raise LabError(f"a lab named {name} is already up ({layout.directory}); take it down first")
    taken = network.existing(namespaces(layout, count))
    if taken:
        raise LabError(f"network namespaces already exist: {', '.join(taken)}; choose another --name")
    state = LabState(
        name=name,
        namespaces=namespaces(layout, count),
        layer=layer,
        mode="bgp",
        node_cpu=node_cpu,
        nodes={n: NodeState(n, native=health == "native") for n in range(1, count + 1)},
    )
    try:
        with sigterm_interrupts():
            state.save()
            _build(state, report)
    except BaseException:
        with signals_ignored():
            lab.down_state(state)
        raise
    return state


def _build(state: LabState, report: Callable[[str], None]) -> None:
    layout = state.layout
    certificates = configs.make_certificates(state.directory / "certs")
    network.create_bridge(layout)
    network.attach_host(layout, "router", ROUTER_LAN)
    network.attach_host(layout, "web", WEB)
    network.create_namespace(layout.namespace("client"))
    network.link_namespaces(
        (
            (layout.namespace("router"), "client", ROUTER_CLIENT_SIDE),
            (layout.namespace("client"), "enp1s0f0", CLIENT),
        )
    )
    network.add_default_route(layout.namespace("client"), ROUTER_CLIENT_SIDE)
    router = layout.namespace("router")
    network.set_sysctl(router, "net.ipv4.ip_forward", "1")
    network.set_sysctl(router, "net.ipv4.fib_multipath_hash_fields", HASH_FIELDS)
    network.set_sysctl(router, "net.ipv4.fib_multipath_hash_policy", "3")
    for number in state.nodes:
        namespace = layout.namespace(node_role(number))
        network.attach_host(layout, node_role(number), node_address(number))
        network.add_default_route(namespace, ROUTER_LAN)
        network.add_loopback_address(namespace, VIP)
    report(
        f"router {ROUTER_LAN} (AS {ROUTER_AS}, BIRD), client {CLIENT} behind it, web {WEB}, "
        f"nodes {', '.join(node_address(n) for n in state.nodes)} (AS {NODE_AS}), VIP {VIP}"
    )
    lab.start_backend(state, certificates["k8sapiserver"])
    _pin_flows(state)
    _start_router(state)
    for number in state.nodes:
        node = Node(state, number)
        node.write_files(certificates)
        (node.directory / "bird.conf").write_text(node_bird_conf(number, node.logs / "bird.log"))
        (node.directory / "bgp.conf").write_text(
            node_bgp_conf(node.directory, state.layer, node.record.native)
        )
        node.start_holder()
        node.start_bird()
        if node.record.native:
            node.start_vrrp()
            started = "BIRD and hapair node --bgp (the proxy its child, native health)"
        else:
            node.start_proxy()
            node.start_announcer()
            started = "hapair proxy, BIRD and hapair bgp"
        report(f"node {number}: {started} started (logs: hapair lab logs {number})")


def _start_router(state: LabState) -> None:
    directory = state.directory / "router"
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "bird.conf"
    conf.write_text(router_bird_conf(sorted(state.nodes), directory / "bird.log"))
    command = [
        "nsenter",
        f"--net=/run/netns/{state.layout.namespace('router')}",
        *BIRD_PRIORITY,
        "bird",
        "-f",
        "-c",
        str(conf),
        "-s",
        str(directory / "bird.ctl"),
        "-P",
        str(directory / "bird.pid"),
    ]
    with signals_deferred(), open(directory / "bird.out", "ab") as output:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        state.router = ProcessId.of(process.pid)
        state.save()


def _pin_flows(state: LabState) -> None:
    """The router's flow pinning (see the module's docstring): the nftables rules, and a rule per node
    from its mark to its table (BIRD fills the tables)."""
    router = state.layout.namespace("router")
    rules = state.directory / "router" / "pinning.nft"
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(pinning_rules(sorted(state.nodes)))
    result = subprocess.run(
        ["nsenter", f"--net=/run/netns/{router}", "nft", "-f", str(rules)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise LabError(f"the router's nftables rules: {result.stderr.strip()}")
    with IPRoute(netns=router) as ipr:
        for number in state.nodes:
            ipr.rule("add", fwmark=number, table=PIN_TABLES + number, priority=PIN_RULE_PRIORITY + number)


def pinning_rules(nodes: list[int]) -> str:
    """nftables: a flow to the VIP takes, on its first forwarded packet, the number of the node its
    route's next-hop is (conntrack mark); each later packet of the flow carries that mark before routing,
    so that the node's `ip rule` routes it. A connection's first SYN unpins its conntrack entry first:
    conntrack reopens an entry a reset closed when a SYN comes on the same ports, and a client that reuses
    a port within the entry's 10 s would otherwise be sent to the node that reset it, withdrawn or not."""
    marks = ", ".join(f"{node_address(n)} : {n}" for n in nodes)
    return f"""table ip hapair_pinning {{
    chain prerouting {{
        type filter hook prerouting priority mangle; policy accept;
        ip daddr {VIP} tcp flags & (syn | ack) == syn ct mark set 0
        ip daddr {VIP} meta mark set ct mark
    }}
    chain forward {{
        type filter hook forward priority mangle; policy accept;
        ip daddr {VIP} ct mark 0 ct mark set rt ip nexthop map {{ {marks} }}
    }}
}}
"""


def router_bird_conf(nodes: list[int], log: Path) -> str:
    """The router: one eBGP session with BFD per node, their equal VIP routes merged into one multipath
    kernel route; and per node, the table of its pinned flows: `VIP/32 via NODE` while BFD says the node
    is there, whether or not it announces the VIP."""
    sessions = "".join(
        f"protocol bgp node{n} from nodes {{ neighbor {node_address(n)} as {NODE_AS}; }}\n" for n in nodes
    )
    pinned = "".join(
        f"""ipv4 table pinned{n};
protocol static pin{n} {{ ipv4 {{ table pinned{n}; }}; route {VIP}/32 via {node_address(n)} bfd; }}
protocol kernel pin{n}_kernel {{ kernel table {PIN_TABLES + n}; ipv4 {{ table pinned{n}; export all; }}; }}
"""
        for n in nodes
    )
    return f"""log "{log}" all;
router id {ROUTER_LAN};
protocol device {{ scan time 10; }}
protocol kernel {{
    ipv4 {{ import none; export all; }};
    merge paths yes limit 16;
}}
protocol bfd {{
    interface "enp1s0f0" {{
        min rx interval {BFD_INTERVAL_MS} ms; min tx interval {BFD_INTERVAL_MS} ms;
        multiplier {BFD_MULTIPLIER};
    }};
}}
template bgp nodes {{
    local {ROUTER_LAN} as {ROUTER_AS};
    hold time {HOLD_TIME_S}; keepalive time 1; connect retry time 1; error wait time 1, 5;
    bfd on;
    ipv4 {{ import all; export none; }};
}}
{sessions}{pinned}"""


def node_bird_conf(number: int, log: Path) -> str:
    """A node: what `hapair bgp` puts in kernel table TABLE, learned and announced to the router."""
    return f"""log "{log}" all;
router id {node_address(number)};
protocol device {{ scan time 10; }}
protocol kernel hapair_vips {{
    kernel table {TABLE};
    learn;
    scan time 10;
    ipv4 {{ import all; export none; }};
}}
protocol bfd {{
    interface "enp1s0f0" {{
        min rx interval {BFD_INTERVAL_MS} ms; min tx interval {BFD_INTERVAL_MS} ms;
        multiplier {BFD_MULTIPLIER};
    }};
}}
protocol bgp uplink {{
    local {node_address(number)} as {NODE_AS};
    neighbor {ROUTER_LAN} as {ROUTER_AS};
    hold time {HOLD_TIME_S}; keepalive time 1; connect retry time 1; error wait time 1, 5;
    bfd on;
    ipv4 {{ import none; export where proto = "hapair_vips"; next hop self; }};
}}
"""


def node_bgp_conf(directory: Path, layer: int, native: bool) -> str:
    """hapair bgp's file; under hapair node (`native`), without the directives of hapair bgp's probes."""
    common = f"speaker bird table {TABLE}\ndrain_settle 500ms\ncontrol {directory / 'bgp.sock'}\n"
    if native:
        return f"# hapair node --bgp on this lab node (docs/bgp.md)\n{common}vip {VIP}\n"
    backends = " ".join(f"{WEB}:{port}" for port in PORTS[layer])
    return f"""# hapair bgp on this lab node (docs/bgp.md)
{common}proxy_pid {directory / configs.PID_FILE}
interval 100ms
rise 3
fall 2
backends {backends}
vip {VIP} ports {" ".join(str(p) for p in PORTS[layer])}
"""


def run_hapair_bgp(state: LabState, number: int, action: str) -> list[str]:
    """`hapair bgp ACTION` against node `number`'s announcer; its output lines."""
    conf = state.node_directory(number) / "bgp.conf"
    result = subprocess.run(
        [sys.executable, "-m", "hapair", "bgp", "-c", str(conf), action],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise LabError(
            f"node {number}: hapair bgp {action}: {result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout.splitlines()


@dataclass(frozen=True)
class BgpNodeStatus:
    """One node of the BGP lab: its proxy, what its announcer says and its BGP session."""

    node: int
    address: str
    proxy: str
    announcement: str
    session: str
    fault: str | None


def gather(state: LabState) -> tuple[list[BgpNodeStatus], list[str]]:
    """Each node's row, and the router's next-hops for the VIP."""
    rows = [_node_status(state, number) for number in sorted(state.nodes)]
    return rows, network.nexthops(state.layout.namespace("router"), VIP)


def _node_status(state: LabState, number: int) -> BgpNodeStatus:
    record = state.node(number)
    node = Node(state, number)
    running = bool(node.proxy_processes())
    announcer = node.announcer is not None and node.announcer.running()
    return BgpNodeStatus(
        node=number,
        address=node_address(number),
        proxy="running" if running else "stopped",
        announcement=_announcement(state, number) if announcer else f"{node.announcer_name} not running",
        session=_session(state.directory / "router" / "bird.ctl", f"node{number}"),
        fault=record.fault,
    )


def _announcement(state: LabState, number: int) -> str:
    try:
        lines = run_hapair_bgp(state, number, "status")
    except LabError as error:
        return str(error)
    return "; ".join(line.split(" ", 1)[1] for line in lines)


def _session(control: Path, protocol: str) -> str:
    """The router's BGP session with a node, as `birdc show protocols` puts it (Established, Active...)."""
    result = subprocess.run(
        ["birdc", "-s", str(control), "show", "protocols", protocol],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    for line in result.stdout.splitlines():
        words = line.split()
        if words and words[0] == protocol:
            return words[-1] if len(words) >= 6 else " ".join(words[3:])
    return "unknown"


def render(rows: list[BgpNodeStatus], hops: list[str]) -> str:
    columns = ("node", "address", "proxy", "announcement (hapair bgp)", "router's session", "fault")
    cells = [list(columns)]
    for row in rows:
        cells.append([str(row.node), row.address, row.proxy, row.announcement, row.session, row.fault or "-"])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    table = "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )
    return f"{table}\nrouter: {VIP}/32 via {', '.join(hops) if hops else 'no route'}"

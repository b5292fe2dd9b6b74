"""Mixed VRRP pairs: one node runs hapair, the other the real keepalived 2.2.7, on a `tests.topology` LAN.
Their keepalived.conf, a `Node` that can be started again after a stop (each run logging to its own file),
and partitions that keep the carrier up (keepalived would enter FAULT on a lost carrier, not MASTER): a
node's bridge port is disabled (nothing in or out), or the node is made deaf (the bridge floods no
multicast, hence no VRRP advert, to it, while the others still hear it), or VRRP alone is dropped on the
way to it (ARP still passes, as behind a firewall that drops protocol 112). A client on the LAN can watch
the adverts (tests/system/vrrp_sniffer.py)."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from tests.topology import HAPAIR, Daemon, Host, Lan

KEEPALIVED = "/usr/sbin/keepalived"
VIP = "10.101.1.10"
LOW_ADDRESS = "10.101.1.11"
HIGH_ADDRESS = "10.101.1.12"
CLIENT_ADDRESS = "10.101.1.100"
SNIFFER = Path(__file__).resolve().with_name("vrrp_sniffer.py")
VRID = 51
HIGH_PRIORITY = 250
LOW_PRIORITY = 100
INSTANCE = "VI_1"
# Log texts (keepalived's, after the console time stamp)
INIT = f"({INSTANCE}) Entering BACKUP STATE (init)"
MASTER = f"({INSTANCE}) Entering MASTER STATE"
BACKUP = f"({INSTANCE}) Entering BACKUP STATE"
# What either implementation logs when it refuses a packet or disagrees with its peer
COMPLAINTS = ("discarding", "mismatch", "checksum", "invalid", "unexpected", "expect", "not present", "error")


class Implementation(Enum):
    HAPAIR = "hapair"
    KEEPALIVED = "keepalived"


@dataclass(frozen=True)
class Protocol:
    """The VRRP version the pair speaks, its advert interval (seconds) and its password (v2), with PASS or
    AH authentication."""

    version: int
    advert_int: float
    password: str | None = None
    auth_type: str = "PASS"

    @property
    def name(self) -> str:
        return f"v{self.version}" + (f"-{self.auth_type.lower()}" if self.password else "")

    def skew(self, priority: int) -> float:
        """Skew_Time in seconds for a backup of `priority`."""
        return (256 - priority) * self.advert_int / 256

    def master_down(self, priority: int) -> float:
        """Master_Down_Interval in seconds for a backup of `priority` (3 adverts + skew)."""
        return 3 * self.advert_int + self.skew(priority)


V2_PASS = Protocol(version=2, advert_int=1.0, password="mixed-pw")
V3 = Protocol(version=3, advert_int=0.5)
V2_AH = Protocol(version=2, advert_int=1.0, password="mixed-ah", auth_type="AH")


def keepalived_conf(
    protocol: Protocol, priority: int, password: str | None = None, state: str = "BACKUP"
) -> str:
    """One instance on eth0 holding VIP, starting as `state`. `password` overrides the protocol's."""
    password = password or protocol.password
    kind = protocol.auth_type
    authentication = (
        f"    authentication {{\n        auth_type {kind}\n        auth_pass {password}\n    }}\n"
        if password
        else ""
    )
    return (
        f"vrrp_instance {INSTANCE} {{\n"
        f"    state {state}\n"
        "    interface eth0\n"
        f"    version {protocol.version}\n"
        f"    virtual_router_id {VRID}\n"
        f"    priority {priority}\n"
        f"    advert_int {protocol.advert_int:g}\n"
        f"{authentication}"
        f"    virtual_ipaddress {{\n        {VIP}/24\n    }}\n"
        "}\n"
    )


@dataclass
class Node:
    """A host of the LAN running `implementation` with `config`; `runs` are its daemons, oldest first."""

    host: Host
    implementation: Implementation
    config: str
    priority: int
    runs: list[Daemon] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.implementation.value}@{self.host.address}"

    @property
    def daemon(self) -> Daemon:
        return self.runs[-1]

    def start(self) -> Daemon:
        """Start a new run (its own log file, so that an earlier run's log stays readable)."""
        directory = self.host.lan.directory
        run = f"{self.host.name}-{len(self.runs)}"
        conf = directory / f"{run}.conf"
        conf.write_text(self.config)
        foreground_console_detail = ["-n", "-l", "-D", "-G"]
        if self.implementation is Implementation.HAPAIR:
            args = [
                HAPAIR,
                "vrrp",
                *foreground_console_detail,
                "-f",
                str(conf),
                "-p",
                str(directory / f"{run}.pid"),
            ]
        else:
            args = [KEEPALIVED, *foreground_console_detail, "-P", "-f", str(conf)]
            for flag in "prcb":
                args += [f"-{flag}", str(directory / f"{run}{flag}.pid")]
        isolated = self.implementation is Implementation.KEEPALIVED  # see end_all
        self.runs.append(self.host.start(args, log_name=f"{run}.log", isolated=isolated))
        return self.daemon

    def wait_for(self, text: str, timeout: float, after: int = 0) -> int:
        return self.daemon.wait_for(text, timeout, after)

    def lines(self) -> list[str]:
        return self.daemon.lines()

    def complaints(self) -> list[str]:
        """Log lines (of every run) where this node refused a packet or disagreed with its peer."""
        return [
            f"{self.name}: {line}"
            for run in self.runs
            for line in run.lines()
            if any(word in line.lower() for word in COMPLAINTS)
        ]


def pair(
    lan: Lan,
    protocol: Protocol,
    *,
    hapair_first: bool,
    priorities: tuple[int, int] = (HIGH_PRIORITY, LOW_PRIORITY),
    passwords: tuple[str | None, str | None] = (None, None),
    states: tuple[str, str] = ("BACKUP", "BACKUP"),
) -> tuple[Node, Node]:
    """Two nodes, not started: the first at LOW_ADDRESS, the second at HIGH_ADDRESS (by default the first
    has the higher priority, so that the priority, not the address, must decide). hapair runs the first
    node when `hapair_first`, keepalived the other."""
    implementations = (Implementation.HAPAIR, Implementation.KEEPALIVED)
    if not hapair_first:
        implementations = implementations[::-1]

    def node(index: int, address: str) -> Node:
        config = keepalived_conf(protocol, priorities[index], passwords[index], states[index])
        return Node(lan.host(f"n{index + 1}", address), implementations[index], config, priorities[index])

    return node(0, LOW_ADDRESS), node(1, HIGH_ADDRESS)


def start_together(nodes: Iterable[Node], timeout: float = 15) -> None:
    """Start the nodes so that they enter BACKUP (init) at nearly the same moment: hapair (a Python
    program, slower to start) first, keepalived as soon as hapair has entered BACKUP."""
    ordered = sorted(nodes, key=lambda node: node.implementation is not Implementation.HAPAIR)
    for node in ordered:
        node.start()
        node.wait_for(INIT, timeout)


def end_all(daemons: Iterable[Daemon], timeout: float = 10) -> None:
    """After a test: SIGKILL every running daemon and wait for it. keepalived's own stop waits a second
    for IGMP leaves; run as the init of its PID namespace, it takes its VRRP process with it."""
    running = [daemon for daemon in daemons if daemon.process.poll() is None]
    for daemon in running:
        with contextlib.suppress(AssertionError, ProcessLookupError):
            daemon.signal(signal.SIGKILL)
    for daemon in running:
        daemon.process.wait(timeout)


def _port(host: Host, state: str, *, mcast_flood: bool) -> None:
    """Set the host's bridge port (`bridge link`: `ip link set ... type bridge_slave state` is ignored) and
    check that the kernel took it."""
    flood = "on" if mcast_flood else "off"
    numbers = {"disabled": "0", "forwarding": "3"}
    result = host.lan.bridge.run(
        ["bridge", "link", "set", "dev", host.port, "state", numbers[state], "mcast_flood", flood]
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(host.lan.bridge.run(["bridge", "-j", "-d", "link", "show", "dev", host.port]).stdout)
    assert (shown[0]["state"], shown[0]["mcast_flood"]) == (state, mcast_flood), shown


def disconnect(host: Host) -> None:
    """Disable the host's bridge port: nothing reaches it or leaves it, its carrier stays up."""
    _port(host, "disabled", mcast_flood=True)


def reconnect_deaf(host: Host) -> None:
    """Forward the host's frames again, but no multicast to it: the LAN hears its adverts, it does not
    hear theirs."""
    _port(host, "disabled", mcast_flood=False)
    _port(host, "forwarding", mcast_flood=False)


def reconnect(host: Host) -> None:
    """Forward everything to and from the host again."""
    _port(host, "forwarding", mcast_flood=True)


def block_vrrp(hosts: Sequence[Host]) -> None:
    """Drop the VRRP packets the bridge sends to each host (its other frames, ARP included, still pass):
    its port's queue sends IP protocol 112 to a class whose queue holds nothing (this kernel has neither
    netem nor tc's drop action)."""
    commands = []
    for host in hosts:
        port = host.port
        commands += [
            f"qdisc add dev {port} root handle 1: htb default 1",
            f"class add dev {port} parent 1: classid 1:1 htb rate 10gbit quantum 60000",
            f"class add dev {port} parent 1: classid 1:2 htb rate 10gbit quantum 60000",
            f"qdisc add dev {port} parent 1:2 handle 2: pfifo limit 0",
            f"filter add dev {port} parent 1: protocol ip prio 1 u32 match ip protocol 112 0xff classid 1:2",
        ]
    _tc_batch(hosts, commands)


def allow_vrrp(hosts: Sequence[Host]) -> None:
    """Undo block_vrrp, for every host in one `tc` run (so within a millisecond or so)."""
    _tc_batch(hosts, [f"qdisc del dev {host.port} root" for host in hosts])


def _tc_batch(hosts: Sequence[Host], commands: list[str]) -> None:
    lan = hosts[0].lan
    batch = lan.directory / "tc.batch"
    batch.write_text("\n".join(commands) + "\n")
    result = lan.bridge.run(["tc", "-batch", str(batch)])
    assert result.returncode == 0, result.stderr


@dataclass(frozen=True)
class Advert:
    at: float  # monotonic seconds, when the client received it
    source: str
    priority: int
    mac: str  # the Ethernet source


class Sniffer:
    """The adverts a client host hears, from tests/system/vrrp_sniffer.py's output."""

    def __init__(self, host: Host, family: int = 4) -> None:
        command = [sys.executable, str(SNIFFER), "eth0", *(["6"] if family == 6 else [])]
        self.daemon = host.start(command, log_name=f"sniffer-{host.name}.log")

    def adverts(self) -> list[Advert]:
        adverts = []
        for line in self.daemon.log().splitlines():
            words = line.split()
            if len(words) == 4:
                adverts.append(Advert(float(words[0]), words[1], int(words[2]), words[3]))
        return adverts

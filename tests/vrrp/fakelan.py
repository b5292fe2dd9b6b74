"""A fake LAN for the VRRP state machine: several routers on one segment, a fake clock, and packets that
really go through the codec (encoded by the sender, decoded by each receiver). Elections, preemption and
master-down timers run in microseconds of real time.

ARP is modelled as far as the heal of a split brain needs it: a node's gratuitous ARPs claim its addresses
to the other nodes and to a client, whose neighbour entry for the addresses names the last node it heard
announce them; a node's ARP probe is answered by every other node holding addresses. A node can be cut off
entirely (`connected`) or for VRRP only (`hears_vrrp`), ARP still passing, as a firewall dropping
protocol 112 would."""

from __future__ import annotations

import heapq
import itertools
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

from hapair.config.keepalived.host import Interface, StaticHost
from hapair.config.keepalived.load import load
from hapair.config.keepalived.model.vrrp import VrrpInstance, VrrpState
from hapair.vrrp.actions import (
    Action,
    ArmTimer,
    Log,
    Notify,
    ProbeAddresses,
    RemoveVips,
    SendAdvert,
    SendGratuitousArps,
    SetVips,
)
from hapair.vrrp.ipsec_ah import sign
from hapair.vrrp.packet import VRRP_GROUP, Advertisement, ReceivedPacket, decode_ipv4, encode_ipv4
from hapair.vrrp.packet6 import VRRP_GROUP6, VRRP_HOP_LIMIT, decode_ipv6, encode_ipv6
from hapair.vrrp.router import VirtualRouter

SECOND = 1_000_000
LATENCY = 100  # microseconds from one node to the others


def read_instance(text: str, address: str, tmp_path: Path, interface: str = "eth0") -> VrrpInstance:
    """The first vrrp_instance of a keepalived.conf, read for a host whose `interface` has `address`/24."""
    host = StaticHost(
        interface_map={
            "lo": Interface("lo", 1, loopback=True, ipv4=("127.0.0.1/8",)),
            interface: Interface(interface, 2, ipv4=(f"{address}/24",)),
        },
        name="node.example",
    )
    path = tmp_path / f"keepalived-{address}.conf"
    path.write_text(textwrap.dedent(text))
    result = load(str(path), host, config_test=False, cwd=str(tmp_path))
    return result.config.vrrp.instances[0]


@dataclass
class Node:
    """One router on the LAN and what it has done."""

    lan: FakeLan
    name: str
    address: IPv4Address | IPv6Address  # IPv6: the node's link-local address, VRRPv3 over IPv6
    router: VirtualRouter
    connected: bool = True
    hears_vrrp: bool = True  # False: VRRP to and from this node is lost, ARP still passes
    holds_vips: bool = False
    logs: list[str] = field(default_factory=list)
    log_times: list[int] = field(default_factory=list)
    notifies: list[tuple[str, int]] = field(default_factory=list)
    garp_rounds: list[tuple[int, int]] = field(default_factory=list)  # (time, repeat)
    sent: list[tuple[int, int]] = field(default_factory=list)  # (time, priority)
    probes: list[int] = field(default_factory=list)  # times of ARP probes
    timer: int | None = None

    @property
    def state(self) -> VrrpState:
        return self.router.state

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case SendAdvert(advert, ah_sequence):
                    self.sent.append((self.lan.now, advert.priority))
                    if self.connected and self.hears_vrrp:
                        data = self._encode(advert)
                        if ah_sequence is not None:
                            key = self.router.instance.auth_data
                            data = sign(data, ident=1, sequence=ah_sequence, key=key, unicast=False)
                        self.lan.broadcast(self, data)
                case SetVips(_):
                    self.holds_vips = True
                case RemoveVips(_):
                    self.holds_vips = False
                case SendGratuitousArps(repeat):
                    self.garp_rounds.append((self.lan.now, repeat))
                    if self.connected:
                        self.lan.announce(self)
                case ProbeAddresses(addresses):
                    self.probes.append(self.lan.now)
                    if self.connected:
                        self.lan.probe(self, addresses)
                case Notify(event, priority):
                    self.notifies.append((event.value, priority))
                case Log(text, _detail):
                    self.logs.append(text)
                    self.log_times.append(self.lan.now)
                case ArmTimer(at):
                    self.timer = at
                    if at is not None:
                        self.lan.schedule(at, self.wake_if_due)

    def wake_if_due(self) -> None:
        if self.timer is not None and self.timer <= self.lan.now:
            self.apply(self.router.wake(self.lan.now))

    def claimed(self, address: IPv4Address, owner: Node) -> None:
        """An ARP from `owner` says it holds `address`."""
        if self.connected:
            self.apply(self.router.address_claimed(self.lan.now, address, owner.name))

    def _encode(self, advert: Advertisement) -> bytes:
        if isinstance(self.address, IPv6Address):
            return encode_ipv6(advert, source=self.address, destination=VRRP_GROUP6)
        return encode_ipv4(advert, source=self.address, destination=VRRP_GROUP)

    def _decode(self, data: bytes, sender: Node | None) -> ReceivedPacket:
        """As the receiving socket reads it: over IPv6 with the sender, group and hop limit beside it."""
        if sender is not None and isinstance(sender.address, IPv6Address):
            return decode_ipv6(data, source=sender.address, destination=VRRP_GROUP6, hop_limit=VRRP_HOP_LIMIT)
        return decode_ipv4(data)

    def receive(self, data: bytes, sender: Node | None = None) -> None:
        """An advert from `sender` (named for IPv6, whose data does not carry its source) arrives."""
        if not (self.connected and self.hears_vrrp):
            return
        packet = self._decode(data, sender)
        if packet.vrid == self.router.instance.vrid:
            self.apply(self.router.receive(packet, self.lan.now))


class FakeLan:
    """A segment and a clock; `run_for` advances time, delivering packets and firing timers in order."""

    def __init__(self) -> None:
        self.now = 0
        self.nodes: list[Node] = []
        self.client_entry: str | None = None  # the node the client's neighbour entry for the VIPs names
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def add(self, name: str, instance: VrrpInstance, address: str) -> Node:
        node = Node(self, name, ip_address(address), VirtualRouter(instance, ip_address(address)))
        self.nodes.append(node)
        return node

    def start(self, node: Node, **kwargs: set[str]) -> None:
        node.apply(node.router.start(self.now, **kwargs))

    def schedule(self, at: int, callback: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (at, next(self._order), callback))

    def broadcast(self, sender: Node, data: bytes) -> None:
        for node in self.nodes:
            if node is not sender:
                if isinstance(sender.address, IPv6Address):
                    self.schedule(self.now + LATENCY, lambda node=node: node.receive(data, sender))
                else:
                    self.schedule(self.now + LATENCY, lambda node=node: node.receive(data))

    def announce(self, sender: Node) -> None:
        """`sender`'s gratuitous ARPs reach the client and claim its addresses to the other nodes."""

        def arrive() -> None:
            self.client_entry = sender.name
            for node in self.nodes:
                if node is not sender:
                    for address in sender.router.vips:
                        node.claimed(address, sender)

        self.schedule(self.now + LATENCY, arrive)

    def probe(self, prober: Node, addresses: tuple[IPv4Address, ...]) -> None:
        """Every other node holding one of `addresses` when `prober`'s ARP probe reaches it answers (its
        kernel does, at once)."""

        def arrive(node: Node) -> None:
            if node.connected and node.holds_vips:
                for address in set(addresses) & set(node.router.vips):
                    self.schedule(self.now + LATENCY, lambda a=address: prober.claimed(a, node))

        for node in self.nodes:
            if node is not prober:
                self.schedule(self.now + LATENCY, lambda node=node: arrive(node))

    def run_for(self, duration: int) -> None:
        self.run_until(self.now + duration)

    def run_until(self, end: int) -> None:
        while self._queue and self._queue[0][0] <= end:
            at, _, callback = heapq.heappop(self._queue)
            self.now = max(self.now, at)
            callback()
        self.now = end

    def masters(self) -> list[Node]:
        return [node for node in self.nodes if node.state == VrrpState.MASTER]

    @staticmethod
    def when(node: Node, text: str, after: int = -1) -> int | None:
        """When `node` first logged a line containing `text` (later than `after`)."""
        logged = zip(node.log_times, node.logs, strict=True)
        return next((t for t, line in logged if t > after and text in line), None)

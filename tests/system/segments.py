"""A second LAN segment for the hosts of a `tests.topology` LAN: a bridge `br1` in the bridge namespace, and
an `eth1` for each host on it (the hosts' `eth0` are on `br0`)."""

from __future__ import annotations

from tests.topology import Host, Lan


def second_segment(lan: Lan, host: Host, address: str) -> str:
    """Give `host` an eth1 at `address`/24 on the second bridge; the name of its port there (to cut it)."""
    if "br1" not in lan.bridge.interfaces():
        lan.bridge.ip("link", "add", "br1", "type", "bridge")
        lan.bridge.ip("link", "set", "br1", "up")
    port = f"q{host.name}"[:15]
    lan.bridge.add_veth(port, "eth1", peer_namespace=host.namespace, peer_addresses=[f"{address}/24"])
    lan.bridge.ip("link", "set", port, "master", "br1")
    return port

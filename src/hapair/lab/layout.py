"""The lab's plan, fixed: who is on the LAN, at which address, and what each namespace is called.

The addresses are the seed's: VIP 10.101.1.10, node 1 at .11, node 2 at .12; the backend web server takes
the seed's backend host number (.104, the seed's 192.168.13.104 moved into the lab's subnet) and the client
.100. Each node's LAN interface carries the seed's name, `enp1s0f0`, so its keepalived.conf runs as
written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import LabError

DEFAULT_NAME = "lab"
NAMESPACE_PREFIX = "hapair-"
STATE_ROOT = Path("/run/hapair-lab")
INTERFACE = "enp1s0f0"
PREFIX_LENGTH = 24
VIP = "10.101.1.10"
NODES = (1, 2)
ADDRESSES = {"node1": "10.101.1.11", "node2": "10.101.1.12", "client": "10.101.1.100", "web": "10.101.1.104"}
BRIDGE = "br0"
HTTP_PORT = 8080
_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def node_role(node: int) -> str:
    return f"node{node}"


def node_of_address(address: str) -> int | None:
    """Which node has this LAN address (the backend sees the serving node's address as its client)."""
    for node in NODES:
        if ADDRESSES[node_role(node)] == address:
            return node
    return None


@dataclass(frozen=True)
class Layout:
    """The names of one lab called `name`: its namespaces and its state directory."""

    name: str

    @classmethod
    def named(cls, name: str) -> Layout:
        if not _VALID_NAME.fullmatch(name):
            raise LabError(
                f"invalid lab name {name!r}: use 1 to 32 of a-z, 0-9 and '-', starting with a letter or digit"
            )
        return cls(name)

    @property
    def bridge_namespace(self) -> str:
        return self.namespace("br")

    def namespace(self, role: str) -> str:
        return f"{NAMESPACE_PREFIX}{self.name}-{role}"

    def host_namespaces(self) -> dict[str, str]:
        """Role -> namespace, for every host on the LAN."""
        return {role: self.namespace(role) for role in ADDRESSES}

    def all_namespaces(self) -> list[str]:
        return [self.bridge_namespace, *self.host_namespaces().values()]

    @property
    def directory(self) -> Path:
        return STATE_ROOT / self.name

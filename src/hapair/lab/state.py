"""What `hapair lab up` built, kept in `<state dir>/state.json` for the later commands: the namespaces,
each node's processes (PID and start time) and faults, the options the lab was built with.

It is written as soon as each thing exists, so that `down` can also clean a half-built lab."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import LabError
from .layout import Layout
from .processes import ProcessId

STATE_FILE = "state.json"


@dataclass
class NodeState:
    """One load-balancer node: which programs it runs and the processes running them."""

    number: int
    vrrp_program: str = "hapair"  # or "keepalived"
    proxy_program: str = "hapair"  # or "nginx"
    native: bool = False  # `hapair node` runs both, the proxy its child (`vrrp` is the node's process)
    holder: ProcessId | None = None  # `unshare`, parent of the node's PID namespace
    inner: ProcessId | None = None  # PID 1 of that namespace, which nsenter joins
    vrrp: ProcessId | None = None
    proxy: ProcessId | None = None
    fault: str | None = None
    bird: ProcessId | None = None  # BGP lab: the node's BIRD
    announcer: ProcessId | None = None  # BGP lab: its `hapair bgp`

    def processes(self) -> list[ProcessId]:
        found = (self.vrrp, self.proxy, self.announcer, self.bird, self.inner, self.holder)
        return [p for p in found if p is not None]


@dataclass
class LabState:
    """The whole lab, as recorded."""

    name: str
    namespaces: list[str] = field(default_factory=list)
    layer: int = 7
    config_dir: str | None = None
    nodes: dict[int, NodeState] = field(default_factory=dict)
    backend: ProcessId | None = None
    mode: str = "pair"  # or "bgp": N nodes behind a router (lab/bgp.py)
    router: ProcessId | None = None  # BGP lab: the router's BIRD
    node_cpu: float | None = None  # each node's processes capped at this many CPUs (lab/cpu.py)

    @property
    def layout(self) -> Layout:
        return Layout(self.name)

    @property
    def directory(self) -> Path:
        return self.layout.directory

    def node(self, number: int) -> NodeState:
        try:
            return self.nodes[number]
        except KeyError:
            numbers = ", ".join(str(n) for n in sorted(self.nodes))
            raise LabError(f"no node {number} in lab {self.name} (nodes: {numbers})") from None

    def node_directory(self, number: int) -> Path:
        return self.directory / f"node{number}"

    def node_cgroup(self, number: int) -> str:
        """The name of node `number`'s CPU control group (with --node-cpu)."""
        return f"hapair-{self.name}-node{number}"

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=1) + "\n")
        temporary.replace(path)

    @classmethod
    def load(cls, layout: Layout) -> LabState:
        path = layout.directory / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise LabError(
                f"no lab named {layout.name} is up (no {path}); start one with hapair lab up"
            ) from None
        except (OSError, ValueError) as error:
            raise LabError(f"cannot read {path}: {error}") from None
        return cls._from_json(data)

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> LabState:
        nodes = {}
        for key, node in data["nodes"].items():
            fields = {k: _process(v) if k in _PROCESS_FIELDS else v for k, v in node.items()}
            nodes[int(key)] = NodeState(**fields)
        return cls(
            name=data["name"],
            namespaces=data["namespaces"],
            layer=data["layer"],
            config_dir=data["config_dir"],
            nodes=nodes,
            backend=_process(data["backend"]),
            mode=data.get("mode", "pair"),
            router=_process(data.get("router")),
            node_cpu=data.get("node_cpu"),
        )


_PROCESS_FIELDS = {"holder", "inner", "vrrp", "proxy", "bird", "announcer"}


def _process(value: dict[str, int] | None) -> ProcessId | None:
    return None if value is None else ProcessId(**value)

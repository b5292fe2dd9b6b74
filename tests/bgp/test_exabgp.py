"""ExaBGP as a node's BGP speaker (Debian's exabgp): ExaBGP runs `hapair node --bgp` as its process and
reads its announcements on its standard output; a BIRD router, its eBGP neighbour, installs the VIP's
route through the node while it is announced. A killed proxy is withdrawn at the router, and announced
again once the node has restarted it; the proxy's own output does not reach ExaBGP (the node sends it to
its standard error)."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.lab.network import nexthops
from tests.topology import HAPAIR, Daemon, Lan, missing_lab_requirements, wait_until

pytestmark = pytest.mark.netns

VIP = "10.101.10.10"
ROUTER = "10.101.1.1"
NODE = "10.101.1.11"


def router_conf(log: Path) -> str:
    return f"""log "{log}" all;
router id {ROUTER};
protocol device {{ scan time 10; }}
protocol kernel {{ ipv4 {{ import none; export all; }}; merge paths yes; }}
protocol bgp node1 {{
    local {ROUTER} as 65000; neighbor {NODE} as 65001;
    hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
    ipv4 {{ import all; export none; }};
}}
"""


def exabgp_conf(directory: Path) -> str:
    node = (
        f"{HAPAIR} node --bgp {directory}/bgp.conf -n -l -G -c {directory}/nginx.conf "
        f"--pid {directory}/node.pid"
    )
    return f"""process hapair {{
    run {node};
    encoder text;
}}
neighbor {ROUTER} {{
    router-id {NODE};
    local-address {NODE};
    local-as 65001;
    peer-as 65000;
    hold-time 3;
    api {{ processes [ hapair ]; }}
}}
"""


def nginx_conf(directory: Path) -> str:
    return (
        f"pid {directory}/nginx.pid;\nerror_log stderr notice;\nworker_processes 2;\nevents {{}}\n"
        "http {\n    access_log off;\n"
        '    server { listen 8080; location / { return 200 "node 1\\n"; } }\n}\n'
    )


@pytest.fixture
def exabgp_node(tmp_path: Path) -> Iterator[tuple[Lan, Daemon]]:
    reason = missing_lab_requirements()
    for program in ("bird", "exabgp"):
        if shutil.which(program) is None:
            reason = reason or f"needs {program} (Debian's bird2 and exabgp)"
    if reason:
        pytest.skip(reason)
    tmp_path.chmod(0o755)
    (tmp_path / "router.conf").write_text(router_conf(tmp_path / "router.log"))
    (tmp_path / "exabgp.conf").write_text(exabgp_conf(tmp_path))
    (tmp_path / "nginx.conf").write_text(nginx_conf(tmp_path))
    (tmp_path / "bgp.conf").write_text(f"speaker exabgp\ncontrol {tmp_path}/bgp.sock\nvip {VIP}\n")
    with Lan(tmp_path) as lan:
        router = lan.host("router", ROUTER)
        node = lan.host("n1", NODE)
        node.namespace.ip("addr", "add", f"{VIP}/32", "dev", "lo")
        control = str(tmp_path / "router.ctl")
        router.start(["bird", "-f", "-c", str(tmp_path / "router.conf"), "-s", control], log_name="bird.out")
        environment = {
            **os.environ,
            "exabgp.daemon.user": "root",
            "exabgp.daemon.drop": "false",
            "exabgp.api.ack": "false",
            "exabgp.log.destination": "stderr",
        }
        exabgp = node.start(["exabgp", str(tmp_path / "exabgp.conf")], log_name="exabgp.log", env=environment)
        yield lan, exabgp


def router_hops(lan: Lan) -> list[str]:
    return nexthops(lan.hosts[0].namespace.name, VIP)


def proxy_processes(node_log: Path) -> list[int]:
    """The proxy master (from the node's log) and its workers."""
    started = [
        line for line in node_log.read_text().splitlines() if "Proxy master" in line and "(PID" in line
    ]
    master = int(started[-1].split("(PID ")[1].rstrip(")"))
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *(int(pid) for pid in children)]


def test_exabgp_announces_and_withdraws_at_the_bird_router(exabgp_node: tuple[Lan, Daemon]) -> None:
    lan, exabgp = exabgp_node
    wait_until(lambda: router_hops(lan) == [NODE] or None, 60, "the VIP routed through the node")
    log = exabgp.log_path
    for pid in proxy_processes(log):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: router_hops(lan) == [] or None, 30, "the VIP withdrawn at the router")
    assert "withdraw 10.101.10.10: proxy down: " in log.read_text()
    wait_until(lambda: router_hops(lan) == [NODE] or None, 60, "the VIP announced again")
    assert "Proxy master restarted" in log.read_text()

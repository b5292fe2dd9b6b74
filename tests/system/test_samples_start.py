"""keepalived's own sample configurations (../shared/reference/keepalived-samples) that keepalived 2.2.7
starts, started by `hapair vrrp` too (issue 13: "every configuration keepalived starts, hapair starts"):
on a host with eth0 to eth3, each implementation brings every instance of the sample to its first state
(`Entering BACKUP STATE (init)`, or MASTER for an address owner) and stops cleanly: every sample with
VRRP instances (keepalived's run of lvs_syncd is skipped where the kernel has no IPVS). track_interface's
instance is on `eth0.1`, a VLAN's name: this kernel makes no VLAN devices, so it is a veth of that name
(neither implementation looks at the device's type). The `virtual_server` parts are the checker process's,
which `hapair vrrp` does not run."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reference import SAMPLES
from tests.system.mixed import KEEPALIVED, Implementation, Node, end_all
from tests.system.segments import second_segment
from tests.topology import Lan, wait_until

NEEDS_IPVS = {"keepalived.conf.vrrp.lvs_syncd"}  # keepalived starts its LVS sync daemon, which needs IPVS

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

START_S = 20


SAMPLE_FILES = [
    "keepalived.conf.SSL_GET",  # auth_type AH
    "keepalived.conf.sample",
    "keepalived.conf.track_interface",  # on eth0.1: a VLAN's name, here a veth's
    "keepalived.conf.conditional_conf",  # use_vmac (without -i, its @high and @low lines are left out)
    "keepalived.conf.vrrp",  # smtp_alert
    "keepalived.conf.vrrp.localcheck",
    "keepalived.conf.vrrp.lvs_syncd",
    "keepalived.conf.vrrp.routes",  # static and virtual routes
    "keepalived.conf.vrrp.rules",  # static and virtual rules
    "keepalived.conf.vrrp.static_ipaddress",
    "keepalived.conf.vrrp.scripts",  # a sync group with notify commands, smtp_alert
    "keepalived.conf.vrrp.sync",  # two sync groups
    "other.docker.keepalived.conf",
    "other.etc.keepalived.conf",
]


def cases() -> list[object]:
    return [
        pytest.param(name, kind, id=f"{name}-{kind.value}")
        for name in SAMPLE_FILES
        for kind in Implementation
    ]


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


@pytest.mark.parametrize(("sample", "implementation"), cases())
def test_the_sample_starts_every_instance(lan: Lan, sample: str, implementation: Implementation) -> None:
    if (
        implementation is Implementation.KEEPALIVED
        and sample in NEEDS_IPVS
        and not Path("/proc/net/ip_vs").exists()
    ):
        pytest.skip("keepalived needs IPVS in the kernel for this sample's lvs_sync_daemon")
    text = (SAMPLES / sample).read_text()
    host = lan.host("n1", "192.168.200.241")  # an address none of the samples has as a VIP
    second_segment(lan, host, "192.168.201.241")
    for name in ("eth2", "eth3"):
        host.namespace.add_veth(name, f"{name}p")
    host.namespace.add_veth("eth0.1", "eth0.1p", addresses=["192.168.202.241/24"])
    node = Node(host, implementation, text, 100)
    daemon = node.start()
    wait_until(
        lambda: daemon.process.poll() is not None or "Startup complete" in daemon.lines(), START_S, "start-up"
    )
    assert daemon.process.poll() is None, daemon.log()
    for instance in re.findall(r"^\s*vrrp_instance\s+(\S+)", text, flags=re.MULTILINE):
        node.wait_for(f"({instance}) Entering ", START_S)
    assert not [line for line in node.lines() if "is not supported by hapair" in line]
    assert daemon.stop() == 0

"""keepalived.data / .stats / .json texts against dumps written by keepalived 2.2.7 itself: the evidence
from run1 (node A, MASTER) and two recordings made for this module in a network namespace (a BACKUP sync
group beside a FAULT unicast instance tracking a failing script; a MASTER whose weighted scripts moved its
priority)."""

from __future__ import annotations

import functools
import json
import re
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.config.keepalived.host import FileStatus, Interface, StaticHost
from hapair.config.keepalived.load import load
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.keepalived.model.scripts import NotifyScript
from hapair.config.keepalived.model.vrrp import VrrpInstance, VrrpState
from hapair.vrrp.dumps import (
    ARPHRD_ETHER,
    ARPHRD_LOOPBACK,
    IFF_BROADCAST,
    IFF_LOOPBACK,
    IFF_MULTICAST,
    IFF_RUNNING,
    IFF_UP,
    ScriptState,
    data_text,
    json_text,
    stats_text,
)
from hapair.vrrp.stats import Stats
from hapair.vrrp.tracking import InitState
from tests.config.keepalived.conftest import lab_host
from tests.reference import EVIDENCE

ETHER_UP = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST
SCRIPT_MODE = 0o100755

RECORDINGS = Path(__file__).with_name("recordings")  # keepalived 2.2.7's own dumps of these configurations
GROUP_CONFIG = (RECORDINGS / "group.conf").read_text()
TRACKING_CONFIG = (RECORDINGS / "tracking.conf").read_text()
RECORDED_GROUP_DATA = (RECORDINGS / "group.data").read_text()
RECORDED_GROUP_JSON = (RECORDINGS / "group.json").read_text()
RECORDED_TRACKING_DATA = (RECORDINGS / "tracking.data").read_text()
RECORDED_TRACKING_JSON = (RECORDINGS / "tracking.json").read_text()


@dataclass
class Router:
    instance: VrrpInstance
    state: VrrpState
    wantstate: VrrpState
    effective_priority: int
    total_priority: int
    master_priority: int = 0
    master_advert_int_us: int = 1_000_000
    master_address: IPv4Address | None = None
    last_transition: float = 0.0
    read_timeout: float | None = None
    master_down_timer_us: int = 0
    num_script_if_fault: int = 0
    num_script_init: int = 0
    vips_set: bool = False
    stats: Stats = field(default_factory=Stats)


@dataclass
class Script:
    result: int
    init_state: InitState = InitState.DONE
    state: ScriptState = ScriptState.IDLE


@dataclass
class Group:
    state: VrrpState
    num_member_fault: int = 0
    num_member_init: int = 0


@dataclass
class Link:
    name: str
    index: int
    flags: int = ETHER_UP
    mtu: int = 1500
    hw_type: int = ARPHRD_ETHER
    mac: str = ""
    broadcast: str = "ff:ff:ff:ff:ff:ff"
    ipv4: tuple[IPv4Address, ...] = ()
    ipv6: tuple[IPv6Address, ...] = ()
    seen_up: bool = True


def loopback() -> Link:
    return Link(
        "lo",
        1,
        IFF_UP | IFF_RUNNING | IFF_LOOPBACK,
        65536,
        ARPHRD_LOOPBACK,
        "00:00:00:00:00:00",
        "00:00:00:00:00:00",
        (IPv4Address("127.0.0.1"),),
        (IPv6Address("::1"),),
    )


def ether(name: str, index: int, mac: str, ipv4: str | None, link_local: str) -> Link:
    return Link(
        name,
        index,
        mac=mac,
        ipv4=(IPv4Address(ipv4),) if ipv4 else (),
        ipv6=(IPv6Address(link_local),),
    )


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The recordings were made with TZ=UTC; keepalived shows times in local time."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# lines keepalived writes that the module documents as left out
OMITTED_SECTIONS = ("------< VRRP Sockpool >------", "------< Gratuitous ARP delays >------")
OMITTED_LINE = re.compile(
    r"   (fd_in \d+, fd_out \d+|Delayed state change running = .*|Reset ARP config counter \d+"
    r"|Original (arp_ignore|arp_filter|promote_secondaries) \d+|Reset promote_secondaries counter \d+)"
)


def without_omitted(text: str) -> list[str]:
    kept = []
    skipping = False
    for line in text.splitlines():
        if line.startswith("------< ") and not line.startswith("------< GARP delay group"):
            skipping = line in OMITTED_SECTIONS
        if not skipping and not OMITTED_LINE.fullmatch(line):
            kept.append(line)
    return kept


# -- run1, node A: the evidence


@functools.cache
def run1_config() -> KeepalivedConfig:
    result = load(str(EVIDENCE / "run1_nodeA.conf"), lab_host(), config_test=False)
    assert not list(result.report)
    return result.config


def run1_router(config: KeepalivedConfig) -> Router:
    return Router(
        config.vrrp.instances[0],
        VrrpState.MASTER,
        VrrpState.MASTER,
        effective_priority=150,
        total_priority=150,
        last_transition=1795659883.944564,
        read_timeout=1795659889.945246,
        master_down_timer_us=3414062,
        vips_set=True,
        stats=Stats(advert_sent=6, become_master=1),
    )


def run1_interfaces() -> list[Link]:
    eth0 = ether("eth0", 2, "be:d2:ff:0b:76:91", "10.77.0.1", "fe80::bcd2:ffff:fe0b:7691")
    # the VIPs node A has added are on eth0 too; keepalived does not count them as its addresses
    vips = (IPv4Address("10.77.0.100"), IPv4Address("10.77.0.101"))
    return [loopback(), replace(eth0, ipv4=(*eth0.ipv4, *vips))]


def test_stats_text_is_the_recorded_sigusr2_dump() -> None:
    config = run1_config()
    recorded = (EVIDENCE / "sigusr2_keepalived.stats").read_text()
    assert stats_text([run1_router(config)]) == recorded


def test_json_text_is_the_recorded_json_dump() -> None:
    config = run1_config()
    recorded = (EVIDENCE / "sigjson_keepalived.json").read_text()
    assert json_text([run1_router(config)]) == recorded


def test_data_text_is_the_recorded_sigusr1_dump_without_the_omitted_lines() -> None:
    config = run1_config()
    recorded = (EVIDENCE / "sigusr1_keepalived.data").read_text()
    text = data_text(config, [run1_router(config)], interfaces=run1_interfaces())
    assert text.endswith("\n")
    assert text.splitlines() == without_omitted(recorded)


def test_the_current_real_time_priority_and_limit_end_the_global_definitions() -> None:
    config = run1_config()
    text = data_text(config, [run1_router(config)], realtime=(10, 20_000))
    lines = text.splitlines()
    topology = lines.index("------< VRRP Topology >------")
    assert lines[topology - 2 : topology] == [
        " current realtime priority = 10",
        " current realtime time limit = 20000",
    ]
    assert data_text(config, [run1_router(config)]) == text.replace(
        " current realtime priority = 10\n current realtime time limit = 20000\n", ""
    )


# -- the recordings made for this module


def lab_config(tmp_path: Path, text: str) -> KeepalivedConfig:
    """Read a recorded run's configuration on a host like its namespace (/bin is a link to /usr/bin)."""
    interfaces = {
        "lo": Interface("lo", 1, loopback=True, ipv4=("127.0.0.1/8",)),
        "eth0": Interface("eth0", 3, ipv4=("10.77.0.1/24",)),
        "eth1": Interface("eth1", 5, ipv4=("10.77.1.1/24",)),
    }
    programs = ("/usr/bin/true", "/usr/bin/false", "/usr/bin/echo")
    host = StaticHost(
        interface_map=interfaces,
        files={program: FileStatus(SCRIPT_MODE, 0, 0) for program in programs},
        symlinks={"/bin": "usr/bin"},
    )
    (tmp_path / "keepalived.conf").write_text(text)
    return load("keepalived.conf", host, config_test=False, cwd=str(tmp_path)).config


def lab_interfaces() -> list[Link]:
    return [
        loopback(),
        ether("peer0", 2, "0a:ef:7a:39:d1:56", None, "fe80::8ef:7aff:fe39:d156"),
        ether("eth0", 3, "4a:c2:61:55:ef:db", "10.77.0.1", "fe80::48c2:61ff:fe55:efdb"),
        ether("peer1", 4, "66:d4:5e:de:d8:63", None, "fe80::64d4:5eff:fede:d863"),
        ether("eth1", 5, "9e:00:4b:ee:67:44", "10.77.1.1", "fe80::9c00:4bff:feee:6744"),
    ]


def group_routers(config: KeepalivedConfig) -> list[Router]:
    backup, backup_v3, faulty = config.vrrp.instances
    return [
        Router(
            backup,
            VrrpState.BACKUP,
            VrrpState.BACKUP,
            effective_priority=100,
            total_priority=100,
            master_advert_int_us=10_000_000,
            last_transition=1795668471.442898,
            read_timeout=1795668502.054887,
            master_down_timer_us=30609375,
        ),
        Router(
            backup_v3,
            VrrpState.BACKUP,
            VrrpState.BACKUP,
            effective_priority=90,
            total_priority=90,
            master_advert_int_us=2_500_000,
            last_transition=1795668471.445511,
            read_timeout=1795668480.566608,
            master_down_timer_us=9121093,
        ),
        Router(
            faulty,
            VrrpState.FAULT,
            VrrpState.FAULT,
            effective_priority=120,
            total_priority=120,
            last_transition=1795668471.470479,
            master_down_timer_us=3531250,
            num_script_if_fault=1,
        ),
    ]


def test_backup_and_fault_instances_sync_group_and_failed_script_are_shown_as_keepalived_does(
    tmp_path: Path,
) -> None:
    config = lab_config(tmp_path, GROUP_CONFIG)
    text = data_text(
        config,
        group_routers(config),
        scripts={"chk_bad": Script(result=0)},
        sync_groups={"G1": Group(VrrpState.BACKUP)},
        interfaces=lab_interfaces(),
    )
    lines = text.splitlines()
    assert lines[lines.index("------< VRRP Topology >------") :] == without_omitted(RECORDED_GROUP_DATA)


def test_a_backup_that_has_heard_no_master_shows_the_address_formatted_before(tmp_path: Path) -> None:
    config = lab_config(tmp_path, GROUP_CONFIG)
    text = data_text(
        config,
        group_routers(config),
        scripts={"chk_bad": Script(result=0)},
        sync_groups={"G1": Group(VrrpState.BACKUP)},
    )
    # the global IPv6 group was formatted last before VI_B, VI_B's multicast group before VI_C
    assert re.findall(r"Master router = (.*)", text) == ["ff02::12", "224.0.0.18"]


def test_a_backup_shows_the_master_it_has_heard(tmp_path: Path) -> None:
    config = lab_config(tmp_path, GROUP_CONFIG)
    routers = group_routers(config)
    routers[0] = replace(routers[0], master_address=IPv4Address("10.77.0.2"), master_priority=200)
    text = data_text(config, routers, scripts={}, sync_groups={"G1": Group(VrrpState.BACKUP)})
    assert "   Master router = 10.77.0.2\n   Master priority = 200\n" in text
    assert re.findall(r"Master router = (.*)", text)[1] == "224.0.0.18"


def test_json_of_backup_and_fault_instances_is_keepalived_s(tmp_path: Path) -> None:
    config = lab_config(tmp_path, GROUP_CONFIG)
    assert json_text(group_routers(config)) == RECORDED_GROUP_JSON


def tracking_router(config: KeepalivedConfig) -> Router:
    return Router(
        config.vrrp.instances[0],
        VrrpState.MASTER,
        VrrpState.MASTER,
        effective_priority=75,
        total_priority=75,
        last_transition=1795668443.329904,
        read_timeout=1795668447.330785,
        master_down_timer_us=3707031,
        vips_set=True,
        stats=Stats(advert_sent=5, become_master=1),
    )


def test_weighted_track_scripts_and_garp_intervals_are_shown_as_keepalived_does(tmp_path: Path) -> None:
    config = lab_config(tmp_path, TRACKING_CONFIG)
    scripts = {"chk_fail": Script(result=0), "chk_ok": Script(result=1)}
    text = data_text(config, [tracking_router(config)], scripts=scripts, interfaces=lab_interfaces())
    assert text.splitlines() == without_omitted(RECORDED_TRACKING_DATA)


def test_json_escapes_a_control_character_in_a_notify_script_as_keepalived_does(tmp_path: Path) -> None:
    config = lab_config(tmp_path, TRACKING_CONFIG)
    assert json_text([tracking_router(config)]) == RECORDED_TRACKING_JSON


def test_a_script_without_a_state_yet_shows_its_start_up_state(tmp_path: Path) -> None:
    config = lab_config(tmp_path, TRACKING_CONFIG)
    text = data_text(config, [tracking_router(config)])
    section = text[text.index(" VRRP Script = chk_fail") : text.index(" VRRP Script = chk_ok")]
    assert "   Result = 1\n" in section  # rise 2: one success away from GOOD
    assert "   Init state = INIT\n   Status = BAD\n" in section
    assert "   State = idle\n" in section


def test_an_interface_lists_its_other_addresses_but_not_the_instances_addresses() -> None:
    config = run1_config()
    eth0 = run1_interfaces()[1]
    extra = IPv4Address("10.77.0.7")
    extra6 = IPv6Address("fe80::7")
    global6 = IPv6Address("2001:db8::1")
    eth0 = replace(eth0, ipv4=(*eth0.ipv4, extra), ipv6=(*eth0.ipv6, global6, extra6))
    text = data_text(config, [run1_router(config)], interfaces=[eth0])
    assert (
        "   IPv4 address = 10.77.0.1\n"
        "   Additional IPv4 addresses :\n"
        "     10.77.0.7\n"
        "   IPv6 address = fe80::bcd2:ffff:fe0b:7691\n"
        "   Additional IPv6 addresses :\n"
        "     fe80::7\n"
        "   MAC = "
    ) in text


def test_a_down_interface_with_no_hardware_address_is_shown_as_keepalived_does() -> None:
    config = run1_config()
    tunnel = Link("tun0", 9, flags=IFF_MULTICAST, hw_type=65534, mac="", seen_up=False)
    lines = data_text(config, [run1_router(config)], interfaces=[tunnel]).splitlines()
    interface = lines[lines.index(" Name = tun0") :]
    assert interface == [
        " Name = tun0",
        "   index = 9",
        "   IPv4 address = (none)",
        "   IPv6 address = (none)",
        "   State = not UP, not RUNNING, no broadcast",
        "   Seen up = 0",
        "   Up debounce timer = 0us",
        "   Down debounce timer = 0us",
        "   MTU = 1500",
        "   HW Type = UNKNOWN (65534)",
        "   NIC netlink status update",
    ]


def test_stats_text_writes_each_instance_in_order(tmp_path: Path) -> None:
    config = lab_config(tmp_path, GROUP_CONFIG)
    routers = group_routers(config)
    routers[2].stats.count("pri_zero_rcvd")
    text = stats_text(routers)
    assert re.findall(r"VRRP Instance: (.*)", text) == ["VI_B", "VI_C", "VI_F"]
    assert text.endswith("  Priority Zero:\n    Received: 1\n    Sent: 0\n")


def test_json_writes_a_backslash_as_keepalived_s_writer_does() -> None:
    config = run1_config()
    router = run1_router(config)
    instance = replace(router.instance)
    instance.notify = replace(instance.notify, fault=NotifyScript(["/bin/tool", "a\\b"], 0, 0))
    text = json_text([replace(router, instance=instance)])
    assert "\"script_fault\":\"'\\/bin\\/tool' 'a\\nb'\"" in text


printable_names = st.text(
    alphabet=string.ascii_letters + string.digits + "_-.:/\"'\t\n", min_size=1, max_size=20
)


@given(
    name=printable_names,
    argument=printable_names,
    counters=st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=14, max_size=14),
)
def test_json_text_is_json_that_gives_back_names_and_counters(
    name: str, argument: str, counters: list[int]
) -> None:
    """Short of a backslash (which keepalived's writer mangles), every string and counter reads back."""
    config = run1_config()
    router = run1_router(config)
    instance = replace(router.instance, name=name)
    instance.notify = replace(instance.notify, notify=NotifyScript(["/bin/tool", argument], 0, 0))
    stats = Stats(*counters)
    (entry,) = json.loads(json_text([replace(router, instance=instance, stats=stats)]))
    assert entry["data"]["iname"] == name
    assert entry["data"]["script"] == f"'/bin/tool' '{argument}'"
    assert list(entry["stats"].values()) == counters


# -- what keepalived 2.2.7 was given and wrote (TZ=UTC; eth0 10.77.0.1/24, eth1 10.77.1.1/24, veth peers)

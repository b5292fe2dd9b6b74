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
    ScriptInitState,
    ScriptState,
    data_text,
    json_text,
    stats_text,
)
from hapair.vrrp.stats import Stats
from tests.config.keepalived.conftest import lab_host
from tests.reference import EVIDENCE

ETHER_UP = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST
SCRIPT_MODE = 0o100755


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
    init_state: ScriptInitState = ScriptInitState.DONE
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

GROUP_CONFIG = r"""global_defs {
    router_id lab
    script_user root
}
vrrp_script chk_ok {
    script "/bin/true"
    interval 1
    weight 10
    rise 2
    fall 3
}
vrrp_script chk_bad {
    script "/bin/false"
    interval 2
    timeout 3
}
vrrp_sync_group G1 {
    group {
        VI_B
        VI_C
    }
    notify_master "/bin/true group master"
}
vrrp_instance VI_B {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 10
    nopreempt
    track_script {
        chk_ok
    }
    track_interface {
        eth1 weight -5
    }
    virtual_ipaddress {
        10.77.0.51/24
        10.77.0.53/32 dev eth1 scope link
    }
    virtual_ipaddress_excluded {
        10.77.0.52
    }
    notify_backup "/bin/true backup"
    notify "/bin/echo x"
}
vrrp_instance VI_C {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 52
    priority 90
    advert_int 2.5
    virtual_ipaddress {
        10.77.0.60/24
    }
}
vrrp_instance VI_F {
    interface eth0
    virtual_router_id 53
    priority 120
    advert_int 1
    unicast_src_ip 10.77.0.1
    unicast_peer {
        10.77.0.9
    }
    track_script {
        chk_bad
    }
    authentication {
        auth_type PASS
        auth_pass abc
    }
    virtual_ipaddress {
        10.77.0.70/24
    }
}
"""

TRACKING_CONFIG = r"""global_defs {
    router_id lab2
    script_user root
    vrrp_garp_interval 0.5
    vrrp_gna_interval 1
}
vrrp_script chk_fail {
    script "/bin/false"
    interval 1
    weight -20
    fall 2
    rise 2
}
vrrp_script chk_ok {
    script "/bin/true"
    interval 1
    weight 10 reverse
}
vrrp_instance VI_S {
    state BACKUP
    interface eth0
    virtual_router_id 88
    priority 100
    advert_int 1
    preempt_delay 2.5
    virtual_ipaddress {
        10.77.0.188/24
        10.77.1.188/24 dev eth1
    }
    track_script {
        chk_fail
        chk_ok weight 5
    }
    track_interface {
        eth1 weight -5
    }
    notify_master "/bin/echo a\\b"
}
"""

RECORDED_GROUP_DATA = """\
------< VRRP Topology >------
 VRRP Instance = VI_B
   VRRP Version = 2
   Sync group = G1
   State = BACKUP
   Master router = ff02::12
   Master priority = 0
   Flags:
   Wantstate = BACKUP
   Number of config faults = 0
   Number of interface and track script faults = 0
   Number of track scripts init = 0
   Last transition = 1795668471.442898 (Thu Nov 26 04:47:51.442898 2026)
   Read timeout = 1795668502.054887 (Thu Nov 26 04:48:22.054887 2026)
   Master down timer = 30609375 usecs
   Interface = eth0
   Using src_ip = 10.77.0.1
   Multicast address 224.0.0.18
   Gratuitous ARP delay = 5
   Gratuitous ARP repeat = 5
   Gratuitous ARP refresh = 0
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 5
   Down timer adverts = 3
   Send advert after receive lower priority advert = true
   Send advert after receive higher priority advert = false
   Virtual Router ID = 51
   Priority = 100
   Effective priority = 100
   Total priority = 100
   Advert interval = 10 sec
   Accept = enabled
   Preempt = disabled
   Promote_secondaries = disabled
   Authentication type = none
   Virtual IP (2):
     10.77.0.51/24 dev eth0 scope global
     10.77.0.53 dev eth1 scope link
   Virtual IP Excluded :
     10.77.0.52 dev eth0 scope global
   fd_in 13, fd_out 14
   Tracked interfaces :
     eth1 weight 0
   Using smtp notification = no
   Notify deleted = Fault
   Backup state transition script = '/usr/bin/true' 'backup', uid:gid 0:0
   Generic state transition script = '/usr/bin/echo' 'x', uid:gid 0:0
   Notify priority changes = false
 VRRP Instance = VI_C
   VRRP Version = 3
   Sync group = G1
   State = BACKUP
   Master router = 224.0.0.18
   Master priority = 0
   Master advert int = 2.50 sec
   Flags: none
   Wantstate = BACKUP
   Number of config faults = 0
   Number of interface and track script faults = 0
   Number of track scripts init = 0
   Last transition = 1795668471.445511 (Thu Nov 26 04:47:51.445511 2026)
   Read timeout = 1795668480.566608 (Thu Nov 26 04:48:00.566608 2026)
   Master down timer = 9121093 usecs
   Interface = eth0
   Using src_ip = 10.77.0.1
   Multicast address 224.0.0.18
   Gratuitous ARP delay = 5
   Gratuitous ARP repeat = 5
   Gratuitous ARP refresh = 0
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 5
   Down timer adverts = 3
   Send advert after receive lower priority advert = true
   Send advert after receive higher priority advert = false
   Virtual Router ID = 52
   Priority = 90
   Effective priority = 90
   Total priority = 90
   Advert interval = 2500 milli-sec
   Master advert interval = 2500 milli-sec
   Accept = enabled
   Preempt = enabled
   Promote_secondaries = disabled
   Virtual IP (1):
     10.77.0.60/24 dev eth0 scope global
   fd_in 13, fd_out 14
   Using smtp notification = no
   Notify deleted = Fault
   Notify priority changes = false
 VRRP Instance = VI_F
   VRRP Version = 2
   State = FAULT
   Flags:
     Using unicast
   Wantstate = FAULT
   Number of config faults = 0
   Number of interface and track script faults = 1
   Number of track scripts init = 0
   Last transition = 1795668471.470479 (Thu Nov 26 04:47:51.470479 2026)
   Read timeout = DISABLED
   Master down timer = 3531250 usecs
   Interface = eth0
   Using src_ip = 10.77.0.1 (from configuration)
   Gratuitous ARP delay = 5
   Gratuitous ARP repeat = 5
   Gratuitous ARP refresh = 0
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 5
   Down timer adverts = 3
   Send advert after receive lower priority advert = true
   Send advert after receive higher priority advert = false
   Virtual Router ID = 53
   Priority = 120
   Effective priority = 120
   Total priority = 120
   Advert interval = 1 sec
   Accept = enabled
   Preempt = enabled
   Promote_secondaries = disabled
   Authentication type = SIMPLE_PASSWORD
   Password = abc
   Virtual IP (1):
     10.77.0.70/24 dev eth0 scope global
   Unicast TTL = 255
   Check unicast src : no
   Unicast Peer :
     10.77.0.9 min_ttl 0 max_ttl 255
   Unicast checksum compatibility = no
   fd_in 15, fd_out 16
   Tracked scripts :
     chk_bad weight 0
   Using smtp notification = no
   Notify deleted = Fault
   Notify priority changes = false
------< VRRP Sockpool >------
 fd_in 13 fd_out = 14
   Interface = eth0
   Family = IPv4
   Protocol = VRRP
   Type = Multicast
   Rx buf size = 0
   VRRP instances
     VI_B vrid 51
     VI_C vrid 52
 fd_in 15 fd_out = 16
   Interface = eth0
   Family = IPv4
   Protocol = VRRP
   Type = Unicast
   Address = 10.77.0.1
   Rx buf size = 0
   VRRP instances
     VI_F vrid 53
------< VRRP Sync groups >------
 VRRP Sync Group = G1, BACKUP
   Num member fault 0, num member init 0
   VRRP member instances :
     VI_B
     VI_C
   Using smtp notification = no
   Master state transition script = '/usr/bin/true' 'group' 'master', uid:gid 0:0
------< VRRP Scripts >------
 VRRP Script = chk_bad
   Command = '/usr/bin/false'
   Interval = 2 sec
   Timeout = 3 sec
   Weight = 0
   Rise = 1
   Fall = 1
   Result = 0
   Insecure = no
   Init state = unknown
   Status = BAD
   Script uid:gid = 0:0
   VRRP instances :
   Tracking instances :
     VI_F, weight 0
   State = idle
------< Interfaces >------
 Name = lo
   index = 1
   IPv4 address = 127.0.0.1
   IPv6 address = (none)
   State = UP, RUNNING, no broadcast, loopback, no multicast
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 65536
   HW Type = LOOPBACK
   NIC netlink status update
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
 Name = peer0
   index = 2
   IPv4 address = (none)
   IPv6 address = fe80::8ef:7aff:fe39:d156
   MAC = 0a:ef:7a:39:d1:56
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
 Name = eth0
   index = 3
   IPv4 address = 10.77.0.1
   IPv6 address = fe80::48c2:61ff:fe55:efdb
   MAC = 4a:c2:61:55:ef:db
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
   Tracking VRRP instances :
     VI_B, weight 0
     VI_C, weight 0
     VI_F, weight 0
 Name = peer1
   index = 4
   IPv4 address = (none)
   IPv6 address = fe80::64d4:5eff:fede:d863
   MAC = 66:d4:5e:de:d8:63
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
 Name = eth1
   index = 5
   IPv4 address = 10.77.1.1
   IPv6 address = fe80::9c00:4bff:feee:6744
   MAC = 9e:00:4b:ee:67:44
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
   Tracking VRRP instances :
     VI_B, weight 0
"""


RECORDED_GROUP_JSON = (
    '[{"data":{"iname":"VI_B","dont_track_primary":0,"skip_check_adv_addr":0,"strict_'
    'mode":0,"vmac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_transitio'
    'n":1795668471.442898,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_'
    'rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":'
    '0,"higher_prio_send_advert":0,"vrid":51,"base_priority":100,"effective_priority"'
    ':100,"vipset":false,"promote_secondaries":false,"adver_int":10,"master_adver_int'
    '":10,"accept":1,"nopreempt":true,"preempt_delay":0,"state":1,"wantstate":1,"vers'
    'ion":2,"smtp_alert":false,"notify_deleted":false,"script_backup":"\'\\/usr\\/bin\\/t'
    'rue\' \'backup\'","script":"\'\\/usr\\/bin\\/echo\' \'x\'","vips":["10.77.0.51\\/24 dev eth'
    '0 scope global","10.77.0.53 dev eth1 scope link"],"evips":["10.77.0.52 dev eth0 '
    'scope global"],"track_ifp":["eth1"],"auth_type":0},"stats":{"advert_rcvd":0,"adv'
    'ert_sent":0,"become_master":0,"release_master":0,"packet_len_err":0,"advert_inte'
    'rval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_auth'
    'type":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent"'
    ':0}},{"data":{"iname":"VI_C","dont_track_primary":0,"skip_check_adv_addr":0,"str'
    'ict_mode":0,"vmac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_trans'
    'ition":1795668471.445511,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refr'
    'esh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_adve'
    'rt":0,"higher_prio_send_advert":0,"vrid":52,"base_priority":90,"effective_priori'
    'ty":90,"vipset":false,"promote_secondaries":false,"adver_int":2.5,"master_adver_'
    'int":2.5,"accept":1,"nopreempt":false,"preempt_delay":0,"state":1,"wantstate":1,'
    '"version":3,"smtp_alert":false,"notify_deleted":false,"vips":["10.77.0.60\\/24 de'
    'v eth0 scope global"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":0,"b'
    'ecome_master":0,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"i'
    'p_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"autht'
    'ype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}},{"data":{'
    '"iname":"VI_F","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"v'
    'mac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_transition":1795668'
    '471.470479,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"ga'
    'rp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_'
    'prio_send_advert":0,"vrid":53,"base_priority":120,"effective_priority":120,"vips'
    'et":false,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept'
    '":1,"nopreempt":false,"preempt_delay":0,"state":3,"wantstate":3,"version":2,"smt'
    'p_alert":false,"notify_deleted":false,"vips":["10.77.0.70\\/24 dev eth0 scope glo'
    'bal"],"track_script":["\'\\/usr\\/bin\\/false\'"],"auth_type":1,"auth_data":"abc"},"s'
    'tats":{"advert_rcvd":0,"advert_sent":0,"become_master":0,"release_master":0,"pac'
    'ket_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"add'
    'r_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_z'
    'ero_rcvd":0,"pri_zero_sent":0}}]\n'
)


RECORDED_TRACKING_DATA = """\
------< Global definitions >------
 Network namespace = (default)
 Network namespace ipvs = (main namespace)
 Router ID = lab2
 Default smtp_alert = unset
 Default smtp_alert_vrrp = unset
 Default smtp_alert_checker = unset
 Checkers log all failures = false
 No test config before reload
 Dynamic interfaces = false
 Default interface = eth0
 Disable local IGMP = no
 LVS flush = false
 LVS flush on stop = disabled
 FIFO write vrrp states on reload = false
 VRRP notify priority changes = false
 VRRP IPv4 mcast group = 224.0.0.18
 VRRP IPv6 mcast group = ff02::12
 Gratuitous ARP delay = 5
 Gratuitous ARP repeat = 5
 Gratuitous ARP refresh timer = 0
 Gratuitous ARP refresh repeat = 1
 Gratuitous ARP lower priority delay = 5
 Gratuitous ARP lower priority repeat = 5
 Num adverts before down = 3
 Gratuitous ARP for each secondary VMAC = 0s
 Send advert after receive lower priority advert = true
 Send advert after receive higher priority advert = false
 Gratuitous ARP interval = 0.500000
 Gratuitous NA interval = 1.000000
 VRRP default protocol version = 2
 nftables without counters
 libnftnl version 1.2.3
 VRRP check unicast_src = false
 VRRP skip check advert addresses = false
 VRRP strict mode = false
 Max auto priority = 0
 Min auto priority delay = 1000000 usecs
 VRRP process priority = 0
 VRRP don't swap = false
 VRRP realtime priority = 0
 VRRP realtime limit = 10000
 Checker process priority = 0
 Checker don't swap = false
 Checker realtime priority = 0
 Checker realtime limit = 10000
 BFD process priority = 0
 BFD don't swap = false
 BFD realtime priority = 0
 BFD realtime limit = 10000
 SNMP vrrp disabled
 SNMP checker disabled
 SNMP RFCv2 disabled
 SNMP RFCv3 disabled
 SNMP traps disabled
 SNMP socket = default (unix:/var/agentx/master)
 DBus disabled
 DBus service name =\x20
 Script security disabled
 Default script uid:gid 0:0
 vrrp_netlink_cmd_rcv_bufs = 0
 vrrp_netlink_cmd_rcv_bufs_force = 0
 vrrp_netlink_monitor_rcv_bufs = 0
 vrrp_netlink_monitor_rcv_bufs_force = 0
 process_monitor_rcv_bufs = 0
 process_monitor_rcv_bufs_force = 0
 lvs_netlink_cmd_rcv_bufs = 0
 lvs_netlink_cmd_rcv_bufs_force = 0
 lvs_netlink_monitor_rcv_bufs = 0
 lvs_netlink_monitor_rcv_bufs_force = 0
 rs_init_notifies = 0
 no_checker_emails = 0
 rx_bufs_multiples = 3
 umask = 0177
------< Gratuitous ARP delays >------
------< GARP delay group 0 >------
 GARP interval = 0.5
 GARP next time 1795668444.322999 (Thu Nov 26 04:47:24.322999)
 GNA interval = 1
 GNA next time 0.000000 (Thu Jan  1 00:00:00.000000)
 Interfaces
  eth0
------< GARP delay group 0 >------
 GARP interval = 0.5
 GARP next time 1795668444.322999 (Thu Nov 26 04:47:24.322999)
 GNA interval = 1
 GNA next time 0.000000 (Thu Jan  1 00:00:00.000000)
 Interfaces
  eth1
------< VRRP Topology >------
 VRRP Instance = VI_S
   VRRP Version = 2
   State = MASTER
   Flags: none
   Wantstate = MASTER
   Number of config faults = 0
   Number of interface and track script faults = 0
   Number of track scripts init = 0
   Last transition = 1795668443.329904 (Thu Nov 26 04:47:23.329904 2026)
   Read timeout = 1795668447.330785 (Thu Nov 26 04:47:27.330785 2026)
   Master down timer = 3707031 usecs
   Interface = eth0
   Using src_ip = 10.77.0.1
   Multicast address 224.0.0.18
   Gratuitous ARP delay = 5
   Gratuitous ARP repeat = 5
   Gratuitous ARP refresh = 0
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 5
   Down timer adverts = 3
   Send advert after receive lower priority advert = true
   Send advert after receive higher priority advert = false
   Virtual Router ID = 88
   Priority = 100
   Effective priority = 75
   Total priority = 75
   Advert interval = 1 sec
   Accept = enabled
   Preempt = enabled
   Preempt delay = 2.5 secs
   Promote_secondaries = disabled
   Authentication type = none
   Virtual IP (2):
     10.77.0.188/24 dev eth0 scope global set
     10.77.1.188/24 dev eth1 scope global set
   fd_in 13, fd_out 14
   Tracked interfaces :
     eth1 weight -5
   Tracked scripts :
     chk_fail weight -20
     chk_ok weight 5 reverse
   Using smtp notification = no
   Notify deleted = Fault
   Master state transition script = '/usr/bin/echo' 'a\b', uid:gid 0:0
   Notify priority changes = false
------< VRRP Sockpool >------
 fd_in 13 fd_out = 14
   Interface = eth0
   Family = IPv4
   Protocol = VRRP
   Type = Multicast
   Rx buf size = 0
   VRRP instances
     VI_S vrid 88
------< VRRP Scripts >------
 VRRP Script = chk_fail
   Command = '/usr/bin/false'
   Interval = 1 sec
   Timeout = 0 sec
   Weight = -20
   Rise = 2
   Fall = 2
   Result = 0
   Insecure = no
   Init state = unknown
   Status = BAD
   Script uid:gid = 0:0
   VRRP instances :
   Tracking instances :
     VI_S, weight -20
   State = idle
 VRRP Script = chk_ok
   Command = '/usr/bin/true'
   Interval = 1 sec
   Timeout = 0 sec
   Weight = 10 reverse
   Rise = 1
   Fall = 1
   Result = 1
   Insecure = no
   Init state = unknown
   Status = GOOD
   Script uid:gid = 0:0
   VRRP instances :
   Tracking instances :
     VI_S, weight 5 reverse
   State = idle
------< Interfaces >------
 Name = lo
   index = 1
   IPv4 address = 127.0.0.1
   IPv6 address = (none)
   State = UP, RUNNING, no broadcast, loopback, no multicast
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 65536
   HW Type = LOOPBACK
   NIC netlink status update
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
 Name = peer0
   index = 2
   IPv4 address = (none)
   IPv6 address = fe80::8ef:7aff:fe39:d156
   MAC = 0a:ef:7a:39:d1:56
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
 Name = eth0
   index = 3
   IPv4 address = 10.77.0.1
   IPv6 address = fe80::48c2:61ff:fe55:efdb
   MAC = 4a:c2:61:55:ef:db
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Gratuitous ARP interval 500ms
   Gratuitous NA interval 1000ms
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
   Tracking VRRP instances :
     VI_S, weight 0
 Name = peer1
   index = 4
   IPv4 address = (none)
   IPv6 address = fe80::64d4:5eff:fede:d863
   MAC = 66:d4:5e:de:d8:63
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
 Name = eth1
   index = 5
   IPv4 address = 10.77.1.1
   IPv6 address = fe80::9c00:4bff:feee:6744
   MAC = 9e:00:4b:ee:67:44
   MAC broadcast = ff:ff:ff:ff:ff:ff
   State = UP, RUNNING
   Seen up = 1
   Delayed state change running = false
   Up debounce timer = 0us
   Down debounce timer = 0us
   MTU = 1500
   HW Type = ETHERNET
   NIC netlink status update
   Gratuitous ARP interval 500ms
   Gratuitous NA interval 1000ms
   Reset ARP config counter 0
   Original arp_ignore 0
   Original arp_filter 0
   Original promote_secondaries 0
   Reset promote_secondaries counter 0
   Tracking VRRP instances :
     VI_S, weight 0
"""


RECORDED_TRACKING_JSON = (
    '[{"data":{"iname":"VI_S","dont_track_primary":0,"skip_check_adv_addr":0,"strict_'
    'mode":0,"vmac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_transitio'
    'n":1795668443.329904,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_'
    'rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":'
    '0,"higher_prio_send_advert":0,"vrid":88,"base_priority":100,"effective_priority"'
    ':75,"vipset":true,"promote_secondaries":false,"adver_int":1,"master_adver_int":1'
    ',"accept":1,"nopreempt":false,"preempt_delay":2,"state":2,"wantstate":2,"version'
    '":2,"smtp_alert":false,"notify_deleted":false,"script_master":"\'\\/usr\\/bin\\/echo'
    '\' \'a\\b\'","vips":["10.77.0.188\\/24 dev eth0 scope global set","10.77.1.188\\/24 de'
    'v eth1 scope global set"],"track_ifp":["eth1"],"track_script":["\'\\/usr\\/bin\\/fal'
    'se\'","\'\\/usr\\/bin\\/true\'"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent"'
    ':5,"become_master":1,"release_master":0,"packet_len_err":0,"advert_interval_err"'
    ':0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"'
    'authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}]\n'
)

"""The VRRP process's keywords as keepalived 2.2.7 reads them (keepalived/vrrp/vrrp_parser.c, vrrp_data.c,
vrrp_track.c, trackers/track_file.c): values in the model and messages, checked against `keepalived -t`."""

from __future__ import annotations

import ipaddress
import stat

import pytest

from hapair.config.keepalived.diagnostics import Severity
from hapair.config.keepalived.host import FileStatus, StaticHost, User
from hapair.config.keepalived.model.vrrp import (
    AuthType,
    ChecksumCompat,
    IpvlanMode,
    LinkbeatType,
    ParamMatch,
    TrackFileInit,
    VrrpState,
)

from .conftest import ReadConfig, errors, lab_host, rendered

SCRIPT = FileStatus(stat.S_IFREG | 0o755, 0, 0)
SCRIPTS = {"/bin/true": SCRIPT, "/bin/false": SCRIPT, "/usr/bin/true": SCRIPT}


def script_host(**overrides: object) -> StaticHost:
    return lab_host(files=dict(SCRIPTS), **overrides)


def instance(body: str, name: str = "VI_1") -> str:
    return f"vrrp_instance {name} {{\n interface eth0\n virtual_router_id 51\n{body}\n}}\n"


VIP = " virtual_ipaddress {\n  10.77.0.100\n }\n"


# -- vrrp_instance ----------------------------------------------------------------------------------------


def test_an_instance_reads_its_scalar_keywords(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            """ state BACKUP
 priority 150
 advert_int 2
 nopreempt
 preempt_delay 4.5
 garp_master_delay 3
 garp_master_repeat 2
 garp_master_refresh 60
 garp_master_refresh_repeat 4
 garp_lower_prio_delay 7
 garp_lower_prio_repeat 6
 down_timer_adverts 4
 skip_check_adv_addr
 promote_secondaries
 dont_track_primary
 track_src_ip
 kernel_rx_buf_size 65536
 debug 2
 smtp_alert off
 notify_priority_changes
"""
            + VIP
        )
    )
    (vi,) = result.config.vrrp.instances
    assert (vi.name, vi.interface, vi.vrid, vi.base_priority) == ("VI_1", "eth0", 51, 150)
    assert vi.advert_int_us == 2_000_000 and vi.preempt_delay_us == 0  # cleared by nopreempt
    assert (vi.garp_delay_us, vi.garp_rep, vi.garp_refresh_us, vi.garp_refresh_rep) == (
        3_000_000,
        2,
        60_000_000,
        4,
    )
    assert (vi.garp_lower_prio_delay_us, vi.garp_lower_prio_rep) == (7_000_000, 6)
    assert vi.down_timer_adverts == 4 and vi.nopreempt
    assert vi.skip_check_adv_addr and vi.promote_secondaries and vi.dont_track_primary
    assert vi.track_source_address is False  # only with a configured source address
    assert (vi.kernel_rx_buf_size, vi.debug, vi.smtp_alert, vi.notify_priority_changes) == (
        65536,
        2,
        False,
        True,
    )
    assert result.config.vrrp.smtp_alert_count == 1
    assert errors(result) == ["(VI_1) preempt_delay is incompatible with nopreempt mode - resetting"]


def test_bad_values_are_reported_as_keepalived_does(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            """ state FOO
 state MASTER
 state BACKUP
 interface lo
 interface abcdefghijklmnopq
 virtual_router_id abc
 priority 256
 advert_int 0.001
 unicast_ttl 300
 version 4
 garp_master_repeat 0
 garp_master_delay 5000
 down_timer_adverts 101
 preempt_delay 2000
 debug 7
 strict_mode maybe
 smtp_alert bad
 kernel_rx_buf_size 1 2
"""
            + VIP
        )
    )
    assert rendered(result)[:25] == [
        "(keepalived.conf: Line 4) (VI_1) unknown state 'FOO', defaulting to BACKUP",
        "(keepalived.conf: Line 6) (VI_1) state previously set as MASTER - ignoring BACKUP",
        "(keepalived.conf: Line 7) (VI_1) cannot use a loopback interface (lo) for vrrp - ignoring",
        "(keepalived.conf: Line 8) Interface name 'abcdefghijklmnopq' too long - ignoring",
        "(keepalived.conf: Line 9) invalid number 'abc'",
        "(keepalived.conf: Line 9) (VI_1): VRID 'abc' not valid - must be between 1 & 255",
        "(keepalived.conf: Line 10) number '256' outside range [1, 255]",
        "(keepalived.conf: Line 10) (VI_1) Priority not valid! must be between 1 & 255. Using default 100",
        "(keepalived.conf: Line 11) number '0.001' outside range [0.010000, 255.000000]",
        "(keepalived.conf: Line 11) (VI_1) Advert interval (0.001) not valid! Must be > 0 - ignoring",
        "(keepalived.conf: Line 12) number '300' outside range [0, 255]",
        "(keepalived.conf: Line 12) (VI_1): TTL '300' not valid - must be between 0 & 255",
        "(keepalived.conf: Line 13) number '4' outside range [2, 3]",
        "(keepalived.conf: Line 13) (VI_1): Version must be either 2 or 3",
        "(keepalived.conf: Line 14) (VI_1): garp_master_repeat must be greater than 0, setting to 1",
        "(keepalived.conf: Line 15) number '5000' outside range [0, 4294]",
        "(keepalived.conf: Line 15) (VI_1): garp_master_delay '5000' invalid - ignoring",
        "(keepalived.conf: Line 16) number '101' outside range [1, 100]",
        "(keepalived.conf: Line 16) (VI_1): Invalid down_timer_adverts [1:100] '101'",
        "(keepalived.conf: Line 17) number '2000' outside range [0.000000, 1000.000000]",
        "(keepalived.conf: Line 17) (VI_1) Preempt_delay not valid! must be between 0-1000",
        "(keepalived.conf: Line 18) number '7' outside range [0, 4]",
        "(keepalived.conf: Line 18) (VI_1) Debug value '7' not valid; must be between 0-4",
        "(keepalived.conf: Line 19) (VI_1) invalid strict_mode maybe specified",
        "(keepalived.conf: Line 20) Invalid vrrp_instance smtp_alert parameter bad",
    ]
    vi = result.config.vrrp.instances[0]
    assert vi.base_priority == 100 and vi.vrid == 51 and vi.garp_rep == 1 and vi.interface is None


def test_configtest_t2_bad_vrid_and_missing_interface(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_instance VI_1 {
    state MASTER
    interface eth9
    virtual_router_id 300
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.168.200.16
    }
"""
    )
    assert [line for line in rendered(result) if "missing '}'" not in line] == [
        "(keepalived.conf: Line 3) WARNING - interface eth9 for vrrp_instance VI_1 doesn't exist",
        "(keepalived.conf: Line 4) number '300' outside range [1, 255]",
        "(keepalived.conf: Line 4) (VI_1): VRID '300' not valid - must be between 1 & 255",
        "Non-existent interface specified in configuration",
    ]
    assert result.config.vrrp.nonexistent_interface
    assert result.exit_status == 5


def test_configtest_t8_a_missing_parameter_stops_reading(read_config: ReadConfig) -> None:
    result = read_config("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n priority\n}\n")
    assert errors(result) == [
        "*** Configuration line starting `priority` is missing a parameter after keyword `priority` at word "
        "position 2"
    ]
    assert result.exit_status == 2


def test_a_notify_keyword_without_its_command_stops_reading(read_config: ReadConfig) -> None:
    result = read_config(instance(" notify_master"))
    assert result.exit_status == 2
    assert errors(result)[0].startswith("*** Configuration line starting `notify_master` is missing")


def test_duplicate_and_unnamed_instances_are_skipped(read_config: ReadConfig) -> None:
    result = read_config("vrrp_instance {\n}\n" + instance(VIP) + instance(" priority 10"))
    assert errors(result) == ["vrrp_instance must have a name", "vrrp instance VI_1 already defined"]
    assert [vi.base_priority for vi in result.config.vrrp.instances] == [100]


def test_an_instance_with_two_names_and_no_brace_is_refused_cleanly(read_config: ReadConfig) -> None:
    """keepalived prints these, then runs `interface` on no instance; hapair reads it at the top level."""
    result = read_config("vrrp_instance a b\ninterface eth0\n}\n")
    assert sorted(errors(result)) == [
        "Extra '}' found",
        "Missing '{' at beginning of configuration block",
        "Unknown keyword 'interface'",
        "Unknown keyword '}'",
        "vrrp_instance must have a name",
    ]
    assert result.config.vrrp.instances == []


def test_configtest_t1_auth_pass_is_truncated_to_8_bytes(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            " state MASTER\n priority 255\n"
            " authentication {\n  auth_type PASS\n  auth_pass 123456789012\n }\n" + VIP
        )
    )
    assert errors(result) == ["Truncating auth_pass to 8 characters"]
    vi = result.config.vrrp.instances[0]
    assert (vi.auth_type, vi.auth_data) == (AuthType.PASS, b"12345678")


def test_a_short_password_is_nul_padded(read_config: ReadConfig) -> None:
    result = read_config(
        instance(" authentication {\n  auth_type AH\n  auth_type FOO\n  auth_pass secret\n }\n" + VIP)
    )
    assert errors(result) == ["(VI_1) unknown authentication type 'FOO'"]
    vi = result.config.vrrp.instances[0]
    assert (vi.auth_type, vi.auth_data) == (AuthType.AH, b"secret\0\0")


def test_configtest_t3_vips_of_the_other_family_and_bad_prefixes_are_dropped(read_config: ReadConfig) -> None:
    result = read_config(
        instance(" virtual_ipaddress {\n  10.0.0.1/33\n  fe80::1\n  10.77.0.5/24 dev eth1\n }")
    )
    assert errors(result) == [
        "number '33' outside range [0, 32]",
        "Invalid address prefix len 33 for address 10.0.0.1/33 - using 32",
        "(VI_1): address family must match VRRP instance [fe80::1] - ignoring",
    ]
    vi = result.config.vrrp.instances[0]
    assert [str(a.address) for a in vi.vips] == ["10.0.0.1/32", "10.77.0.5/24"]
    assert [a.ifname for a in vi.vips] == ["eth0", "eth1"]  # completion puts VIPs without dev on eth0
    assert vi.family == 4


def test_excluded_vips_routes_and_rules(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            VIP
            + """ virtual_ipaddress_excluded {
  fe80::10/64
 }
 virtual_routes {
  10.9.0.0/16 via 10.77.0.254 dev eth0
 }
 virtual_rules {
  from 10.9.0.0/16 table 100 preference 1000
 }"""
        )
    )
    vi = result.config.vrrp.instances[0]
    assert [str(a.address) for a in vi.evips] == ["fe80::10/64"]
    assert [str(r.dst) for r in vi.vroutes] == ["10.9.0.0/16"]
    assert [(str(r.from_addr), r.table, r.priority) for r in vi.vrules] == [("10.9.0.0/16", 100, 1000)]
    assert errors(result) == []


def test_version_and_family_keywords(read_config: ReadConfig) -> None:
    result = read_config(
        instance(" version 3\n version 2\n native_ipv6\n virtual_ipaddress {\n  fe80::5\n }", "VI_1")
        + instance(VIP + " native_ipv6", "VI_2").replace("virtual_router_id 51", "virtual_router_id 52")
    )
    assert errors(result) == [
        "(VI_1) vrrp_version 2 conflicts with configured or deduced version 3; ignoring.",
        "(VI_2) Cannot specify native_ipv6 with IPv4 addresses",
    ]
    first, second = result.config.vrrp.instances
    assert (first.family, first.version) == (6, 3)
    assert (second.family, second.version) == (4, 2)


def test_source_and_multicast_addresses(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            VIP
            + """ mcast_src_ip 10.77.0.1.1
 unicast_src_ip fe80::1
 mcast_src_ip 10.77.0.9
 mcast_dst_ip 10.1.1.1
 mcast_dst_ip ff05::1
 mcast_dst_ip 224.0.0.99
 track_src_ip"""
        )
    )
    assert errors(result) == [
        "Configuration error: VRRP instance[VI_1] malformed src address[10.77.0.1.1]. Skipping...",
        "Configuration error: VRRP instance[VI_1] and src address[fe80::1] MUST be of the same family !!! "
        "Skipping...",
        "(VI_1) mcast_dst_ip 10.1.1.1 not multicast. Skipping...",
        "(VI_1) mcast dest address ff05::1 MUST match VRRP instance family. Skipping...",
        "(VI_1) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. "
        "This usage is deprecated - please update your configuration.",
    ]
    vi = result.config.vrrp.instances[0]
    assert vi.source_address == ipaddress.IPv4Address("10.77.0.9") and vi.source_from_config
    assert vi.mcast_dst == ipaddress.IPv4Address("224.0.0.99")
    assert vi.track_source_address and vi.unicast_configured and not vi.unicast


def test_unicast_peers_and_their_options(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            VIP
            + """ unicast_src_ip 10.77.0.1
 unicast_ttl 10
 old_unicast_checksum never
 unicast_peer {
  10.77.0.2 min_ttl 10 max_ttl 5
  10.77.0.3 min_ttl
  10.77.0.4 foo 3
  10.77.0.5 min_ttl x
  bogus
  fe80::5
 }"""
        )
    )
    assert errors(result) == [
        "(VI_1) min_ttl 10 > max_ttl 5 - all packets will be discarded",
        "(VI_1) min_ttl is missing a value",
        "(VI_1) unknown unicast_peer option foo",
        "invalid number 'x'",
        "Configuration error: VRRP instance[VI_1] malformed unicast peer address[bogus]. Skipping...",
        "Configuration error: VRRP instance[VI_1] and unicast peer address[fe80::5] MUST be of the same "
        "family !!! Skipping...",
    ]
    vi = result.config.vrrp.instances[0]
    assert [(str(p.address), p.min_ttl, p.max_ttl) for p in vi.unicast_peers] == [
        ("10.77.0.2", 10, 5),
        ("10.77.0.3", 0, 255),
        ("10.77.0.4", 0, 255),
        ("10.77.0.5", 0, 255),
    ]
    assert vi.unicast and vi.check_unicast_src and vi.ttl == 10 and vi.mcast_dst is None
    assert vi.unicast_checksum_compat == ChecksumCompat.NEVER


def test_unicast_ttl_needs_peers(read_config: ReadConfig) -> None:
    result = read_config(instance(VIP + " unicast_ttl 5\n old_unicast_checksum foo"))
    assert errors(result) == [
        "(VI_1) Unknown old_unicast_chksum mode foo - ignoring",
        "(VI_1): Cannot use unicast_ttl without unicast peers - resetting",
        "(VI_1) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. "
        "This usage is deprecated - please update your configuration.",
    ]
    assert result.config.vrrp.instances[0].ttl == 0


def test_notify_scripts(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            VIP
            + """ notify_master "/bin/true master"
 notify_master /bin/false
 notify /bin/true
 notify_deleted
 notify_deleted /bin/true
 notify_master_rx_lower_pri /bin/true"""
        ),
        host=script_host(),
    )
    assert errors(result) == [
        "(VI_1) notify_master script already specified - ignoring /bin/false",
        "(VI_1) notify_deleted already specified - ignoring /bin/true",
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
    ]
    vi = result.config.vrrp.instances[0]
    assert vi.notify.master is not None and vi.notify.master.args == ["/bin/true", "master"]
    assert vi.notify.notify is not None and vi.notify.deleted is None and vi.notify_deleted
    assert vi.notify.master_rx_lower_pri is not None and vi.notify_exec


def test_lvs_sync_daemon_interface_is_deprecated(read_config: ReadConfig) -> None:
    result = read_config(
        instance(VIP + " lvs_sync_daemon_interface eth1")
        + instance(VIP + " lvs_sync_daemon_interface eth2", "V").replace("51", "52")
    )
    assert errors(result) == [
        "(VI_1) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
        "        Please use global lvs_sync_daemon",
        "(V) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
        "       Please use global lvs_sync_daemon",
        "(V) lvs_sync_daemon_interface has already been specified as eth1 - ignoring",
    ]
    syncd = result.config.global_defs.lvs_syncd
    assert (syncd.interface, syncd.vrrp_instance, syncd.sync_id) == ("eth1", "VI_1", 0)


def test_garp_extra_if(read_config: ReadConfig) -> None:
    result = read_config(instance(VIP + " garp_extra_if\n garp_extra_if all 99999\n vmac_garp_intvl all 30"))
    assert errors(result) == [
        "(VI_1): garp_extra_if specified without time - ignoring",
        "number '99999' outside range [0, 86400]",
        "(VI_1): garp_extra_if '99999' invalid - ignoring",
        'Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"',
    ]
    assert result.report.diagnostics[3].severity == Severity.DEPRECATED
    vi = result.config.vrrp.instances[0]
    assert vi.garp_extra_if_all
    assert vi.garp_extra_if_us == 0  # no interface other than the instance's: no extra GARPs


# -- use_vmac / use_ipvlan ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "message", "mac"),
    [
        ("vm1 02:11:22:33:44:55", None, bytes.fromhex("021122334455")),
        ("02:11:22:33:44", None, bytes.fromhex("021122334433")),  # the VRID (51 = 0x33) is appended
        ("02:11:22:33:44:", None, bytes.fromhex("021122334433")),
        ("01:11:22:33:44:55", "VMAC MAC address is multicast 01:11:22:33:44:55 - ignoring", None),
        (
            "00:00:5e:00:01:05",
            "VMAC MAC address not allowed to be RFC5798 address (00:00:5e:00:01:05) - ignoring",
            None,
        ),
        ("00:zz:22", "VMAC invalid MAC address 00:zz:22", None),
        ("2:11:22:333:44:55", "VMAC invalid MAC address 2:11:22:333:44:55 - ignored", None),
        ("2:11:22:33", "VMAC invalid MAC address 2:11:22:33 - ignored", None),
        ("a/b", "VMAC interface name 'a/b' too long or invalid characters - ignoring", None),
        (
            "eth1",
            "(VI_1) interface eth1 already exists and is not a private macvlan; ignoring vmac if_name",
            None,
        ),
    ],
)
def test_use_vmac_name_and_mac(
    read_config: ReadConfig, words: str, message: str | None, mac: bytes | None
) -> None:
    result = read_config(instance(VIP + f" use_vmac {words}"))
    assert [m for m in errors(result) if m.startswith(("VMAC", "(VI_1) interface"))] == (
        [message] if message else []
    )
    vi = result.config.vrrp.instances[0]
    assert vi.use_vmac and vi.vmac_mac == mac
    assert vi.vmac_interface == ("vm1" if words.startswith("vm1") else "vrrp.51")


def test_use_ipvlan(read_config: ReadConfig) -> None:
    result = read_config(instance(VIP + " use_ipvlan private bridge 10.77.0.50/24 ipv0 extra\n use_ipvlan"))
    assert errors(result) == [
        "(VI_1) ipvlan type already specified - ignoring 'bridge'",
        "(VI_1) IPVLAN interface already specified - ignoring 'extra'",
        "(VI_1) use_ipvlan already specified",
    ]
    vi = result.config.vrrp.instances[0]
    assert vi.use_ipvlan and vi.ipvlan_type == IpvlanMode.PRIVATE and vi.vmac_interface == "ipv0"
    assert vi.ipvlan_address is not None and str(vi.ipvlan_address.address) == "10.77.0.50/24"
    assert vi.source_address == ipaddress.IPv4Address("10.77.0.50") and vi.source_from_config


# -- track_* blocks ---------------------------------------------------------------------------------------


def test_track_interface_entries(read_config: ReadConfig) -> None:
    result = read_config(
        instance(
            VIP
            + """ track_interface {
  eth1 weight 254
  eth1
  eth9
  eth2 weight
  eth2 foo
  eth2 weight 300
  eth3 weight 10 bad
  lo weight -20 reverse
 }"""
        )
    )
    assert errors(result) == [
        "(VI_1) weight for eth1 cannot be +/-254. Setting to +/-253",
        "(VI_1) duplicate track_interface eth1 - ignoring",
        "(VI_1) tracked interface eth9 doesn't exist",
        "(VI_1) weight without value specified for track_interface eth2 - ignoring",
        "(VI_1) unknown track_interface eth2 option foo - ignoring",
        "number '300' outside range [-254, 254]",
        "(VI_1) weight 300 for eth2 must be between [-253..253] inclusive. Ignoring...",
        "(VI_1) unknown track_interace eth3 weight option bad - ignoring",
        "Non-existent interface specified in configuration",
    ]
    tracked = result.config.vrrp.instances[0].track.interfaces
    assert [(t.interface, t.weight, t.reverse) for t in tracked] == [
        ("eth1", 253, False),
        ("eth2", 0, False),
        ("eth3", 10, False),
        ("lo", -20, True),
    ]


def test_track_script_entries_take_the_script_weight_by_default(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_script chk {
 script /bin/true
 weight -10 reverse
}
"""
        + instance(
            VIP
            + """ track_script {
  chk
  chk weight 5
  missing
 }"""
        ),
        host=script_host(),
    )
    assert errors(result)[:2] == [
        "(VI_1) duplicate track_script chk - ignoring",
        "(VI_1) track script missing not found, ignoring...",
    ]
    (tracked,) = result.config.vrrp.instances[0].track.scripts
    assert (tracked.script.name, tracked.weight, tracked.reverse) == ("chk", -10, True)


@pytest.mark.parametrize(
    ("entry", "message", "kept"),
    [
        ("chk weight 20 noreverse", None, (20, False)),
        ("chk wt 20", "(VI_1) unknown track script option wt - ignoring", None),
        ("chk weight", "(VI_1) weight without value specified for track script chk - ignoring", None),
        ("chk weight -254", "(VI_1) weight for chk cannot be +/-254. Setting to +/-253", (-253, True)),
        (
            "chk weight x",
            "(VI_1) track script chk: weight must be between [-253..253] inclusive, ignoring...",
            (-10, True),
        ),
        (
            "chk weight 5 sideways",
            "(VI_1) unknown track_script chk weight option sideways - ignoring",
            (5, True),
        ),
    ],
)
def test_track_script_weight_options(
    read_config: ReadConfig, entry: str, message: str | None, kept: tuple[int, bool] | None
) -> None:
    result = read_config(
        "vrrp_script chk {\n script /bin/true\n weight -10 reverse\n}\n"
        + instance(VIP + f" track_script {{\n  {entry}\n }}"),
        host=script_host(),
    )
    assert [m for m in errors(result) if m.startswith("(VI_1)")] == ([message] if message else [])
    tracked = result.config.vrrp.instances[0].track.scripts
    assert [(t.weight, t.reverse) for t in tracked] == ([kept] if kept else [])


def test_track_file_and_process_entries(read_config: ReadConfig) -> None:
    result = read_config(
        """track_file f1 {
 file /run/f1
 weight 3
}
vrrp_track_process p1 {
 process sshd
 weight 4 reverse
}
"""
        + instance(
            VIP
            + """ track_file {
  f1 weight 2 reverse
  f1
  f9
  f1x
 }
 track_process {
  p1 weight 300
  p1
  p2
 }
 track_bfd {
  b1
 }"""
        )
    )
    assert errors(result) == [
        "(VI_1) duplicate track_file f1 - ignoring",
        "(VI_1) track file f9 not found, ignoring...",
        "(VI_1) track file f1x not found, ignoring...",
        "number '300' outside range [-254, 254]",
        "(VI_1) weight for track process p1 must be in [-254..254] inclusive. Ignoring...",
        "(VI_1) duplicate track_process p1 - ignoring",
        "(VI_1) track process p2 not found, ignoring...",
        "(VI_1) track bfd b1 not found, ignoring...",
    ]
    track = result.config.vrrp.instances[0].track
    assert [(t.file.name, t.weight, t.reverse) for t in track.files] == [("f1", 2, True)]
    assert [(t.process.name, t.weight, t.reverse) for t in track.processes] == [("p1", 4, True)]


# -- vrrp_script ------------------------------------------------------------------------------------------


def test_vrrp_script_defaults_and_values(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_script plain {
 script "/bin/true arg"
}
vrrp_script full {
 script /bin/false
 interval 3
 timeout 2
 weight 10 reverse
 rise 4
 fall 5
 user nobody
 init_fail
}
""",
        host=script_host(users={"root": User("root", 0, 0), "nobody": User("nobody", 65534, 65534)}),
    )
    plain, full = result.config.vrrp.scripts
    assert plain.script.args == ["/bin/true", "arg"] and (plain.script.uid, plain.script.gid) == (0, 0)
    assert (plain.interval_us, plain.timeout_us, plain.weight, plain.rise, plain.fall) == (
        1_000_000,
        0,
        0,
        1,
        1,
    )
    assert not plain.init_fail and not plain.weight_reverse
    assert (full.interval_us, full.timeout_us, full.weight, full.weight_reverse) == (
        3_000_000,
        2_000_000,
        10,
        True,
    )
    assert (full.rise, full.fall, full.init_fail, full.script.uid) == (4, 5, True, 65534)


def test_vrrp_script_bad_values(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_script s1 {
 script "/bin/true"
 interval 0
 interval x
 timeout 99999
 weight 5 bogus
 rise 0
 user nosuchuser
}
vrrp_script s2 {
 interval 2
}
""",
        host=script_host(),
    )
    assert errors(result) == [
        "(s1): vrrp script interval must be greater than 0, setting to 1",
        "invalid number 'x'",
        "(s1): vrrp script interval 'x' must be between 1 and 4294 - ignoring",
        "number '99999' outside range [0, 4294]",
        "(s1): vrrp script timeout '99999' invalid - ignoring",
        "vrrp_script s1 unknown weight option bogus",
        "number '0' outside range [1, 2147483647]",
        "(s1): vrrp script rise value '0' invalid, defaulting to 1",
        "Unable to set uid/gid for script '/bin/true'",
        "No script set for vrrp_script s2 - removing",
    ]
    assert result.config.vrrp.scripts == []  # s1 removed for its user, s2 for having no script


def test_configtest_t3_a_rejected_script_weight_is_kept(read_config: ReadConfig) -> None:
    result = read_config("vrrp_script chk {\n script /bin/true\n weight 300\n}\n", host=script_host())
    assert errors(result) == [
        "number '300' outside range [-253, 253]",
        "vrrp_script chk weight 300 must be in [-253, 253]",
    ]
    assert result.config.vrrp.scripts[0].weight == 300


def test_configtest_t7_no_default_script_user_under_script_security(read_config: ReadConfig) -> None:
    result = read_config(
        "global_defs {\n enable_script_security\n}\nvrrp_script chk {\n script /bin/true\n interval 5\n}\n"
        + instance(" virtual_ipaddress {\n  10.77.0.100\n }\n track_script {\n  chk\n }"),
        host=script_host(),
    )
    assert errors(result) == [
        "Unable to set default user keepalived_script for script",
        "Unable to set default user for vrrp script chk - removing",
        "(VI_1) track script chk not found, ignoring...",
    ]
    assert result.exit_status == 5


# -- vrrp_track_process / track_file ----------------------------------------------------------------------


def test_vrrp_track_process(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_track_process p1 {
 process sshd -D
 process other
 param_match bogus
 param_match partial
 weight
 weight 10 rev
 weight 5
 quorum 0
 quorum_max 2
 delay 0
 fork_delay 1.5
}
vrrp_track_process p2 {
 quorum 3
}
vrrp_track_process p3 {
 process bash
}
"""
    )
    assert errors(result) == [
        "Process already set for track process p1 - ignoring other",
        "Invalid param_match type bogus - ignoring",
        "No weight specified for track process p1 - ignoring",
        "vrrp_track_process p1 unknown weight option rev",
        "Weight already set for track process p1 - ignoring 5",
        "number '0' outside range [1, 65535]",
        "Quorum (0) for vrrp_track_process p1 must be between [1..65535] inclusive. Ignoring...",
        "number '0' outside range [0.000001, 3600.000000]",
        "delay (0) for vrrp_track_process p1 must be between [0.000001..3600] inclusive. Ignoring...",
        "track process 'p2' process name not specified",
    ]
    p1, p3 = result.config.vrrp.track_processes
    assert (p1.path, p1.params, p1.param_match, p1.full_command) == ("sshd", ["-D"], ParamMatch.PARTIAL, True)
    assert (p1.weight, p1.weight_reverse, p1.quorum, p1.quorum_max) == (10, False, 1, 2)
    assert (p1.fork_delay_us, p1.terminate_delay_us) == (1_500_000, 0)
    assert (p3.quorum, p3.quorum_max, p3.full_command) == (1, 2**32 - 1, False)
    data = result.config.vrrp
    assert data.use_process_cmdline and data.use_process_comm and data.max_process_name_len == len("sshd -D ")


def test_track_files(read_config: ReadConfig) -> None:
    host = lab_host(files={"/run/dir": FileStatus(stat.S_IFDIR | 0o755, 0, 0)})
    result = read_config(
        """track_file f1 {
 file
 file /run/f1
 file /run/f2
 weight 300
 weight 5 rev
 weight 6
 init_file 5 overwrite bogus 999
}
vrrp_track_file f2 {
 weight 3
}
track_file f3 {
 file /run/dir
 init_file overwrite
}
track_file f4 {
 file /run/new
 init_file -7
}
""",
        host=host,
    )
    assert rendered(result) == [
        "(keepalived.conf: Line 2) track file file name missing",
        "(keepalived.conf: Line 4) File already set for track file f1 - ignoring /run/f2",
        "(keepalived.conf: Line 5) number '300' outside range [-254, 254]",
        "(keepalived.conf: Line 5) Weight (300) for track_file f1 must be between [-254..254] inclusive. "
        "Ignoring...",
        "(keepalived.conf: Line 6) track_file f1 unknown weight option rev",
        "(keepalived.conf: Line 7) Weight already set for track file f1 - ignoring 6",
        "(keepalived.conf: Line 8) Unknown track file init option bogus",
        "(keepalived.conf: Line 8) Track file f1 init value 999 is outside sensible range [-254, 254]",
        '(keepalived.conf: Line 10) "vrrp_track_file" is deprecated, please use "track_file"',
        "(keepalived.conf: Line 12) No file set for track_file f2 - ignoring",
        "(keepalived.conf: Line 16) Cannot initialise track file f3 - it is not a regular file",
    ]
    f1, f3, f4 = result.config.vrrp.track_files
    assert (f1.path, f1.weight, f1.init, f1.init_value) == ("/run/f1", 5, TrackFileInit.OVERWRITE, 999)
    assert f3.init == TrackFileInit.NONE  # nothing to write
    assert (f4.init, f4.init_value, f4.weight) == (TrackFileInit.CREATE, -7, 1)


# -- sync groups, track groups, garp groups, interfaces --------------------------------------------------


def test_sync_group_keywords(read_config: ReadConfig) -> None:
    result = read_config(
        """vrrp_sync_group {
}
vrrp_sync_group G1 {
 group {
  VI_1
 }
 notify_master "/bin/true m"
 notify_master "/bin/false x"
 notify "/bin/true n"
 smtp_alert maybe
 smtp_alert no
 global_tracking
 notify_priority_changes bad
 group {
  VI_2
 }
}
vrrp_sync_group G1 {
}
vrrp_sync_group G2 {
 group {
 }
}
"""
        + instance(VIP),
        host=script_host(),
    )
    assert errors(result)[:9] == [
        "vrrp_sync_group must have a name - skipping",
        "vrrp group G1: notify_master script already specified - ignoring /bin/false x",
        "Invalid vrrp_group smtp_alert parameter maybe",
        "(G1) global_tracking is deprecated. Use track_interface/script/file on the sync group",
        "(G1) Invalid value 'bad' for sync group notify_priority_changes specified",
        "Group list already specified for sync group G1",
        # skipping the second group block ends the sync group's block too, as in keepalived
        "Unknown keyword '}'",
        "vrrp sync group G1 already defined",
        "Warning - sync group G2 has empty group block",
    ]
    assert "Sync group G2 has no virtual router(s). removing" in errors(result)
    (group,) = [g for g in result.config.vrrp.sync_groups if g.name == "G1"]
    assert group.instance_names == ["VI_1"] and group.tracking_weight and group.smtp_alert is False
    assert group.notify.master is not None and group.notify.notify is not None and group.notify_exec


def test_track_groups_garp_groups_linkbeat_and_delays(read_config: ReadConfig) -> None:
    result = read_config(
        """track_group TG1 {
 group {
  VI_1
 }
}
track_group TG1 {
}
garp_group {
 garp_interval x
 gna_interval 0.5
 interface eth9
 interface eth1
 interfaces {
  eth1
  eth2
 }
}
garp_group {
 interface eth3
}
linkbeat_interfaces {
 eth1 MII
 eth2 FOO
}
interface_up_down_delays {
 eth1 10 5
 eth2
}
"""
    )
    assert errors(result) == [
        "track_group TG1 already defined",
        "invalid number 'x'",  # keepalived then takes 0: its decimal reading is lenient even under -t
        "WARNING - interface eth9 specified for garp_group doesn't exist",
        "garp_group already specified for eth2 - ignoring",
        "garp group 0 does not have any delay set - removing",
        "extra characters FOO in linkbeat interface",
        "Non-existent interface specified in configuration",
    ]
    data = result.config.vrrp
    assert [g.name for g in data.track_groups] == ["TG1"] and data.track_groups[0].instance_names == ["VI_1"]
    (garp,) = data.garp_groups
    assert (garp.gna_interval_us, garp.garp_interval_us, garp.interfaces, garp.aggregation_group) == (
        500_000,
        0,
        ["eth1", "eth2"],
        1,
    )
    assert data.linkbeat_interfaces == {"eth1": LinkbeatType.MII, "eth2": LinkbeatType(0)}
    assert (data.interface_delays["eth1"].down_us, data.interface_delays["eth1"].up_us) == (
        10_000_000,
        5_000_000,
    )
    assert "eth2" not in data.interface_delays


def test_missing_interfaces_are_fatal_for_linkbeat_and_delays(read_config: ReadConfig) -> None:
    result = read_config("linkbeat_interfaces {\n eth9\n}\ninterface_up_down_delays {\n eth9 1\n}\n")
    assert [(d.severity, d.message) for d in result.report] == [
        (Severity.FATAL, "unknown interface eth9 specified for linkbeat interface"),
        (Severity.FATAL, "unknown interface eth9 specified for up/down delay"),
    ]
    assert result.exit_status == 4


def test_dynamic_interfaces_keep_missing_interfaces(read_config: ReadConfig) -> None:
    result = read_config("global_defs {\n dynamic_interfaces\n}\n" + instance(VIP).replace("eth0", "eth7"))
    assert [d.render() for d in result.report if d.log] == [
        "(keepalived.conf: Line 5) Configuration specifies interface eth7 which doesn't currently exist - "
        "will use if created"
    ]
    assert errors(result) == []
    data = result.config.vrrp
    assert data.instances[0].interface == "eth7" and data.created_interfaces == ["eth7"]
    assert not data.nonexistent_interface


# -- the seed ---------------------------------------------------------------------------------------------

SEED_NODE = """global_defs {
  # optimization option for advanced use
  max_auto_priority
  enable_script_security
  script_user nginx
}

# Script to check whether Nginx is running or not
vrrp_script check_nginx {
  script "/etc/keepalived/check_nginx.sh"
  interval 3
}

vrrp_instance VRRP_1 {
  state MASTER
  interface eth0
  virtual_router_id 70
  priority PRIORITY
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.101.1.10/24
  }
  # Use the script above to check if we should fail over
  track_script {
    check_nginx
  }
}
"""
NGINX = User("nginx", 998, 998)


def seed_host() -> StaticHost:
    return lab_host(
        users={"root": User("root", 0, 0), "nginx": NGINX},
        groups={"root": 0, "nginx": NGINX.gid},
        files={"/etc/keepalived/check_nginx.sh": FileStatus(stat.S_IFREG | 0o700, NGINX.uid, NGINX.gid)},
    )


@pytest.mark.parametrize("priority", [255, 250])
def test_the_seed_node_configuration(read_config: ReadConfig, priority: int) -> None:
    result = read_config(SEED_NODE.replace("PRIORITY", str(priority)), host=seed_host())
    assert [d.render() for d in result.report if not d.log] == []
    assert result.exit_status == 0
    (vi,) = result.config.vrrp.instances
    assert (vi.name, vi.interface, vi.vrid, vi.base_priority, vi.wantstate) == (
        "VRRP_1",
        "eth0",
        70,
        priority,
        VrrpState.MASTER,
    )
    assert (vi.auth_type, vi.auth_data, vi.advert_int_us) == (AuthType.PASS, b"secret\0\0", 1_000_000)
    assert [(str(a.address), a.ifname) for a in vi.vips] == [("10.101.1.10/24", "eth0")]
    (tracked,) = vi.track.scripts
    script = tracked.script
    assert (script.name, script.script.args, script.interval_us, tracked.weight) == (
        "check_nginx",
        ["/etc/keepalived/check_nginx.sh"],
        3_000_000,
        0,
    )
    assert (script.script.uid, script.script.gid) == (NGINX.uid, NGINX.gid)
    assert script.tracking[0].instance == "VRRP_1"

"""The checker process's configuration: `SSL`, `virtual_server_group`, `virtual_server`, real servers and
health checkers, read and completed as keepalived 2.2.7's checker process does.

Expected messages are keepalived's own: the recorded `-t` runs over its doc/samples
(keepalived-evidence/samples_configtest_2.2.7.txt) and real-binary runs (tools/keepalived-compare) on the
configurations below. Where hapair deliberately differs (keepalived bugs), the test says so.
"""

from __future__ import annotations

import re
import stat
from ipaddress import IPv4Address, IPv6Address

import pytest

from hapair.config.keepalived.host import FileStatus
from hapair.config.keepalived.load import load
from hapair.config.keepalived.model.check_data import SslContext
from hapair.config.keepalived.model.checkers import (
    AddressRange,
    BfdCheck,
    Connection,
    DnsCheck,
    FileCheck,
    Forwarding,
    FwmarkEntry,
    HttpCheck,
    MiscCheck,
    PingCheck,
    Protocol,
    Regex,
    ServiceFlag,
    SmtpCheck,
    SocketAddress,
    TcpCheck,
    UdpCheck,
    ip_text,
)
from tests.reference import EVIDENCE, SAMPLES

from .conftest import errors, lab_host, rendered

SECONDS = 1_000_000


def recorded_runs() -> dict[str, tuple[list[str], int]]:
    """The messages and exit status of each sample's recorded `keepalived -t` run."""
    runs: dict[str, tuple[list[str], int]] = {}
    name, lines = "", []
    for line in (EVIDENCE / "samples_configtest_2.2.7.txt").read_text().splitlines():
        if line.startswith("### keepalived -t -f "):
            name, lines = line.split()[4], []
        elif line.startswith("rc="):
            runs[name] = (lines, int(line[3:]))
        else:
            lines.append(line)
    return runs


CHECKER_SAMPLES = sorted(
    p.name for p in SAMPLES.glob("keepalived.conf.*") if re.search(r"^\s*virtual_server", p.read_text(), re.M)
)


def read_sample(name: str, host=None):
    return load(name, host or lab_host(), cwd=str(SAMPLES))


def ip(text: str) -> IPv4Address | IPv6Address:
    return IPv4Address(text) if ":" not in text else IPv6Address(text)


def conf(body: str) -> str:
    """A virtual server on 10.0.0.1:80/TCP, round robin, NAT, with `body` inside."""
    return f"virtual_server 10.0.0.1 80 {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n{body}\n}}\n"


def rs_conf(body: str) -> str:
    """A real server 10.0.0.2:80 of `conf()` with `body` inside."""
    return conf(f" real_server 10.0.0.2 80 {{\n{body}\n }}")


# -- the samples ----------------------------------------------------------------------------------------
def test_the_samples_with_virtual_servers_are_found() -> None:
    assert len(CHECKER_SAMPLES) == 16
    assert "keepalived.conf.fwmark" in CHECKER_SAMPLES


@pytest.mark.parametrize("name", CHECKER_SAMPLES)
def test_sample_gives_keepalived_messages_and_status(name: str) -> None:
    """keepalived prints its completion messages without a place; hapair places them where the object
    they are about was defined."""
    expected, status = recorded_runs()[name]
    result = read_sample(name)
    printed = {d.render() for d in result.report if not d.log}
    placed_by_hapair = {d.render(): d.message for d in result.report if d.render() not in expected}
    assert sorted({placed_by_hapair.get(line, line) for line in printed}) == sorted(set(expected))
    assert result.exit_status == status


def test_fwmark_sample_warns_protocol_is_ignored_and_keeps_real_servers_portless() -> None:
    result = read_sample("keepalived.conf.fwmark")
    assert errors(result) == [
        "Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored"
    ]
    assert result.exit_status == 5
    (vs,) = result.config.checkers.virtual_servers
    assert (vs.fwmark, vs.address, vs.protocol, vs.family) == (1, None, None, 4)
    assert (vs.scheduler, vs.forwarding, vs.persistence_timeout, vs.delay_loop_us) == (
        "rr",
        Forwarding("NAT"),
        900,
        6 * SECONDS,
    )
    assert [rs.address for rs in vs.real_servers] == [
        SocketAddress(ip("192.168.201.100")),
        SocketAddress(ip("192.168.201.101")),
    ]
    checker = vs.real_servers[0].checkers[0]
    assert isinstance(checker, TcpCheck)
    assert checker.connection == Connection(ip("192.168.201.100"), 80, timeout_us=3 * SECONDS)


def test_quorum_sample_values() -> None:
    result = read_sample(
        "keepalived.conf.quorum",
        script_host("/usr/local/sbin/quorum-up.sh", "/usr/local/sbin/quorum-down.sh"),
    )
    assert errors(result) == [
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled."
    ]
    (vs,) = result.config.checkers.virtual_servers
    assert (vs.alpha, vs.omega, vs.quorum, vs.hysteresis, vs.scheduler) == (True, True, 7, 2, "wrr")
    assert vs.quorum_up is not None and vs.quorum_up.args == ["/usr/local/sbin/quorum-up.sh"]
    assert vs.quorum_down is not None and vs.quorum_down.args == ["/usr/local/sbin/quorum-down.sh"]
    assert len(vs.real_servers) == 10
    for rs in vs.real_servers:
        assert rs.alpha is True and rs.weight == 1 and rs.address.port == 8080
        (checker,) = rs.checkers
        assert checker.alpha is True
        assert checker.connection == Connection(rs.address.address, 80, timeout_us=3 * SECONDS)


def test_quorum_scripts_that_cannot_be_found_are_dropped_without_a_security_violation() -> None:
    # keepalived's check_notify_script_secure frees them; nothing found is no script run
    (vs,) = read_sample("keepalived.conf.quorum").config.checkers.virtual_servers
    assert vs.quorum_up is None and vs.quorum_down is None


def test_virtual_server_group_sample_values() -> None:
    result = read_sample("keepalived.conf.virtual_server_group")
    (group,) = result.config.checkers.groups
    assert group.name == "VSG_1"
    assert group.ranges == [
        AddressRange(ip("10.0.0.1"), ip("10.0.0.1"), 8080),
        AddressRange(ip("10.0.0.2"), ip("10.0.0.2"), 80),
        AddressRange(ip("192.168.200.1"), ip("192.168.200.1"), 1358),
        AddressRange(ip("192.168.200.3"), ip("192.168.200.10"), 80),
    ]
    assert group.fwmarks == [FwmarkEntry(1), FwmarkEntry(2)]
    (vs,) = result.config.checkers.virtual_servers
    assert vs.group is group and vs.group_name == "VSG_1" and vs.family == 4 and vs.name == "[VSG_1]:0"
    http = vs.real_servers[1].checkers[0]
    assert isinstance(http, HttpCheck) and not http.ssl
    (url,) = http.urls
    assert url.path == "/testurl3/test.jsp"
    assert url.digest == bytes.fromhex("640205b7b0fc66c1ea91c463fac6334d")
    assert url.status_codes == set(range(200, 300))


def test_ipv6_sample_values() -> None:
    result = read_sample("keepalived.conf.IPv6")
    (group,) = result.config.checkers.groups
    assert group.ranges == [
        AddressRange(ip("ae00::2"), ip("ae00::9"), 80),
        AddressRange(ip("ae00::1"), ip("ae00::1"), 80),
    ]
    (vs,) = result.config.checkers.virtual_servers
    assert vs.address == SocketAddress(ip("ae00::1"), 80) and vs.family == 6
    (rs,) = vs.real_servers
    assert rs.address == SocketAddress(ip("ae00::10"), 25)  # NAT: its own port stays
    (smtp,) = rs.checkers
    assert isinstance(smtp, SmtpCheck)
    assert smtp.helo_name == "foo.bar.com"
    assert smtp.retry == 3
    assert smtp.connection == Connection(ip("ae00::10"), 25, timeout_us=3 * SECONDS)


def test_smtp_sample_host_blocks_become_checkers() -> None:
    result = read_sample("keepalived.conf.SMTP_CHECK")
    rs1, rs2, rs3 = result.config.checkers.virtual_servers[0].real_servers
    assert [c.connection for c in rs1.checkers] == [
        Connection(ip("172.16.1.10"), 25, timeout_us=30 * SECONDS)
    ]
    # connect_timeout given: the checker keeps its own connection and each host adds one, whose timeout is
    # the real server's (keepalived 2.2.7 leaves it 0, a bug)
    timeout = 5 * SECONDS
    assert [c.connection for c in rs2.checkers] == [
        Connection(ip("172.16.1.11"), 25, timeout_us=10 * SECONDS),
        Connection(ip("172.16.1.11"), 25, timeout_us=timeout),
        Connection(ip("192.168.155.10"), 25, timeout_us=timeout),
        Connection(ip("64.233.167.99"), 25, timeout_us=timeout),
    ]
    assert [c.connection for c in rs3.checkers][1:] == [
        Connection(ip("172.16.1.12"), 25, ip("172.16.1.2"), timeout_us=timeout),
        Connection(ip("192.168.155.11"), 25, ip("192.168.155.2"), timeout_us=timeout),
        Connection(ip("64.233.167.100"), 587, timeout_us=timeout),
    ]
    for checker in rs2.checkers:
        assert isinstance(checker, SmtpCheck)
        assert (checker.helo_name, checker.retry, checker.delay_before_retry_us) == (
            "foo.bar.com",
            2,
            5 * SECONDS,
        )
    assert rendered(result).count(
        "(keepalived.conf.SMTP_CHECK: Line 75) The SMTP_CHECK host block is deprecated. Please define "
        "additional "
        "checkers."
    )


def test_status_code_sample_ranges() -> None:
    (vs,) = read_sample("keepalived.conf.status_code").config.checkers.virtual_servers
    (ssl,) = vs.real_servers[0].checkers
    assert isinstance(ssl, HttpCheck) and ssl.ssl
    first, second = ssl.urls
    assert first.status_codes == set(range(200, 300)) | set(range(400, 500)) | {503, 505}
    assert second.status_codes == {200}
    assert second.digest == bytes.fromhex("9b3a0c85a887a256d6939da88aabd8cd")
    assert (ssl.retry, ssl.delay_before_retry_us, ssl.connection) == (
        3,
        3 * SECONDS,
        Connection(ip("192.168.201.100"), 443, timeout_us=3 * SECONDS),
    )


def test_ssl_and_http_sample_checkers() -> None:
    data = read_sample("keepalived.conf.SSL_GET").config.checkers
    kinds = [vs.real_servers[0].checkers[0] for vs in data.virtual_servers]
    assert [isinstance(k, HttpCheck) and k.ssl for k in kinds] == [True, False]
    assert data.ssl_required
    assert data.ssl is None


def test_http_get_port_sample_connects_to_the_given_port() -> None:
    (vs,) = read_sample("keepalived.conf.HTTP_GET.port").config.checkers.virtual_servers
    assert vs.real_servers[0].checkers[0].connection == Connection(
        ip("192.168.201.100"), 444, timeout_us=3 * SECONDS
    )


def test_udp_and_ping_sample_checkers_and_inherited_settings() -> None:
    (udp,) = (
        read_sample("keepalived.conf.UDP_CHECK").config.checkers.virtual_servers[0].real_servers[0].checkers
    )
    assert isinstance(udp, UdpCheck)
    assert (udp.retry, udp.delay_before_retry_us, udp.delay_loop_us, udp.warmup_us) == (
        3,
        3 * SECONDS,
        6 * SECONDS,
        6 * SECONDS,
    )
    assert (udp.payload, udp.require_reply, udp.min_reply_length, udp.max_reply_length) == (
        None,
        False,
        0,
        255,
    )
    (ping,) = (
        read_sample("keepalived.conf.PING_CHECK").config.checkers.virtual_servers[0].real_servers[0].checkers
    )
    assert isinstance(ping, PingCheck)
    # PING_CHECK: retry given, delay before retry the checkers' default of 1s, timeout the virtual server's 5s
    assert (ping.retry, ping.delay_before_retry_us, ping.connection) == (
        4,
        SECONDS,
        Connection(ip("192.168.200.6"), 1358, timeout_us=5 * SECONDS),
    )


def test_inhibit_virtualhost_and_sorry_server_samples() -> None:
    (vs,) = read_sample("keepalived.conf.inhibit").config.checkers.virtual_servers
    assert vs.real_servers[0].inhibit_on_failure is True and vs.inhibit_on_failure is False
    (vs,) = read_sample("keepalived.conf.virtualhost").config.checkers.virtual_servers
    assert vs.virtualhost == "www.firewall.loc"
    (vs,) = read_sample("keepalived.conf.sample").config.checkers.virtual_servers
    assert vs.sorry_server is not None
    assert vs.sorry_server.address == SocketAddress(ip("192.168.200.200"), 1358)
    assert (vs.sorry_server.forwarding, vs.sorry_server.weight) == (Forwarding("NAT"), 1)


def script_host(*scripts: str, mode: int = 0o755):
    """The lab host with root-owned directories down to each script (mode `mode`)."""
    host = lab_host()
    directory = FileStatus(stat.S_IFDIR | 0o755, 0, 0)
    files = {"/": directory}
    for script in scripts:
        parts = script.split("/")
        for i in range(2, len(parts)):
            files["/".join(parts[:i])] = directory
        files[script] = FileStatus(stat.S_IFREG | mode, 0, 0)
    host.files = files
    return host


def test_misc_check_sample_script_not_found_removes_the_checker() -> None:
    result = read_sample("keepalived.conf.misc_check")
    assert errors(result) == []
    assert result.config.checkers.virtual_servers[0].real_servers[0].checkers == []
    assert (
        "(keepalived.conf.misc_check: Line 21) Disabling misc script '/usr/local/bin/script.sh' since not "
        "found/accessible" in rendered(result)
    )


def test_misc_check_sample_with_the_script_present_is_a_security_violation() -> None:
    result = read_sample("keepalived.conf.misc_check_arg", script_host("/usr/local/bin/script.sh"))
    assert errors(result) == [
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled."
    ]
    assert result.exit_status == 6
    (misc,) = result.config.checkers.virtual_servers[0].real_servers[0].checkers
    assert isinstance(misc, MiscCheck)
    assert misc.script is not None and misc.script.args == ["/usr/local/bin/script.sh", "arg1", "arg2"]
    assert (misc.script.uid, misc.script.gid, misc.retry, misc.timeout_us) == (0, 0, 0, 0)


# -- virtual_server_group ---------------------------------------------------------------------------------
GROUP_ERRORS = """\
virtual_server_group G1 {
  10.0.0.10-5 80
  10.0.0.1-300 80
  10.0.0.1-3x 80
  10.0.0.0/24 80
  10.0.0.1/24 80
  10.0.0.0/33 80
  10.0.0.1-10.0.0.20 80
  10.0.0.30-10.0.0.20 80
  10.0.0.1-10.0.0.x 80
  10.0.0.300 80
  10.0.0.3 99999
  fwmark 6 inet
  fwmark 7 inet9
  fwmark x
  10.0.0.50 0
}
virtual_server_group G6 {
  ae00::1-ff 80
  ae00::1-10000 80
  ae00::f-5 80
  ae00::/120 80
  ae00::1/120 80
}
virtual_server_group G2 {
  10.0.0.1 80
  ae00::1 80
  fwmark 3
}
virtual_server_group G3 {
}
"""


def test_group_entries_and_their_errors(read_config) -> None:
    result = read_config(GROUP_ERRORS)
    assert errors(result) == [
        "Address range end is not greater than address range start - 10.0.0.10-5 - skipping",
        "Virtual server group range '10.0.0.1-300' end '300' too large",
        "Virtual server group range '10.0.0.1-3x' has extra characters at end 'x'",
        "Address mask bits not empty - 10.0.0.1/24 - skipping",
        "Invalid netmask - 10.0.0.0/33 - skipping",
        "Address range end is less than address range start - 10.0.0.30-10.0.0.20 - skipping",
        "Invalid range end 10.0.0.1-10.0.0.x - skipping",
        "Invalid virtual server group IP address 10.0.0.300 /port/80 - skipping",
        "number '99999' outside range [1, 65535]",
        "Invalid virtual server group IP address 10.0.0.3 /port/99999 - skipping",
        "(G1): fwmark '7' family inet9 unknown - ignoring",
        "invalid number 'x'",
        "(G1): fwmark 'x' must be in [0, 4294967295] - ignoring",
        "Virtual server group range 'ae00::1-10000' end '10000' too large",
        "Address range end is not greater than address range start - ae00::f-5 - skipping",
        "Address mask bits not empty - ae00::1/120 - skipping",
        "virtual server group G2 cannot have IPv4, IPv6 and fwmark without family - removing",
        "virtual server group G3 has no entries - removing",
    ]
    g1, g6 = result.config.checkers.groups
    assert g1.ranges == [
        AddressRange(ip("10.0.0.0"), ip("10.0.0.255"), 80),
        AddressRange(ip("10.0.0.1"), ip("10.0.0.20"), 80),
        AddressRange(ip("10.0.0.50"), ip("10.0.0.50"), 0),
    ]
    assert g1.fwmarks == [FwmarkEntry(6, 4)]
    assert g6.ranges == [
        AddressRange(ip("ae00::1"), ip("ae00::ff"), 80),
        AddressRange(ip("ae00::"), ip("ae00::ff"), 80),
    ]


def test_group_name_with_extra_word_stops_the_read_as_a_missing_parameter(read_config) -> None:
    result = read_config("virtual_server_group G extra {\n  10.0.0.1 80\n}\n")
    assert (
        errors(result)[0]
        == "*** Configuration line starting `***MISSING ***` is missing a parameter at word position 1"
    )
    assert result.exit_status == 2


def test_group_entries_on_the_block_lines(read_config) -> None:
    result = read_config("virtual_server_group G { 10.0.0.1 80 }\n")
    assert errors(result) == []
    assert result.config.checkers.groups[0].ranges == [AddressRange(ip("10.0.0.1"), ip("10.0.0.1"), 80)]


def test_group_virtual_servers_link_and_number(read_config) -> None:
    result = read_config(
        "virtual_server_group G { 10.0.0.1 80 }\n"
        + "".join(
            f"virtual_server group G {{\n protocol TCP\n real_server 10.0.0.{n} 80 {{\n }}\n}}\n"
            for n in (2, 3)
        )
        + "virtual_server group NOPE {\n real_server 10.0.0.2 80 {\n }\n}\n"
    )
    assert (
        "(keepalived.conf: Line 12) Virtual server group NOPE specified but not configured - ignoring "
        "virtual server [NOPE]:0" in rendered(result)
    )
    first, second = result.config.checkers.virtual_servers
    assert (first.name, second.name, first.family) == ("[G]:0", "[G]:1", 4)


def test_group_family_mismatch_drops_the_virtual_server(read_config) -> None:
    result = read_config(
        "virtual_server_group G { 10.0.0.1 80 }\n"
        "virtual_server group G {\n ip_family inet6\n real_server ae00::2 80 {\n }\n}\n"
    )
    assert "(keepalived.conf: Line 2) G: address family doesn't match virtual server [G]:0 - ignoring" in (
        rendered(result)
    )
    assert result.config.checkers.virtual_servers == []


# -- virtual_server -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "messages"),
    [
        (
            "fwmark x",
            ["invalid number 'x'", "virtual server fwmark 'x' must be in [0, 4294967295] - ignoring"],
        ),
        (
            "10.0.0.1 abc",
            ["invalid number 'abc'", "Invalid virtual server IP address/port 10.0.0.1/abc - skipping"],
        ),
        (
            "10.0.0.1 70000",
            [
                "number '70000' outside range [1, 65535]",
                "Invalid virtual server IP address/port 10.0.0.1/70000 - skipping",
            ],
        ),
        ("10.0.0.300 80", ["Invalid virtual server IP address/port 10.0.0.300/80 - skipping"]),
        ("10.0.0.300", ["Invalid virtual server IP address 10.0.0.300 - skipping"]),
        # keepalived prints the address through printf twice, so its %e turns into a number
        ("fe80::1%eth0 80", ["Invalid virtual server IP address/port fe80::1%eth0/80 - skipping"]),
        # keepalived accepts fwmark 0 and then uses an uninitialised address
        ("fwmark 0", ["virtual server fwmark '0' must be in [1, 4294967295] - ignoring"]),
    ],
)
def test_invalid_virtual_server_is_skipped_with_its_block(
    read_config, line: str, messages: list[str]
) -> None:
    result = read_config(f"virtual_server {line} {{\n  foo\n  real_server 10.0.0.2 80 {{\n  }}\n}}\n")
    assert errors(result) == messages
    assert result.config.checkers.virtual_servers == []


@pytest.mark.parametrize("line", ["virtual_server", "virtual_server group", "virtual_server fwmark"])
def test_virtual_server_without_its_value_is_a_missing_parameter(read_config, line: str) -> None:
    # keepalived crashes on the last two
    result = read_config(f"{line}\n")
    assert result.exit_status == 2


def test_virtual_server_port_zero_is_no_port(read_config) -> None:
    result = read_config("virtual_server 10.0.0.1 0 {\n protocol TCP\n real_server 10.0.0.2 {\n }\n}\n")
    assert errors(result) == [
        "Virtual server [10.0.0.1]:tcp:0: zero port only valid for persistent services - setting",
        "Virtual server [10.0.0.1]:tcp:0: no scheduler set, setting default 'wlc'",
        "Virtual server [10.0.0.1]:tcp:0: no forwarding method set, setting default NAT",
    ]
    (vs,) = result.config.checkers.virtual_servers
    assert vs.persistence_timeout == 360


VS_KEYWORD_ERRORS = """\
virtual_server_group G4 {
  10.0.0.1-5 80
  fwmark 9
}
virtual_server group G4 {
  lb_algo foo
  lb_algo sh
  sh-port
  mh-port
  flag-1
  ops
  lb_kind XX
  lb_kind TUN type gue
  lb_kind TUN type gue port 0
  lb_kind TUN type gue port 5 csum
  lb_kind TUN type gre remcsum
  lb_kind TUN foo
  lb_kind TUN type ipip csum
  lb_kind TUN type xyz
  lb_kind TUN port
  persistence_engine abcdefghijklmnopqrstuvwxyz
  persistence_timeout 0
  persistence_granularity 255.255.255.0
  persistence_granularity 0xffffff00
  persistence_granularity 255.255.x
  protocol udp
  protocol icmp
  ha_suspend
  smtp_alert maybe
  virtualhost
  snmp_name a b
  quorum 0
  hysteresis -1
  weight 0
  retry 0
  warmup -1
  connect_timeout 0
  delay_loop 0
  ip_family inet6
  ip_family foo
  sorry_server 10.0.0.9 99
  sorry_server_inhibit
  real_server 10.0.0.2 81 {
    lvs_method DR
    weight -1
    uthreshold x
    inhibit_on_failure maybe
    retry 0
    connect_timeout 5000
    delay_loop 0
    smtp_alert bad
    virtualhost
    snmp_name
  }
  real_server 10.0.0.2 81 {
  }
  real_server 10.0.0.9 99 {
  }
}
"""


def test_virtual_server_keyword_errors(read_config) -> None:
    result = read_config(VS_KEYWORD_ERRORS)
    assert errors(result) == [
        "Invalid lvs_scheduler 'foo' - ignoring",
        "PARSER : unknown [XX] routing method for virtual server.",
        "gue tunnels require port, otherwise cannot have port.",
        "number '0' outside range [1, 65535]",
        "Invalid gue tunnel port 0 for virtual server.",
        "gre tunnels do not support remote checksum option.",
        "Invalid tunnel option foo for virtual server.",
        "ipip tunnels do not support checksum option.",
        "Unknown tunnel type xyz for virtual server.",
        "Missing port for virtual server gue tunnel.",
        "persistence_name too long, truncating - abcdefghijklmnopqrstuvwxyz",
        "number '0' outside range [1, 2678400]",
        "persistence_timeout invalid",
        "Invalid IPv4 persistence_granularity specified - 255.255.x",
        "Unknown protocol icmp - ignoring",
        "Invalid virtual_server smtp_alert parameter maybe",
        "virtual server virtualhost missing",
        "virtual server snmp_name missing or extra parameters",
        "number '0' outside range [1, 4294967295]",
        "Quorum 0 must be in [1, 4294967295]. Setting to 1.",
        "negative number '-1'",
        "Hysteresis -1 must be in [0, 4294967295] - ignoring",
        "number '0' outside range [1, 2147483647]",
        "Virtual server weight 0 is outside range 1-2147483647",
        "number '0' outside range [1, 4294967295]",
        "retry value invalid - 0",
        "negative number '-1'",
        "virtual server warmup '-1' invalid - ignoring",
        "number '0' outside range [0.000001, 4294.967295]",
        "virtual server connect_timeout 0 invalid - ignoring",
        "number '0' outside range [0.000001, 18446744073709.551614]",
        "virtual server delay loop '0' invalid - ignoring",
        "Virtual server specified family inet6 conflicts with server family",
        "unknown address family foo",
        "negative number '-1'",
        "Real server weight -1 is outside range 0-2147483647",
        "invalid number 'x'",
        "Invalid real_server uthreshold 'x' - ignoring",
        "Invalid inhibit_on_failure parameter maybe",
        "number '0' outside range [1, 4294967295]",
        "retry value invalid - 0",
        "number '5000' outside range [0.000001, 4294.967295]",
        "real server connect_timeout 5000 invalid - ignoring",
        "number '0' outside range [0.000001, 18446744073709.551614]",
        "real server delay_loop '0' invalid - ignoring",
        "Invalid real_server smtp_alert parameter bad",
        "real server virtualhost missing",
        "real server snmp_name missing or extra parameters",
        "Virtual server [G4]:0: cannot use ha_suspend with fwmarks - clearing ha_suspend",
        "VS [G4]:0: real server [10.0.0.2]:udp:81 is duplicated - removing second rs",
        "Virtual server [G4]:0: real server [10.0.0.9]:udp:99 matches sorry server, but inhibit setting "
        "differs, "
        "clearing on sorry server",
        "WARNING - fwmark virtual server [G4]:0, real server [10.0.0.2]:udp:81 has port specified - port "
        "will be "
        "ignored",
        "WARNING - fwmark virtual server [G4]:0, real server [10.0.0.9]:udp:99 has port specified - port "
        "will be "
        "ignored",
        "WARNING - fwmark virtual server [G4]:0, sorry server has port specified - port will be ignored",
        "virtual server [G4]:0:[10.0.0.1-10.0.0.5,80] and real server [10.0.0.2]:udp:81 ports don't match",
        "virtual server [G4]:0:[10.0.0.1-10.0.0.5,80] and real server [10.0.0.9]:udp:99 ports don't match",
        "WARNING - virtual server [G4]:0, sorry server has port specified - port will be ignored",
    ]
    (vs,) = result.config.checkers.virtual_servers
    assert vs.scheduler == "sh"
    assert vs.flags == ServiceFlag.SCHED2 | ServiceFlag.SCHED1 | ServiceFlag.ONE_PACKET
    # the method changes as soon as it is valid; the tunnel options only when they all are
    assert vs.forwarding == Forwarding("TUN", "gue", 5, "csum")
    assert vs.persistence_engine == "abcdefghijklmnop"
    assert vs.persistence_granularity == IPv4Address("255.255.255.0")
    assert vs.persistence_timeout == 360
    assert (vs.protocol, vs.quorum, vs.hysteresis, vs.ha_suspend) == (Protocol.UDP, 1, 0, False)
    assert [rs.address.port for rs in vs.real_servers] == [81, 99]
    first = vs.real_servers[0]
    assert (first.forwarding, first.inhibit_on_failure, first.smtp_alert) == (Forwarding("DR"), False, True)
    assert vs.sorry_server is not None and vs.sorry_server.inhibit_on_failure is False


def test_forwarding_with_tunnel_options(read_config) -> None:
    result = read_config(
        conf(
            " lvs_method TUN type gre csum\n"
            " real_server 10.0.0.2 80 {\n  lvs_method TUN type gue port 6080 remcsum\n }\n"
            " real_server 10.0.0.3 80 {\n }\n"
        )
    )
    assert errors(result) == []
    first, second = result.config.checkers.virtual_servers[0].real_servers
    assert first.forwarding == Forwarding("TUN", "gue", 6080, "remcsum")
    assert second.forwarding == Forwarding("TUN", "gre", 0, "csum")


def test_real_server_addresses_and_families(read_config) -> None:
    result = read_config(
        "virtual_server 10.0.0.1 0 {\n ops\n sorry_server_inhibit\n sorry_server_lvs_method NAT\n"
        " real_server 10.0.0.2 {\n }\n real_server ae00::1 80 {\n }\n"
        " real_server ae00::2 80 {\n  lvs_method TUN\n }\n real_server 10.0.0.999 80 {\n  blah\n }\n"
        " sorry_server ae00::5 80\n}\n"
    )
    assert errors(result) == [
        "Ignoring sorry_server inhibit used before or without sorry_server",
        "sorry_server forwarding used without sorry_server",
        "Address family of virtual server and real server ae00::1 don't match - skipping real server.",
        "Invalid real server ip address/port 10.0.0.999/80 - skipping",
        "Address family of virtual server and sorry server ae00::5 don't match - skipping sorry server.",
        "Virtual server [10.0.0.1]:none:0: no protocol set - defaulting to UDP",
        "Virtual server [10.0.0.1]:udp:0: zero port only valid for persistent services - setting",
        "Virtual server [10.0.0.1]:udp:0: no scheduler set, setting default 'wlc'",
        "Virtual server [10.0.0.1]:udp:0: no forwarding method set, setting default NAT",
        "WARNING - virtual server [10.0.0.1]:udp:0 and real server [ae00::2]:udp:80 ports don't match - "
        "resetting",
    ]
    (vs,) = result.config.checkers.virtual_servers
    assert [rs.address for rs in vs.real_servers] == [
        SocketAddress(ip("10.0.0.2")),
        SocketAddress(ip("ae00::2")),
    ]
    assert vs.flags == ServiceFlag.ONE_PACKET and vs.sorry_server is None


def test_real_server_without_a_port_prints_null(read_config) -> None:
    result = read_config(conf(" real_server 10.0.0.999 {\n }\n real_server 10.0.0.2 80 {\n }"))
    assert errors(result)[0] == "Invalid real server ip address/port 10.0.0.999/(null) - skipping"


def test_ports_quorum_and_hysteresis_completion(read_config) -> None:
    result = read_config(
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n lvs_method DR\n quorum 10\n hysteresis 10\n"
        " real_server 10.0.0.2 {\n  weight 3\n }\n real_server 10.0.0.3 90 {\n  weight 3\n }\n"
        " sorry_server 10.0.0.4 91\n}\n"
        "virtual_server fwmark 4 {\n lvs_method TUN\n real_server ae00::2 80 {\n }\n real_server 10.0.0.2 "
        "80 {\n }\n}\n"
    )
    assert errors(result) == [
        "Virtual server [10.0.0.1]:tcp:80: no scheduler set, setting default 'wlc'",
        "Warning - quorum 10 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 6, reducing quorum "
        "to 6",
        "Virtual server [10.0.0.1]:tcp:80: hysteresis 10 >= quorum 6; setting hysteresis to 5",
        "WARNING - virtual server [10.0.0.1]:tcp:80 and real server [10.0.0.3]:tcp:90 ports don't match - "
        "resetting",
        "WARNING - virtual server [10.0.0.1]:tcp:80 and sorry server ports don't match - resetting",
        "Virtual server FWM 4: no scheduler set, setting default 'wlc'",
        "WARNING - fwmark virtual server FWM 4, real server [ae00::2]:none:80 has port specified - clearing",
        "WARNING - fwmark virtual server FWM 4, real server [10.0.0.2]:none:80 has port specified - clearing",
    ]
    first, fwmark = result.config.checkers.virtual_servers
    assert [rs.address.port for rs in first.real_servers] == [80, 80]
    assert first.sorry_server is not None and first.sorry_server.address.port == 80
    assert (first.quorum, first.hysteresis) == (6, 5)
    # firewall mark with only tunnelled servers of both families: IPv4
    assert fwmark.family == 4 and [rs.address.port for rs in fwmark.real_servers] == [0, 0]


def test_notify_and_quorum_scripts(read_config) -> None:
    result = read_config(
        conf(
            ' quorum_up /bin/true\n quorum_up /bin/false\n quorum_down "/bin/echo down" root\n'
            " real_server 10.0.0.2 80 {\n  notify_down /bin/sh root root\n  notify_up /bin/a\n  notify_up "
            "/bin/b\n }"
        )
    )
    assert errors(result)[:2] == [
        "((null)) quorum_up script already specified - ignoring /bin/false",
        "((null)) notify_up script already specified - ignoring /bin/b",
    ]


def test_real_server_settings_are_inherited(read_config) -> None:
    result = read_config(
        conf(
            " alpha\n inhibit_on_failure\n weight 7\n retry 4\n delay_before_retry 2\n warmup 1\n "
            "connect_timeout 9\n"
            " delay_loop 30\n real_server 10.0.0.2 80 {\n  weight 2\n  alpha off\n }\n real_server "
            "10.0.0.3 80 {\n }"
        )
    )
    assert errors(result) == []
    first, second = result.config.checkers.virtual_servers[0].real_servers
    assert (first.weight, first.alpha, first.inhibit_on_failure) == (2, False, True)
    assert (second.weight, second.alpha, second.retry, second.warmup_us) == (7, True, 4, SECONDS)
    assert (second.delay_before_retry_us, second.connect_timeout_us, second.delay_loop_us) == (
        2 * SECONDS,
        9 * SECONDS,
        30 * SECONDS,
    )


@pytest.mark.parametrize(
    ("global_defs", "vs_alert", "rs_alert"),
    [
        ("", False, True),
        ("smtp_alert off", False, False),
        ("smtp_alert\n smtp_alert_checker off", False, False),
    ],
)
def test_smtp_alert_defaults(read_config, global_defs: str, vs_alert: bool, rs_alert: bool) -> None:
    result = read_config(f"global_defs {{\n {global_defs}\n}}\n" + rs_conf(""))
    vs = result.config.checkers.virtual_servers[0]
    assert (vs.smtp_alert, vs.real_servers[0].smtp_alert) == (vs_alert, rs_alert)


def test_ssl_block(read_config) -> None:
    result = read_config(
        "SSL {\n  password\n  password abc\n  password def\n  ca /x\n  certificate /y\n  key /z\n}\nSSL "
        "{\n key /k\n}\n"
    )
    assert errors(result) == [
        "SSL password missing",
        "SSL password already specified - replacing",
        "SSL context already specified - replacing",
    ]
    assert result.config.checkers.ssl == SslContext(key="/k")


# -- checkers ----------------------------------------------------------------------------------------------
CONNECTION_ERRORS = """\
    TCP_CHECK {
      connect_ip 10.0.0.x
      connect_ip fe80::1
    }
    TCP_CHECK {
      bindto 10.0.0.5
      connect_ip ae00::1
      connect_port 0
      bind_port x
      bind_if abcdefghijklmnopq
      connect_timeout 0
      fwmark -1
      retry x
      delay_loop 0
      alpha maybe
      log_all_failures q
    }
    TCP_CHECK {
      connect_ip ae00::1
      bindto 10.0.0.5
      bindto xx
    }
    PING_CHECK {
      connect_ip fe80::2
      bind_if eth0
      bind_port 1024
      fwmark 7
      delay_before_retry 0.5
      warmup 2
      log_all_failures
    }
"""


def test_connection_keywords_and_errors(read_config) -> None:
    result = read_config(rs_conf(CONNECTION_ERRORS))
    assert errors(result) == [
        "Invalid connect_ip address 10.0.0.x - ignoring",
        "Checker link local address fe80::1 requires a bind_if",
        "connect_ip address ae00::1 does not match address family of bindto - skipping",
        "number '0' outside range [1, 65535]",
        "Invalid checker connect_port '0'",
        "invalid number 'x'",
        "Invalid checker bind_port 'x'",
        "Interface name abcdefghijklmnopq is too long - ignoring",
        "number '0' outside range [0.000001, 4294.967295]",
        "connect_timeout 0 invalid - ignoring",
        "negative number '-1'",
        "Invalid fwmark connection value '-1'",
        "invalid number 'x'",
        "Invalid retry connection value 'x'",
        "number '0' outside range [0.000001, 18446744073709.551614]",
        "delay_loop '0' is invalid - ignoring",
        "Invalid alpha parameter maybe",
        "Invalid log_all_failures parameter q",
        "bindto address 10.0.0.5 does not match address family of connect_ip - skipping",
        "Invalid bindto address xx - ignoring",
    ]
    second, third, ping = result.config.checkers.virtual_servers[0].real_servers[0].checkers
    assert second.connection == Connection(None, 80, ip("10.0.0.5"), timeout_us=5 * SECONDS)
    assert third.connection == Connection(ip("ae00::1"), 80, timeout_us=5 * SECONDS)
    assert ping.connection == Connection(ip("fe80::2"), 80, None, 1024, "eth0", 5 * SECONDS, 7)
    assert (ping.delay_before_retry_us, ping.warmup_us, ping.log_all_failures) == (
        SECONDS // 2,
        2 * SECONDS,
        True,
    )


UDP_DNS_BFD_FILE = """\
    UDP_CHECK {
      payload
      payload 0a 0b
      payload zz
      require_reply 01 0X Xa
      require_reply 0 1 ab c
      require_reply gg
      min_reply_length 70000
      max_reply_length x
      min_reply_length 300
    }
    UDP_CHECK {
      payload 0102 a
      require_reply 0X fx
      max_reply_length 10
    }
    DNS_CHECK {
      type mx
      type foo
      name ab..com
      name a.example.com
      name other.com
    }
    DNS_CHECK {
      name .com
    }
    BFD_CHECK {
      name B1
      alpha
    }
    BFD_CHECK {
      name B1
    }
    BFD_CHECK {
      name B2
    }
    BFD_CHECK {
      name a b
    }
    BFD_CHECK {
      alpha foo
    }
    BFD_CHECK {
      name abcdefghijabcdefghijabcdefghijabc
    }
    FILE_CHECK {
      track_file nope
      weight
      weight x
      weight 5 sideways
    }
    FILE_CHECK {
      track_file TF
      weight -3 reverse
    }
    FILE_CHECK {
      track_file TF
    }
"""

BFD_INSTANCES = """\
bfd_instance B1 {
  neighbor_ip 10.0.0.9
}
bfd_instance B2 {
  neighbor_ip 10.0.0.8
  vrrp
}
bfd_instance abcdefghijabcdefghijabcdefghijabc {
  neighbor_ip 10.0.0.7
}
track_file TF {
  file /tmp/tf
  weight 4 reverse
}
"""


def test_udp_dns_bfd_and_file_checkers(read_config) -> None:
    result = read_config(BFD_INSTANCES + rs_conf(UDP_DNS_BFD_FILE))
    checker_errors = [m for m in errors(result) if not m.startswith(("Configuration error: BFD", "BFD name"))]
    assert checker_errors == [
        "UDP_CHECK payload requires a payload",
        "Invalid hex string for UDP_CHECK payload",
        "Invalid hex string for UDP_CHECK reply",
        "number '70000' outside range [0, 65535]",
        "UDP_CHECK min length 70000 not valid - must be between 0 & 65535",
        "invalid number 'x'",
        "UDP_CHECK max length x not valid - must be between 0 & 65535",
        "UDP_CHECK min_reply length 300 > max_reply_length 255 - will always fail",
        "Unknown DNS check type foo - ignoring",
        "DNS_CHECK name 'ab..com' has empty label - ignoring",
        "DNS_CHECK name already specified - ignoring",
        "DNS_CHECK name '.com' has empty label - ignoring",
        "([10.0.0.2]:tcp:80) BFD_CHECK - RS already monitoring B1",
        "([10.0.0.2]:tcp:80) BFD_CHECK - BFD B2 not configured",
        "([10.0.0.2]:tcp:80) BFD_CHECK - No or too many names specified - skipping checker",
        "Invalid alpha parameter foo",
        "([10.0.0.2]:tcp:80) No name has been specified for BFD_CHECKER - skipping",
        "([10.0.0.2]:tcp:80) BFD_CHECK - BFD name abcdefghijabcdefghijabcdefghijabc too long",
        "track_file nope not found",
        "track file weight missing",
        "invalid number 'x'",
        "weight for track file must be in [-2147483647..2147483647] inclusive. Ignoring...",
        "unknown track file weight option sideways - ignoring",
        "FILE_CHECK has no track_file specified - ignoring",
    ]
    rs = result.config.checkers.virtual_servers[0].real_servers[0]
    udp1, udp2, dns1, dns2, bfd = rs.checkers
    assert isinstance(udp1, UdpCheck) and isinstance(udp2, UdpCheck)
    assert (udp1.payload, udp1.require_reply, udp1.reply, udp1.min_reply_length) == (None, True, None, 300)
    assert (udp2.payload, udp2.reply, udp2.reply_mask) == (b"\x01\x02\x0a", b"\x00\xf0", b"\x0f\x0f")
    assert (udp2.max_reply_length, udp2.retry, udp2.delay_before_retry_us) == (10, 1, SECONDS)
    # keepalived 2.2.7 rejects a name whose first label has one character: a bug
    assert isinstance(dns1, DnsCheck) and (dns1.type, dns1.name) == ("MX", "a.example.com")
    assert isinstance(dns2, DnsCheck) and dns2.name == ""
    # DNS_CHECK: 3 retries, and the delay loop between them
    assert (dns1.retry, dns1.delay_before_retry_us) == (3, 60 * SECONDS)
    assert isinstance(bfd, BfdCheck) and (bfd.bfd, bfd.alpha, bfd.retry) == ("B1", True, None)
    assert rs.file_checks == [FileCheck("TF", -3, True), FileCheck("TF", 4, True)]


def test_http_checker_keywords_and_errors(read_config) -> None:
    result = read_config(
        rs_conf(
            "    HTTP_GET {\n      nb_get_retry 4\n      virtualhost\n      virtualhost www.x\n      "
            "http_protocol\n"
            "      http_protocol 2.0\n      http_protocol 1.0c\n      enable_sni maybe\n      enable_sni\n"
            "      fast_recovery no\n      url {\n        path /\n      }\n    }\n"
            "    SSL_GET {\n      url {\n        digest abc\n      }\n      url {\n        path /x\n"
            '        status_code 600 100-99 4x 99 +300 " 301" 200-\n        virtualhost\n        '
            "virtualhost v.x\n"
            "        digest 00112233445566778899aabbccddeXff\n"
            "        digest zz112233445566778899aabbccddeeff\n        digest "
            "00112233445566778899AABBCCDDEEFF\n"
            "        digest 00112233445566778899aabbccddeeff\n      }\n    }\n"
            "    HTTP_GET {\n    }\n"
            "    HTTP_GET {\n      url {\n        path /\n      }\n      connect_ip fe80::1\n    }\n"
        )
    )
    assert errors(result) == [
        "nb_get_retry is deprecated - please use 'retry'",
        "HTTP_GET virtualhost name missing",
        "Missing http_protocol version",
        "Invalid http_protocol version 2.0",
        "Invalid enable_sni parameter maybe",
        "digest 'abc' character length should be 32 rather than 3",
        "HTTP/SSL_GET checker url has no path - ignoring",
        "Invalid HTTP_GET status code '600'",
        "Invalid HTTP_GET status code '100-99'",
        "Invalid HTTP_GET status code '4x'",
        "Invalid HTTP_GET status code '99'",
        "Invalid HTTP_GET status code '200-'",
        "Missing HTTP_GET virtualhost name",
        "Unable to interpret hex digit in '00112233445566778899aabbccddeX' at offset 28/29",
        "Unable to interpret hex digit in 'zz' at offset 0/1",
        "Digest '00112233445566778899aabbccddeeff' is a duplicate",
        "HTTP/SSL_GET checker has no urls specified - ignoring",
        "Checker link local address fe80::1 requires a bind_if",
    ]
    http, ssl = result.config.checkers.virtual_servers[0].real_servers[0].checkers
    assert isinstance(http, HttpCheck) and isinstance(ssl, HttpCheck)
    assert (http.retry, http.virtualhost, http.http_protocol, http.enable_sni, http.fast_recovery) == (
        4,
        "www.x",
        "1.0C",
        True,
        False,
    )
    assert http.delay_before_retry_us == 3 * SECONDS  # the HTTP checkers' default
    (url,) = ssl.urls
    assert (url.path, url.virtualhost, url.status_codes) == ("/x", "v.x", {300, 301})
    assert url.digest == bytes.fromhex("00112233445566778899aabbccddeeff")


def test_regex_settings(read_config) -> None:
    result = read_config(
        rs_conf(
            "    HTTP_GET {\n"
            '      url {\n        path /a\n        regex "a(("\n      }\n'
            "      url {\n        path /b\n        regex_no_match\n        regex_min_offset 5\n      }\n"
            '      url {\n        path /c\n        regex "o k"\n        regex_options caseless bogus '
            "multiline\n"
            "        regex_no_match\n        regex_min_offset 2\n        regex_max_offset 30\n"
            "        regex_stack 100 2000\n      }\n"
            "      url {\n        path /d\n        regex ok\n        regex_min_offset 9\n        "
            "regex_max_offset 3\n"
            "        regex_stack 5 3\n        regex_max_offset x\n      }\n"
            "    }\n"
        )
    )
    assert errors(result) == []
    assert [m for m in rendered(result) if "regex" in m] == [
        "(keepalived.conf: Line 10) Invalid regex: 'a((' at offset 3: missing closing parenthesis",
        "(keepalived.conf: Line 15) regex parameters specified without regex",
        "(keepalived.conf: Line 30) regex stack start cannot exceed max value",
        "(keepalived.conf: Line 31) Invalid regex_max_offset x specified",
        "(keepalived.conf: Line 32) regex min offset 9 > regex_max_offset 3 - ignoring",
    ]
    data = result.config.checkers
    a, b, c, d = data.virtual_servers[0].real_servers[0].checkers[0].urls
    assert a.regex is None and b.regex is None and not b.regex_no_match and b.regex_min_offset == 0
    assert c.regex == Regex("o k", frozenset({"caseless", "multiline"}))
    assert (c.regex_no_match, c.regex_min_offset, c.regex_max_offset, c.regex_use_stack) == (
        True,
        2,
        31,
        True,
    )
    assert (data.regex_stack_start, data.regex_stack_max) == (100, 2000)
    assert d.regex == Regex("ok") and (d.regex_min_offset, d.regex_max_offset) == (0, 0)


def test_misc_check_keywords_and_errors(read_config) -> None:
    result = read_config(
        rs_conf(
            '    MISC_CHECK {\n      misc_path "/bin/true arg"\n      misc_timeout 5000\n      user '
            "nobody_here\n"
            "      retry 5\n    }\n"
            "    MISC_CHECK {\n      user root\n      misc_path /bin/false\n      misc_timeout 10\n      "
            "misc_dynamic\n"
            "    }\n"
            "    MISC_CHECK {\n      user\n    }\n"
        ),
        host=script_host("/bin/false"),
    )
    assert errors(result) == [
        "number '5000' outside range [0, 4294]",
        "Invalid misc_timeout value '5000'",
        "Failed to set uid/gid for misc checker script '/bin/true' 'arg' - removing",
        "No user specified for misc checker script ",
        "No script path has been specified for MISC_CHECKER - skipping",
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.",
    ]
    (misc,) = result.config.checkers.virtual_servers[0].real_servers[0].checkers
    assert isinstance(misc, MiscCheck) and misc.script is not None
    assert (misc.script.args, misc.timeout_us, misc.dynamic, misc.retry) == (
        ["/bin/false"],
        10 * SECONDS,
        True,
        0,
    )


def test_insecure_scripts_without_script_security(read_config) -> None:
    host = script_host("/opt/s/ok.sh")
    host.files["/opt/s"] = FileStatus(stat.S_IFDIR | 0o777, 0, 0)
    body = "    notify_up /opt/s/ok.sh\n    MISC_CHECK {\n      misc_path /opt/s/ok.sh\n    }"
    result = read_config("global_defs {\n  script_user root\n}\n" + rs_conf(body), host=host)
    assert errors(result) == [
        "SECURITY VIOLATION - check scripts are being executed but script_security not enabled. There are "
        "insecure scripts."
    ]
    assert result.exit_status == 6
    secure = read_config(
        "global_defs {\n  script_user root\n  enable_script_security\n}\n" + rs_conf(body), host=host
    )
    assert errors(secure) == []
    assert "Disabling misc script '/opt/s/ok.sh' due to insecure" in [d.message for d in secure.report]
    rs = secure.config.checkers.virtual_servers[0].real_servers[0]
    assert rs.checkers == [] and rs.notify_up is None


def test_checker_dropped_mid_block_ignores_the_rest(read_config) -> None:
    # keepalived applies the rest of the block to the checker queued before the dropped one
    result = read_config(
        rs_conf("    TCP_CHECK {\n    }\n    MISC_CHECK {\n      user nobody_here\n      retry 9\n    }")
    )
    (tcp,) = result.config.checkers.virtual_servers[0].real_servers[0].checkers
    assert tcp.retry == 1


def test_checkers_take_real_server_settings(read_config) -> None:
    result = read_config(
        conf(
            " real_server 10.0.0.2 80 {\n  retry 2\n  delay_before_retry 4\n  warmup 7\n  connect_timeout 8\n"
            "  delay_loop 9\n  alpha\n  TCP_CHECK {\n  }\n  TCP_CHECK {\n   retry 0\n   alpha off\n   "
            "connect_timeout 1\n  }\n }"
        )
    )
    first, second = result.config.checkers.virtual_servers[0].real_servers[0].checkers
    assert (first.retry, first.delay_before_retry_us, first.warmup_us, first.delay_loop_us, first.alpha) == (
        2,
        4 * SECONDS,
        7 * SECONDS,
        9 * SECONDS,
        True,
    )
    assert first.connection is not None and first.connection.timeout_us == 8 * SECONDS
    assert (second.retry, second.alpha) == (0, False)
    assert second.connection is not None and second.connection.timeout_us == SECONDS


def test_smtp_check_with_only_host_blocks_uses_the_first_host(read_config) -> None:
    result = read_config(
        rs_conf(
            "    SMTP_CHECK {\n      helo_name\n      retry 3\n      host {\n        connect_ip fe80::9\n  "
            "    }\n"
            "      host {\n        connect_ip 10.0.0.20\n        connect_port 2525\n      }\n"
            "      host {\n        bindto 10.0.0.1\n      }\n    }\n"
            "    SMTP_CHECK {\n      connect_ip fe80::8\n    }"
        )
    )
    assert errors(result) == [
        "SMTP_CHECK helo name missing",
        "Checker link local address fe80::9 requires a bind_if",
        "Checker link local address fe80::8 requires a bind_if",
    ]
    first, second = result.config.checkers.virtual_servers[0].real_servers[0].checkers
    assert first.connection == Connection(ip("10.0.0.20"), 2525, timeout_us=5 * SECONDS)
    # keepalived leaves a host block's connect timeout 0: a bug
    assert second.connection == Connection(ip("10.0.0.2"), 80, ip("10.0.0.1"), timeout_us=5 * SECONDS)
    assert isinstance(second, SmtpCheck) and (second.retry, second.helo_name) == (
        3,
        "smtpchecker.keepalived.org",
    )


def test_checker_keyword_without_its_value_is_a_missing_parameter(read_config) -> None:
    result = read_config(rs_conf("    HTTP_GET {\n      url {\n        path\n      }\n    }"))
    assert errors(result)[0] == (
        "*** Configuration line starting `path` is missing a parameter after keyword `path` at word "
        "position 2"
    )
    assert result.exit_status == 2


def test_ipv6_mapped_addresses_are_printed_like_glibc() -> None:
    assert ip_text(ip("::ffff:10.0.0.1")) == "::ffff:10.0.0.1"
    assert ip_text(ip("::10.0.0.1")) == "::10.0.0.1"
    assert ip_text(ip("::1")) == "::1"
    assert ip_text(ip("ae00::1")) == "ae00::1"


def test_dropped_checker_still_needs_its_keyword_values(read_config) -> None:
    # keepalived reads the value for the checker queued before the dropped one, and stops when it is missing
    result = read_config(rs_conf("    MISC_CHECK {\n      user nobody_here\n      retry\n    }"))
    assert errors(result)[-1] == (
        "*** Configuration line starting `retry` is missing a parameter after keyword `retry` at word "
        "position 2"
    )
    assert result.exit_status == 2

"""`bfd_instance` blocks, as keepalived 2.2.7's BFD, VRRP and checker processes each read them.

Expected messages come from runs of the real keepalived binary (`tools/keepalived-compare`) on these
configurations; where hapair deliberately differs (keepalived bugs), the test says so.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hapair.config.keepalived.model.bfd import BfdInstance

from .conftest import errors, rendered

SESSIONS = """\
bfd_instance B1 {
  neighbor_ip 10.0.0.9
  source_ip 10.0.0.1
  min_rx 20
  min_tx 30.5
  idle_tx 2000
  multiplier 3
  passive
  ttl 10
  max_hops 5
  weight -20 reverse
}
bfd_instance B6 {
  neighbor_ip ae00::9
  max_hops -1
  checker
}
bfd_instance B1 {
  foo
}
bfd_instance abcdefghijabcdefghijabcdefghijabc {
  bar
}
bfd_instance B7 {
  neighbor_ip 10.0.0.9
  source_ip 10.0.0.1
}
bfd_instance B8 {
  neighbor_ip 10.0.0.9
  source_ip 10.0.0.300
  min_rx 0
  min_tx 4294968
  idle_tx 999
  multiplier 256
  ttl 0
  hoplimit 300
  max_hops -2
  weight x
  vrrp
}
bfd_instance B9 {
  neighbor_ip 10.0.0.19
  min_tx 20000
}
"""


def test_sessions_settings_and_errors(read_config) -> None:
    result = read_config(SESSIONS)
    assert errors(result) == [
        "BFD instance B6: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit",
        "Configuration error: BFD instance B1 already configured - ignoring",
        "BFD B1 already specified",
        "Configuration error: BFD instance abcdefghijabcdefghijabcdefghijabc name too long (maximum length "
        "is "
        "31 characters) - ignoring",
        "BFD name abcdefghijabcdefghijabcdefghijabc too long",
        "Unknown keyword 'bar'",
        "Configuration error: BFD instance B7 has duplicate source/neighbor address 10.0.0.1/10.0.0.9, "
        "ignoring "
        "instance",
        "Configuration error: BFD instance B8 has malformed source address 10.0.0.300, ignoring",
        "number '0' outside range [1.000, 4294967.000]",
        "Configuration error: BFD instance B8 min_rx value 0 is not valid (must be in range [1-4294967]), "
        "ignoring",
        "number '4294968' outside range [1.000, 4294967.000]",
        "Configuration error: BFD instance B8 min_tx value 4294968 is not valid (must be in range "
        "[1-4294967]), "
        "ignoring",
        "number '999' outside range [1000.000, 4294967.000]",
        "Configuration error: BFD instance B8 idle_tx value 999 is not valid (must be in range "
        "[1000-4294967]), "
        "ignoring",
        "number '256' outside range [1, 255]",
        "Configuration error: BFD instance B8 multiplier value 256 not valid (must be in range [1-255]), "
        "ignoring",
        "number '0' outside range [1, 255]",
        "Configuration error: BFD instance B8 ttl/hoplimit value 0 not valid (must be in range [1-255]), "
        "ignoring",
        "number '300' outside range [1, 255]",
        "Configuration error: BFD instance B8 ttl/hoplimit value 300 not valid (must be in range [1-255]), "
        "ignoring",
        "number '-2' outside range [-1, 255]",
        "Configuration error: BFD instance B8 max_hops value -2 not valid (must be in range [-1-255]), "
        "ignoring",
        "invalid number 'x'",
        "Configuration error: BFD instance B8 weight value x not valid (must be in range [-253-253]), "
        "ignoring",
        "Configuration error: BFD instance B8 has duplicate neighbor address 10.0.0.9, ignoring instance",
    ]
    warning = "Configuration warning: BFD instance B9 min_tx value 20000 is larger than max sensible (10000)"
    assert f"(keepalived.conf: Line 43) {warning}" in rendered(result)
    assert result.exit_status == 5
    bfd = result.config.bfd
    assert bfd.sessions == [
        BfdInstance(
            "B1",
            IPv4Address("10.0.0.9"),
            IPv4Address("10.0.0.1"),
            min_rx_us=20_000,
            min_tx_us=30_500,
            idle_tx_us=2_000_000,
            multiplier=3,
            passive=True,
            ttl=10,
            max_hops=5,
        ),
        BfdInstance("B6", IPv6Address("ae00::9"), ttl=64, max_hops=64, to_vrrp=False),
        BfdInstance("B9", IPv4Address("10.0.0.19"), min_tx_us=20_000_000, ttl=255),
    ]
    assert bfd.find("B9") is bfd.sessions[2]
    assert bfd.find("B7") is None
    # what the VRRP process keeps for track_bfd, with the weight only it reads
    vrrp = [(b.name, b.weight, b.weight_reverse) for b in result.config.vrrp.tracked_bfds]
    assert vrrp == [("B1", -20, True), ("B7", 0, False), ("B8", 0, False), ("B9", 0, False)]
    # what the checker process keeps for BFD_CHECK: no length limit there
    assert result.config.checkers.tracked_bfds == [
        "B1",
        "B6",
        "abcdefghijabcdefghijabcdefghijabc",
        "B7",
        "B9",
    ]


def test_bfd_instance_without_a_name_is_a_missing_parameter(read_config) -> None:
    # keepalived 2.2.7 crashes
    result = read_config("bfd_instance\n")
    assert result.exit_status == 2


def test_malformed_neighbour_drops_the_session_only(read_config) -> None:
    result = read_config("bfd_instance B1 {\n  neighbour_ip 10.0.0.1x\n  min_rx 0\n  weight 5\n}\n")
    # keepalived says "neighbor" whatever the spelling (it compares the address with "neighbour_ip")
    assert errors(result) == [
        "Configuration error: BFD instance B1 has malformed neighbour address 10.0.0.1x, ignoring instance"
    ]
    assert result.config.bfd.sessions == []
    assert [(b.name, b.weight) for b in result.config.vrrp.tracked_bfds] == [("B1", 5)]
    assert result.config.checkers.tracked_bfds == ["B1"]


def test_missing_neighbour_and_family_mismatch(read_config) -> None:
    result = read_config(
        "bfd_instance B2 {\n min_rx 20000\n}\nbfd_instance B5 {\n neighbor_ip 10.0.0.9\n source_ip "
        "fe80::1\n}\n"
    )
    # keepalived prints the source address twice (one static buffer for both)
    assert errors(result) == [
        "Configuration error: BFD instance B2 has no neighbor address set, disabling instance",
        "Configuration error: BFD instance B5 source address fe80::1 and neighbor address 10.0.0.9 are not "
        "of the "
        "same family, disabling instance",
    ]
    assert result.config.bfd.sessions == []


def test_block_every_process_drops_is_skipped(read_config) -> None:
    result = read_config("bfd_instance B1 {\n neighbor_ip 10.0.0.1\n}\nbfd_instance B1 {\n foo\n min_rx\n}\n")
    assert errors(result) == [
        "Configuration error: BFD instance B1 already configured - ignoring",
        "BFD B1 already specified",
    ]
    assert result.exit_status == 5


def test_default_session(read_config) -> None:
    result = read_config("bfd_instance B {\n neighbor_ip 10.0.0.1\n}\n")
    assert errors(result) == []
    assert result.config.bfd.sessions == [
        BfdInstance(
            "B",
            IPv4Address("10.0.0.1"),
            min_rx_us=10_000,
            min_tx_us=10_000,
            idle_tx_us=1_000_000,
            multiplier=5,
            ttl=255,
            max_hops=0,
            to_vrrp=True,
            to_checker=True,
        )
    ]

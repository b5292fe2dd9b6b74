"""The state machine over IPv6 on the fake LAN: VRRPv3 adverts that go through the IPv6 codec (from each
node's link-local address to ff02::12, hop limit 255), IPv6 VIPs, and the elections keepalived holds."""

from __future__ import annotations

from ipaddress import IPv6Address
from pathlib import Path

import pytest

from hapair.config.keepalived.model.vrrp import VrrpState
from hapair.vrrp.actions import SendAdvert
from hapair.vrrp.packet6 import VRRP_GROUP6, decode_ipv6, encode_ipv6

from .fakelan import SECOND, FakeLan, Node, read_instance

A, B = "fe80::a", "fe80::b"
CENTISECOND = 10_000


def config(priority: int, *, vips: tuple[str, ...] = ("fe80::100", "2001:db8::100")) -> str:
    lines = "\n".join(vips)
    return f"""
        vrrp_instance VI_6 {{
            state BACKUP
            interface eth0
            virtual_router_id 51
            priority {priority}
            advert_int 0.5
            native_ipv6
            virtual_ipaddress {{
                {lines}
            }}
        }}
        """


@pytest.fixture
def lan() -> FakeLan:
    return FakeLan()


@pytest.fixture
def node(lan: FakeLan, tmp_path: Path):
    def make(address: str, text: str) -> Node:
        made = lan.add(address, read_instance(text, "10.77.0.1", tmp_path), address)
        lan.start(made)
        return made

    return make


def skew(priority: int) -> int:
    """VRRPv3's Skew_Time for an advert interval of 50 centiseconds, as keepalived computes it."""
    return (256 - priority) * 50 * 625 // 16


def test_an_ipv6_instance_runs_vrrpv3_and_advertises_its_ipv6_vips(lan, node):
    a = node(A, config(100))
    assert a.router.instance.version == 3
    lan.run_until(3 * SECOND // 2 + skew(100))
    assert a.state == VrrpState.MASTER
    advert = a.router.advert(100)
    assert advert.version == 3
    assert advert.addresses == (IPv6Address("fe80::100"), IPv6Address("2001:db8::100"))
    assert advert.advert_int_us == 50 * CENTISECOND


def test_the_higher_priority_wins_over_ipv6_and_the_backup_hands_over_after_priority_zero(lan, node):
    high, low = node(A, config(200)), node(B, config(100))
    lan.run_for(3 * SECOND)
    assert lan.masters() == [high]
    assert "(VI_6) Entering MASTER STATE" not in low.logs
    lan.run_for(SECOND)
    stopped = lan.now
    high.apply(high.router.stop(lan.now))
    lan.run_for(skew(100) + 2 * 100)  # the skew, plus the advert's trip and the new master's
    assert "(VI_6) Backup received priority 0 advertisement" in low.logs
    assert low.state == VrrpState.MASTER
    took_over = lan.when(low, "(VI_6) Entering MASTER STATE")
    assert took_over is not None and took_over - stopped <= skew(100) + 100


def test_equal_priorities_over_ipv6_are_decided_by_the_higher_link_local_address(lan, node):
    lower, higher = node(A, config(100)), node(B, config(100))
    lan.run_for(5 * SECOND)
    assert lan.masters() == [higher]
    assert lower.state == VrrpState.BACKUP


def test_a_backup_refuses_a_multicast_advert_whose_hop_limit_is_not_255(lan, node):
    b = node(B, config(100))
    advert = b.router.advert(200)
    data = encode_ipv6(advert, source=IPv6Address(A), destination=VRRP_GROUP6)
    packet = decode_ipv6(data, source=IPv6Address(A), destination=VRRP_GROUP6, hop_limit=64)
    actions = b.router.receive(packet, lan.now)
    assert "(VI_6) invalid TTL/HL. Received 64 and expect 255" in [getattr(a, "text", "") for a in actions]
    assert b.router.stats.ip_ttl_err == 1
    assert not any(isinstance(a, SendAdvert) for a in actions)

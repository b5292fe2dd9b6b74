"""A router checks old-form unicast checksums against the multicast group, not against its sync group
(the two once shared the attribute `group`, and a unicast VRRPv3 packet with a bad checksum then crashed
the check)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from hapair.vrrp.actions import Log
from hapair.vrrp.packet import VRRP_GROUP, Advertisement, decode_ipv4, encode_ipv4
from hapair.vrrp.router import VirtualRouter

from .fakelan import read_instance

CONFIG = """
    vrrp_instance VI_1 {
        state BACKUP
        interface eth0
        virtual_router_id 51
        priority 100
        version 3
        unicast_src_ip 10.77.0.1
        unicast_peer {
            10.77.0.2
        }
        virtual_ipaddress {
            10.77.0.100/24
        }
    }
    """


def test_a_unicast_vrrpv3_advert_with_a_bad_checksum_is_refused_in_keepalived_words(tmp_path: Path) -> None:
    router = VirtualRouter(read_instance(CONFIG, "10.77.0.1", tmp_path), IPv4Address("10.77.0.1"))
    router.start(0)
    assert router.mcast_group == VRRP_GROUP
    advert = Advertisement(3, 51, 200, (IPv4Address("10.77.0.100"),), 1_000_000)
    data = bytearray(
        encode_ipv4(advert, source=IPv4Address("10.77.0.2"), destination=IPv4Address("10.77.0.1"))
    )
    data[26] ^= 0xFF  # the VRRP checksum's first byte
    actions = router.receive(decode_ipv4(bytes(data)), 1000)
    assert Log("(VI_1) Invalid VRRPv3 checksum") in actions
    assert router.stats.chk_err == 1

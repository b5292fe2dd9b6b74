"""The interface table a configuration is read against (interface_table.py decodes rtnetlink by hand):
what `ip -j addr` shows of a namespace with a veth, secondary and IPv6 addresses, a down veth, a private
macvlan (and a VRF's table as pyroute2 encodes it), read from outside the namespace (entered by a thread)
and from inside it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict

import pytest
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from hapair.net.host import LocalHost
from hapair.net.interface_table import RTM_NEWLINK, decode_table, read_interface_table
from tests.netns import Namespace, unique_name

from .conftest import REPO, skip_without_namespaces

pytestmark = pytest.mark.netns
VRF_TABLE = 1042


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    skip_without_namespaces()
    namespace = Namespace.create(unique_name("hit"))
    try:
        namespace.add_veth("va", "vb", addresses=["192.0.2.1/24", "192.0.2.9/24", "fd00::1/64"])
        namespace.ip("link", "set", "va", "mtu", "1400")
        namespace.ip("link", "add", "down7", "type", "veth", "peer", "name", "down8")
        namespace.ip("addr", "add", "198.51.100.7/32", "dev", "down7")
        namespace.ip("link", "add", "link", "vb", "name", "vmac1", "type", "macvlan", "mode", "private")
        namespace.ip("link", "add", "link", "vb", "name", "bridged", "type", "macvlan", "mode", "bridge")
        yield namespace
    finally:
        namespace.delete()


def test_interfaces_match_what_ip_shows(namespace: Namespace) -> None:
    table = read_interface_table(namespace.name)
    index = {name: interface.index for name, interface in table.interfaces.items()}
    expected = {
        name: interface.__class__(
            **{**asdict(interface), "private_macvlan_of": index["vb"] * (name == "vmac1")}
        )
        for name, interface in namespace.interfaces().items()
    }
    assert table.interfaces == expected
    assert table.interfaces["va"].ipv4 == ("192.0.2.1/24", "192.0.2.9/24")
    assert (table.interfaces["va"].mtu, table.interfaces["down7"].up) == (1400, False)
    assert table.interfaces["down7"].ipv4 == ("198.51.100.7/32",)
    assert table.vrf_tables == {}


def test_local_host_reads_its_own_namespace(namespace: Namespace) -> None:
    """Inside the namespace, without entering one: the same table as from outside."""
    code = (
        "import json; from dataclasses import asdict; from hapair.net.host import LocalHost; "
        "host = LocalHost(); print(json.dumps({n: asdict(i) for n, i in host.interfaces().items()}))"
    )
    result = namespace.run([sys.executable, "-c", code], cwd=REPO)
    assert result.returncode == 0, result.stderr
    inside = json.loads(result.stdout)
    outside = LocalHost(namespace.name)
    assert {name: asdict(interface) for name, interface in outside.interfaces().items()} == {
        name: {**fields, "ipv4": tuple(fields["ipv4"]), "ipv6": tuple(fields["ipv6"])}
        for name, fields in inside.items()
    }
    assert outside.vrf_table("va") is None


def test_vrf_table_as_pyroute2_encodes_it() -> None:
    """A VRF device's table (this machine's kernel has no VRF: the message is pyroute2's encoding)."""
    link = ifinfmsg()
    link["index"] = 5
    link["attrs"] = [
        ["IFLA_IFNAME", "blue"],
        [
            "IFLA_LINKINFO",
            {
                "attrs": [
                    ["IFLA_INFO_KIND", "vrf"],
                    ["IFLA_INFO_DATA", {"attrs": [["IFLA_VRF_TABLE", VRF_TABLE]]}],
                ]
            },
        ],
    ]
    link.encode()
    table = decode_table([(bytes(link.data)[16:], RTM_NEWLINK)], [])
    assert table.vrf_tables == {"blue": VRF_TABLE}
    assert table.interfaces["blue"].index == 5


def test_a_namespace_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        read_interface_table(unique_name("hit-missing"))

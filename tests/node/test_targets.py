"""Which instances front the proxy, which listeners get a loopback request, which backends are probed:
from a keepalived.conf and an nginx.conf read by hapair's own readers."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

from hapair.config.keepalived.load import load as load_keepalived
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.nginx.load import load as load_nginx
from hapair.config.nginx.model.config import NginxConfig
from hapair.net.host import LocalHost
from hapair.node.targets import Probe, targets

KEEPALIVED = """
vrrp_instance WEB {
    interface lo
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
}
vrrp_instance OTHER {
    interface lo
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        192.0.2.20/24
    }
}
"""


def read(tmp_path: Path, listen: str) -> tuple[KeepalivedConfig, NginxConfig]:
    keepalived = tmp_path / "keepalived.conf"
    keepalived.write_text(KEEPALIVED)
    nginx = tmp_path / "nginx.conf"
    nginx.write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n"
        "    upstream pool { server 192.0.2.104:8080; server 192.0.2.105:8080 down; }\n"
        f"    server {{ listen {listen}; location / {{ proxy_pass http://pool; }} }}\n"
        "    server { listen 127.0.0.1:9000; location / { proxy_pass http://192.0.2.106:81; } }\n"
        "}\n"
    )
    vrrp = load_keepalived(str(keepalived), LocalHost(), config_test=True).config
    proxy = load_nginx(str(nginx), str(tmp_path) + "/", signal=True).config
    assert proxy is not None
    return vrrp, proxy


def test_a_vip_listener_names_its_instance_only(tmp_path: Path) -> None:
    vrrp, proxy = read(tmp_path, "192.0.2.10:8080")
    found = targets(vrrp, proxy)
    assert found.instances == {"WEB"}
    assert Probe(ip_address("192.0.2.10"), 8080, http=True, tls=False) in found.probes
    assert sorted(found.backends) == [("192.0.2.104", 8080), ("192.0.2.106", 81)]  # not the `down` one


def test_a_wildcard_listener_names_every_instance_and_is_probed_on_loopback(tmp_path: Path) -> None:
    vrrp, proxy = read(tmp_path, "8080")
    found = targets(vrrp, proxy)
    assert found.instances == {"WEB", "OTHER"}
    assert Probe(ip_address("127.0.0.1"), 8080, http=True, tls=False) in found.probes
    assert targets(vrrp, proxy, ["OTHER"]).instances == {"OTHER"}

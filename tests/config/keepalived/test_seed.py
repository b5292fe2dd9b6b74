"""The seed's two node configurations pass `-t`, on a host set up as the seed's tutorial sets its nodes up."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hapair.config.keepalived.host import FileStatus, User
from hapair.config.keepalived.load import load

from .conftest import lab_host, rendered

SEED = Path(__file__).resolve().parents[3] / "src" / "hapair" / "lab" / "seed"
NODES = ["node1", "node2"]
NGINX = User("nginx", 998, 998)


def seed_host():
    """eth0..eth3 plus the seed's set-up: user nginx, check script owned by nginx with mode 700."""
    directory = stat.S_IFDIR | 0o755
    files = {
        "/": FileStatus(directory, 0, 0),
        "/etc": FileStatus(directory, 0, 0),
        "/etc/keepalived": FileStatus(directory, 0, 0),
        "/etc/keepalived/check_nginx.sh": FileStatus(stat.S_IFREG | 0o700, NGINX.uid, NGINX.gid),
    }
    host = lab_host()
    host.users = {**host.users, "nginx": NGINX}
    host.groups = {**host.groups, "nginx": NGINX.gid}
    host.files = files
    return host


@pytest.mark.parametrize("node", NODES)
def test_seed_node_config_passes_config_test(node: str, tmp_path: Path) -> None:
    text = (SEED / node / "keepalived.conf").read_text().replace("enp1s0f0", "eth0")
    (tmp_path / "keepalived.conf").write_text(text)
    result = load("keepalived.conf", seed_host(), cwd=str(tmp_path))
    assert [d.render() for d in result.report if not d.log] == []
    assert result.exit_status == 0, rendered(result)


@pytest.mark.parametrize("node", NODES)
def test_seed_node_config_reads_the_seed_values(node: str, tmp_path: Path) -> None:
    text = (SEED / node / "keepalived.conf").read_text().replace("enp1s0f0", "eth0")
    (tmp_path / "keepalived.conf").write_text(text)
    config = load("keepalived.conf", seed_host(), cwd=str(tmp_path)).config
    (instance,) = config.vrrp.instances
    assert instance.name == "VRRP_1"
    assert instance.vrid == 70
    assert instance.base_priority == (255 if node == "node1" else 250)
    assert [str(vip.address) for vip in instance.vips] == ["10.101.1.10/24"]

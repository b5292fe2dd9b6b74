"""The seed's two load-balancer nodes (the lab's copies of the seed's files, src/hapair/lab/seed), ready to
start in a `tests.topology` host: their keepalived.conf with the interface renamed, and the seed's set-up of
each node (user nginx, the check_nginx.sh script, a running "nginx" for `pidof nginx` to find) done in the
node's private /etc and PID namespace. Killing a node's "nginx" (`kill_nginx`) makes its check_nginx script
fail, as in the seed."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Sequence
from pathlib import Path

from .reference import REPO
from .topology import HAPAIR, Daemon, Host

SEED = REPO / "src" / "hapair" / "lab" / "seed"
VIP = "10.101.1.10"
NODE_ADDRESSES = {1: "10.101.1.11", 2: "10.101.1.12"}
CLIENT_ADDRESS = "10.101.1.100"


def seed_config(node: int, interface: str = "eth0") -> str:
    return (SEED / f"node{node}" / "keepalived.conf").read_text().replace("enp1s0f0", interface)


def seed_setup(directory: Path) -> str:
    """Shell commands doing the seed's set-up of a node inside its private /etc and PID namespace."""
    nginx = directory / "bin" / "nginx"
    if not nginx.exists():
        nginx.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy("/bin/sleep", nginx)  # a process called nginx, for the seed's `pidof nginx`
    return (
        "id nginx >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin nginx\n"
        "mkdir -p /etc/keepalived\n"
        f"cp {SEED}/check_nginx.sh /etc/keepalived/check_nginx.sh\n"
        "chown nginx:nginx /etc/keepalived/check_nginx.sh\n"
        "chmod 700 /etc/keepalived/check_nginx.sh\n"
        f"{nginx} infinity &\n"
    )


def start_seed_node(
    host: Host, node: int, *, keepalived: bool = False, config: str | None = None, extra: Sequence[str] = ()
) -> Daemon:
    """Start seed node `node` (1 or 2) in `host` with hapair, or with the real keepalived; `extra`: more
    options for hapair."""
    directory = host.lan.directory
    path = directory / f"{host.name}.conf"
    path.write_text(config if config is not None else seed_config(node))
    if keepalived:
        pids = [f"-{flag}" for flag in "prcb"]
        args = ["keepalived", "-n", "-l", "-D", "-G", "-P", "-f", str(path)]
        for flag in pids:
            args += [flag, str(directory / f"{host.name}{flag[1]}.pid")]
    else:
        args = [
            HAPAIR,
            "vrrp",
            "-n",
            "-l",
            "-D",
            "-G",
            "-f",
            str(path),
            "-p",
            str(directory / f"{host.name}.pid"),
            *extra,
        ]
    return host.start(args, log_name=f"{host.name}.log", isolated=True, setup=seed_setup(directory))


def kill_nginx(daemon: Daemon) -> None:
    """Stop the node's "nginx": its check_nginx.sh starts failing."""
    pid = daemon.host.pid_of("nginx", below=daemon.process.pid)
    assert pid is not None, "the node's nginx is not running"
    os.kill(pid, signal.SIGKILL)

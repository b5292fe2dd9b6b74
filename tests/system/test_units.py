"""hapair's systemd units (src/hapair/units): each passes `systemd-analyze verify` with no warning, and the
proxy's unit runs as systemd would run it, on a Debian node's nginx layout (tests/debian_layout.py, a
private mount namespace in a network namespace): ExecStartPre, then ExecStart with `$NOTIFY_SOCKET` set to
a socket the test reads (READY=1 once serving), ExecReload (RELOADING=1, then READY=1), ExecStop
(STOPPING=1, and the main process ends)."""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.units import UNITS, render
from tests.certificates import Authority
from tests.debian_layout import DebianNode, missing_layout_requirements
from tests.netns import Namespace
from tests.topology import unique_name

HAPAIR = str(Path(sys.executable).with_name("hapair"))
TIMEOUT_S = 30
SERVING = re.compile(r"READY=1 STATUS=serving with \d+ worker processes")  # Debian's worker_processes auto


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("name", UNITS)
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path, name: str) -> None:
    unit = tmp_path / name
    unit.write_text(render(name, HAPAIR))
    ran = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert name not in ran.stdout + ran.stderr  # a warning names the unit


def commands(text: str) -> dict[str, list[str]]:
    """The unit's Exec*= lines, as systemd splits them (a leading `-`: failure ignored)."""
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.startswith("Exec"):
            found[key] = shlex.split(value.removeprefix("-"))
    return found


@pytest.fixture
def node(tmp_path: Path) -> Iterator[DebianNode]:
    missing = missing_layout_requirements()
    if missing is not None:
        pytest.skip(missing)
    authority = Authority(tmp_path)
    certificates = {"server": authority.issue("k8sapiserver"), "client": authority.issue("k8sapiclient")}
    namespace = Namespace(unique_name("hun"))
    layout = None
    try:
        namespace.make()
        layout = DebianNode(tmp_path / "node", namespace, certificates)
        yield layout
    finally:
        if layout is not None:
            layout.kill_leftovers()
        namespace.delete()


def notifications(sock: socket.socket, count: int) -> list[str]:
    """The next `count` datagrams, each as its lines joined by spaces, MONOTONIC_USEC left out."""
    received = []
    for _ in range(count):
        lines = sock.recv(4096).decode().splitlines()
        received.append(" ".join(line for line in lines if not line.startswith("MONOTONIC_USEC=")))
    return received


def test_the_proxy_unit_runs_as_systemd_runs_it(node: DebianNode, tmp_path: Path) -> None:
    exec_lines = commands(render("hapair-proxy.service", HAPAIR))
    assert node.run(exec_lines["ExecStartPre"]).returncode == 0
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(TIMEOUT_S)
        environment = {"NOTIFY_SOCKET": str(path), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        main = subprocess.Popen(
            node.command(exec_lines["ExecStart"]),
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stopper = None
        try:
            assert SERVING.fullmatch(notifications(sock, 1)[0])
            assert node.run(exec_lines["ExecReload"]).returncode == 0
            reloading, ready = notifications(sock, 2)
            assert reloading == "RELOADING=1" and SERVING.fullmatch(ready)
            # the test reaps the main process as systemd would (start-stop-daemon waits for it to go)
            stopper = subprocess.Popen(node.command(exec_lines["ExecStop"]), stdin=subprocess.DEVNULL)
            assert notifications(sock, 1) == ["STOPPING=1"]
            assert main.wait(TIMEOUT_S) == 0
            assert stopper.wait(TIMEOUT_S) == 0
        finally:
            for process in (main, stopper):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()


KEEPALIVED_CONF = """
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress { 10.211.0.10/24 }
}
"""


def systemd_words(words: list[str], variables: dict[str, str]) -> list[str]:
    """An Exec line's words with `$NAME` replaced as systemd replaces an unquoted one: split on blanks
    (an empty value gives no word)."""
    out = []
    for word in words:
        if word.startswith("$"):
            out += variables.get(word[1:], "").split()
        else:
            out.append(word)
    return out


NGINX_CONF = """
error_log stderr;
events {}
http {
    access_log off;
    server { listen 127.0.0.1:8099; location / { return 200 ok; } }
}
"""


@pytest.mark.parametrize(
    ("unit", "files"),
    [
        ("hapair-vrrp.service", {"/etc/keepalived/keepalived.conf": KEEPALIVED_CONF}),
        (
            "hapair-node.service",
            {"/etc/keepalived/keepalived.conf": KEEPALIVED_CONF, "/etc/nginx/nginx.conf": NGINX_CONF},
        ),
    ],
)
def test_a_notify_unit_with_sighup_reloads_runs_as_systemd_runs_it(
    tmp_path: Path, unit: str, files: dict[str, str]
) -> None:
    """In a network namespace with eth0, and a private mount namespace whose /etc/keepalived (and
    /etc/nginx) hold the configuration, and whose /run, /var/log/nginx and /var/lib/nginx are the test's
    (an empty DAEMON_ARGS, as Debian's /etc/default/keepalived): READY=1 with the main pid, SIGHUP's
    RELOADING=1 and READY=1, SIGTERM's STOPPING=1, and the main process ends."""
    if missing_layout_requirements() is not None:
        pytest.skip(missing_layout_requirements() or "")
    exec_lines = commands(render(unit, HAPAIR))
    mounts = ["mount --make-rprivate /"]
    directories = {Path(inside).parent for inside in files} | {
        Path("/run"),
        Path("/var/log/nginx"),
        Path("/var/lib/nginx"),
    }
    for inside in sorted(directories):
        outside = tmp_path / "root" / inside.relative_to("/")
        outside.mkdir(parents=True)
        mounts.append(f"mount --bind {outside} {inside}")
    for inside, text in files.items():
        (tmp_path / "root" / Path(inside).relative_to("/")).write_text(text)
    namespace = Namespace(unique_name("huv"))
    path = tmp_path / "notify"
    main = None
    try:
        namespace.make()
        namespace.add_veth("eth0", "eth1", addresses=["10.211.0.2/24"])
        start = systemd_words(exec_lines["ExecStart"], {"DAEMON_ARGS": ""})
        script = " && ".join(mounts) + ' && exec "$@"'
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(path))
            sock.settimeout(TIMEOUT_S)
            main = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    namespace.name,
                    "unshare",
                    "--mount",
                    "sh",
                    "-c",
                    script,
                    "sh",
                    *start,
                ],
                env={"NOTIFY_SOCKET": str(path), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            ready = f"READY=1 MAINPID={main.pid}"
            assert notifications(sock, 1) == [ready]
            reload = systemd_words(exec_lines["ExecReload"], {"MAINPID": str(main.pid)})
            assert subprocess.run(reload, check=False, timeout=TIMEOUT_S).returncode == 0
            assert notifications(sock, 2) == ["RELOADING=1", ready]
            main.terminate()  # systemd's KillSignal, SIGTERM
            assert notifications(sock, 1) == ["STOPPING=1"]
            assert main.wait(TIMEOUT_S) == 0
    finally:
        if main is not None and main.poll() is None:
            main.kill()
            main.wait()
        namespace.kill_processes()  # a node killed leaves its proxy
        namespace.delete()

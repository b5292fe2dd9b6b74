"""The `hapair vrrp` process on one host: start-up refusals, the dump signals, a reload that fails, the pid
file and the stop sequence."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.topology import HAPAIR, Daemon, Host, Lan, wait_until

VIP_TAKEN_AWAY = [
    "Netlink reflector reports IP 10.101.1.10 removed from eth0",
    "(VI_1) Entering BACKUP STATE",
    "(VI_1) sent 0 priority",
    "(VI_1) removing VIPs.",
    "(VI_1) Receive advertisement timeout",
    "(VI_1) Entering MASTER STATE",
    "(VI_1) setting VIPs.",
]

pytestmark = pytest.mark.netns

INSTANCE = """
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 77
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret12
    }
    virtual_ipaddress {
        10.101.1.10/24
    }
}
"""


def start(host: Host, config: str, *, env: dict[str, str] | None = None, detail: bool = False) -> Daemon:
    directory = host.lan.directory
    path = directory / "keepalived.conf"
    path.write_text(config)
    args = [HAPAIR, "vrrp", "-n", "-l", "-G", "-f", str(path), "-p", str(directory / "vrrp.pid")]
    return host.start([*args, "-D"] if detail else args, log_name="vrrp.log", env=env)


def start_keepalived(host: Host, config: str) -> Daemon:
    directory = host.lan.directory
    path = directory / "keepalived.conf"
    path.write_text(config)
    pid_files = [arg for flag in "prc" for arg in (f"-{flag}", str(directory / f"keepalived-{flag}.pid"))]
    args = ["keepalived", "-n", "-l", "-D", "-f", str(path), *pid_files]
    return host.start(args, log_name="keepalived.log")


@pytest.fixture
def node(lan: Lan) -> Host:
    return lan.host("n1", "10.101.1.11")


def test_a_master_logs_keepalived_lines_with_its_console_time_stamp(node):
    daemon = start(node, INSTANCE)
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    first = daemon.log().splitlines()[0]
    assert first.endswith(": Starting hapair VRRP v0.1.0 (keepalived 2.2.7 compatible)")
    stamp = first.split(": ", 1)[0]
    assert len(stamp.split()) == 5  # Thu Nov 26 04:51:58 2026
    assert "10.101.1.10" in node.addresses()
    assert (node.lan.directory / "vrrp.pid").read_text().strip() == str(daemon.pid)


def test_stop_drops_the_addresses_removes_the_pid_file_and_exits_zero(node):
    daemon = start(node, INSTANCE)
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    assert daemon.stop() == 0
    assert daemon.lines()[-1] == "Stopped"
    assert "10.101.1.10" not in node.addresses()
    assert not (node.lan.directory / "vrrp.pid").exists()


def test_a_configuration_it_cannot_run_is_refused_with_its_place(node):
    config = INSTANCE.replace("    priority 150\n", "    priority 150\n    use_vmac\n")
    daemon = start(node, config)
    assert daemon.process.wait(30) == 1
    path = node.lan.directory / "keepalived.conf"
    assert f"({path}: Line 2) (VI_1) use_vmac / use_ipvlan is not supported by hapair yet" in daemon.lines()


def test_a_configuration_keepalived_would_not_run_is_refused(node):
    daemon = start(node, INSTANCE.replace("virtual_router_id 77", ""))
    assert daemon.process.wait(30) == 1
    assert any("(VI_1) the virtual router id must be set" in line for line in daemon.lines())


def test_a_reload_that_fails_keeps_the_running_configuration(node):
    daemon = start(node, INSTANCE)
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    (node.lan.directory / "keepalived.conf").write_text(INSTANCE.replace("virtual_router_id 77", ""))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for("Reload failed - keeping the running configuration")
    assert "10.101.1.10" in node.addresses()
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    assert daemon.lines().count("(VI_1) Entering MASTER STATE") == 1
    assert daemon.stop() == 0


def test_the_dump_signals_write_keepalived_files_in_tmpdir(node, tmp_path):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    daemon = start(node, INSTANCE, env={**os.environ, "TMPDIR": str(dumps)})
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    for signum, name in ((signal.SIGUSR1, "data"), (signal.SIGUSR2, "stats"), (signal.SIGRTMIN + 2, "json")):
        daemon.signal(signum)
        wait_until((dumps / f"keepalived.{name}").exists, 10, f"keepalived.{name}")
    daemon.wait_for(f"Printing VRRP as json for process({daemon.pid}) on signal")
    data = (dumps / "keepalived.data").read_text().splitlines()
    assert " VRRP Instance = VI_1" in data
    assert "   State = MASTER" in data
    assert (dumps / "keepalived.stats").read_text().startswith("VRRP Instance: VI_1\n")
    (instance,) = json.loads((dumps / "keepalived.json").read_text())
    assert instance["data"]["state"] == 2
    assert instance["stats"]["become_master"] == 1


def test_a_missing_configuration_file_is_refused(node: Host):
    args = [HAPAIR, "vrrp", "-n", "-l", "-G", "-f", "/nonexistent/keepalived.conf", "-p", "/nonexistent.pid"]
    result = node.run(args)
    assert result.returncode == 1
    assert Path("/nonexistent.pid").exists() is False


@pytest.mark.parametrize(
    "implementation",
    ["hapair", pytest.param("keepalived", marks=pytest.mark.oracle)],
)
def test_a_vip_taken_away_from_a_master_is_given_back_through_backup_as_keepalived_does(node, implementation):
    if implementation == "keepalived" and shutil.which("keepalived") is None:
        pytest.skip("needs keepalived")
    if implementation == "hapair":
        daemon = start(node, INSTANCE, detail=True)
    else:
        daemon = start_keepalived(node, INSTANCE)
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    mark = len(daemon.lines())
    assert node.run(["ip", "addr", "del", "10.101.1.10/24", "dev", "eth0"]).returncode == 0
    daemon.wait_for("(VI_1) setting VIPs.", after=mark)
    wait_until(lambda: "10.101.1.10" in node.addresses(), 10, "the VIP back")
    lines = [line.split(": ", 1)[-1] if implementation == "keepalived" else line for line in daemon.lines()]
    assert [line for line in lines[mark:] if "gratuitous ARP" not in line] == VIP_TAKEN_AWAY


def test_the_vrrp_process_scheduling_settings_are_applied(node):
    settings = "vrrp_priority -5\n vrrp_no_swap\n vrrp_cpu_affinity 0\n max_auto_priority"
    daemon = start(node, f"global_defs {{\n {settings}\n}}\n{INSTANCE}")
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    assert os.getpriority(os.PRIO_PROCESS, daemon.pid) == -5
    status = Path(f"/proc/{daemon.pid}/status").read_text().splitlines()
    assert int(next(line for line in status if line.startswith("VmLck:")).split()[1]) > 0
    assert os.sched_getaffinity(daemon.pid) == {0}
    notice = "Real-time scheduling (vrrp_rt_priority, max_auto_priority) is not applied by hapair"
    assert notice in daemon.lines()


def test_a_timer_more_than_a_second_late_is_reported_as_keepalived_does(node):
    daemon = start(node, INSTANCE)
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    daemon.signal(signal.SIGSTOP)
    time.sleep(2.5)  # the fault itself: the master's 1 s advert timer comes due while the daemon is stopped
    daemon.signal(signal.SIGCONT)
    daemon.wait_for("A thread timer expired ")
    [line] = [line for line in daemon.lines() if line.startswith("A thread timer expired ")]
    late = float(line.split("expired ")[1].split()[0])
    assert 1.0 < late < 2.5

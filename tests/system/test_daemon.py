"""The `hapair vrrp` process on one host: start-up refusals, the dump signals, a reload that fails, the pid
file and the stop sequence."""

from __future__ import annotations

import contextlib
import json
import os
import resource
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


def config_file(host: Host, config: str | None) -> Path:
    """keepalived.conf in the LAN's directory with `config` in it; None: no such file."""
    path = host.lan.directory / "keepalived.conf"
    if config is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(config)
    return path


def start(
    host: Host, config: str | None, *, env: dict[str, str] | None = None, detail: bool = False
) -> Daemon:
    directory = host.lan.directory
    path = config_file(host, config)
    args = [HAPAIR, "vrrp", "-n", "-l", "-G", "-f", str(path), "-p", str(directory / "vrrp.pid")]
    return host.start([*args, "-D"] if detail else args, log_name="vrrp.log", env=env)


def start_keepalived(host: Host, config: str | None, *, env: dict[str, str] | None = None) -> Daemon:
    directory = host.lan.directory
    path = config_file(host, config)
    pid_files = [arg for flag in "prc" for arg in (f"-{flag}", str(directory / f"keepalived-{flag}.pid"))]
    args = ["keepalived", "-n", "-l", "-D", "-f", str(path), *pid_files]
    return host.start(args, log_name="keepalived.log", env=env)


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


def test_sigterms_during_the_stop_sequence_still_end_it_with_exit_zero(node):
    """A second SIGTERM (systemd's, a test's) can land anywhere in the stop sequence, also after the event
    loop has ended; keepalived ignores it."""
    daemon = start(node, INSTANCE)
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    pid = daemon.pid
    sent = 0
    while daemon.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            sent += 1
        time.sleep(0.0005)
    assert sent > 1
    assert daemon.process.returncode == 0, daemon.log()
    assert daemon.lines()[-1] == "Stopped"


def test_a_configuration_it_cannot_run_is_refused_with_its_place(node):
    config = INSTANCE.replace("    priority 150\n", "    priority 150\n    use_ipvlan 10.101.1.9/24\n")
    daemon = start(node, config)
    assert daemon.process.wait(30) == 2  # keepalived's KEEPALIVED_EXIT_CONFIG
    path = node.lan.directory / "keepalived.conf"
    assert f"({path}: Line 2) (VI_1) use_ipvlan is not supported by hapair yet" in daemon.lines()


@pytest.mark.parametrize(
    "implementation",
    ["hapair", pytest.param("keepalived", marks=pytest.mark.oracle)],
)
@pytest.mark.parametrize(
    ("config", "status", "line"),
    [
        (INSTANCE.replace("virtual_router_id 77", ""), 2, "(VI_1) the virtual router id must be set"),
        (INSTANCE.replace("interface eth0", "interface nosuch0"), 2, "Non-existent interface specified"),
        (INSTANCE.replace("interface eth0\n", ""), 2, "(VI_1) Unknown interface!"),
        (INSTANCE.replace("}\n\n", "}\ninclude /nonexistent/*.conf\n", 1), 0, None),
    ],
    ids=["no vrid", "unknown interface", "no interface", "a missing optional include"],
)
def test_a_configuration_keepalived_would_not_run_is_refused_with_its_status(
    node, implementation, config, status, line
):
    """keepalived 2.2.7's daemon: `pid N exited with permanent error CONFIG`, status 2
    (KEEPALIVED_EXIT_CONFIG); a missing include that is not required is only said."""
    if implementation == "keepalived" and shutil.which("keepalived") is None:
        pytest.skip("needs keepalived")
    starter = start if implementation == "hapair" else start_keepalived
    daemon = starter(node, config)
    if status:
        assert daemon.process.wait(30) == status
        assert any(line in text for text in daemon.lines())
    else:
        daemon.wait_for("Entering MASTER STATE")
        assert daemon.stop() == 0


@pytest.mark.parametrize(
    "implementation",
    ["hapair", pytest.param("keepalived", marks=pytest.mark.oracle)],
)
def test_a_missing_configuration_file_exits_6(node, implementation):
    """KEEPALIVED_EXIT_NO_CONFIG, as keepalived 2.2.7's daemon (its `-t` exits 0 there: a bug, #955)."""
    if implementation == "keepalived" and shutil.which("keepalived") is None:
        pytest.skip("needs keepalived")
    daemon = (start if implementation == "hapair" else start_keepalived)(node, None)
    assert daemon.process.wait(30) == 6
    path = node.lan.directory / "keepalived.conf"
    assert any(f"Config files missing '{path}'." in line for line in daemon.lines())


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
    policy = scheduling(daemon.pid)
    if policy != (os.SCHED_OTHER, 0):  # a timer was late (a loaded machine): max_auto_priority raised it
        assert policy[0] == os.SCHED_RR
        daemon.wait_for(f"Set realtime priority {policy[1]}")


def scheduling(pid: int) -> tuple[int, int]:
    """A process's scheduling policy (without SCHED_RESET_ON_FORK) and real-time priority."""
    return os.sched_getscheduler(pid) & ~os.SCHED_RESET_ON_FORK, os.sched_getparam(pid).sched_priority


def start_either(node: Host, implementation: str, config: str, dumps: Path) -> tuple[Daemon, int]:
    """hapair or keepalived on `config`, writing its dumps in `dumps`, once master (its addresses announced,
    the take-over over); its VRRP process's PID (keepalived's child's)."""
    if implementation == "keepalived" and shutil.which("keepalived") is None:
        pytest.skip("needs keepalived")
    env = {**os.environ, "TMPDIR": str(dumps)}
    if implementation == "hapair":
        daemon = start(node, config, env=env, detail=True)
    else:
        daemon = start_keepalived(node, config, env=env)
    daemon.wait_for("(VI_1) Sending/queueing gratuitous ARPs on eth0 for 10.101.1.10")
    if implementation == "hapair":
        return daemon, daemon.pid
    return daemon, int((node.lan.directory / "keepalived-r.pid").read_text())


def dumped_global_lines(pid: int, dumps: Path) -> list[str]:
    """The global definitions of the data dump (SIGUSR1) the VRRP process `pid` writes in `dumps`."""
    path = dumps / "keepalived.data"
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    topology = "------< VRRP Topology >------"
    wait_until(lambda: topology in (path.read_text() if path.exists() else ""), 10, str(path))
    lines = path.read_text().splitlines()
    return lines[: lines.index(topology)]


IMPLEMENTATIONS = pytest.mark.parametrize(
    "implementation", ["hapair", pytest.param("keepalived", marks=pytest.mark.oracle)]
)
MAX_AUTO_PRIORITY_NOTICE = (
    "NOTICE: setting config option max_auto_priority should result in better keepalived performance"
)


@IMPLEMENTATIONS
def test_vrrp_rt_priority_runs_the_vrrp_process_round_robin_under_its_real_time_limit(
    node, implementation, tmp_path
):
    config = f"global_defs {{\n vrrp_rt_priority 10\n vrrp_rlimit_rttime 200000\n}}\n{INSTANCE}"
    daemon, pid = start_either(node, implementation, config, tmp_path)

    assert scheduling(pid) == (os.SCHED_RR, 10)
    assert os.sched_getscheduler(pid) & os.SCHED_RESET_ON_FORK  # scripts run with standard scheduling
    assert resource.prlimit(pid, resource.RLIMIT_RTTIME) == (100_000, 200_000)
    assert dumped_global_lines(pid, tmp_path)[-2:] == [
        " current realtime priority = 10",
        " current realtime time limit = 200000",
    ]
    assert MAX_AUTO_PRIORITY_NOTICE in daemon.lines()  # max_auto_priority is not set


@IMPLEMENTATIONS
def test_a_late_timer_turns_real_time_scheduling_on_and_a_reload_turns_it_off(node, implementation, tmp_path):
    config = f"global_defs {{\n max_auto_priority 5\n vrrp_rlimit_rttime 200000\n}}\n{INSTANCE}"
    daemon, pid = start_either(node, implementation, config, tmp_path)
    assert scheduling(pid) == (os.SCHED_OTHER, 0)
    assert not any(line.startswith(" current realtime") for line in dumped_global_lines(pid, tmp_path))
    os.kill(pid, signal.SIGSTOP)
    time.sleep(2.5)  # the fault itself: an advert comes due in the stop's first second, so 1.5 s late or more
    os.kill(pid, signal.SIGCONT)

    line = daemon.wait_for("Set realtime priority 1")
    assert daemon.lines()[line - 1].startswith("A thread timer expired ")
    assert scheduling(pid) == (os.SCHED_RR, 1)
    assert resource.prlimit(pid, resource.RLIMIT_RTTIME) == (100_000, 200_000)
    assert dumped_global_lines(pid, tmp_path)[-2:] == [
        " current realtime priority = 1",
        " current realtime time limit = 200000",
    ]
    assert MAX_AUTO_PRIORITY_NOTICE not in daemon.lines()

    daemon.signal(signal.SIGHUP)
    daemon.wait_for("Reload complete", after=line)
    assert scheduling(pid) == (os.SCHED_OTHER, 0)  # until a timer is late again


def test_a_reload_reads_its_configuration_with_standard_scheduling(node):
    # 8,000 lines more take some 175 ms of Python to read: a real-time process reading them would pass
    # even hapair's floor of RLIMIT_RTTIME (100 ms; keepalived's default 10 ms is raised to it), and the
    # kernel would kill it (SIGKILL, exit status -9)
    padding = " vrrp_garp_master_delay 5\n" * 8000
    daemon = start(node, f"global_defs {{\n vrrp_rt_priority 10\n{padding}}}\n{INSTANCE}")
    daemon.wait_for("(VI_1) Entering MASTER STATE")
    assert scheduling(daemon.pid) == (os.SCHED_RR, 10)
    assert resource.prlimit(daemon.pid, resource.RLIMIT_RTTIME) == (50_000, 100_000)

    daemon.signal(signal.SIGHUP)

    daemon.wait_for("Reload complete")
    assert daemon.process.poll() is None
    assert scheduling(daemon.pid) == (os.SCHED_RR, 10)
    assert not [line for line in daemon.lines() if line.startswith("child process")]


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

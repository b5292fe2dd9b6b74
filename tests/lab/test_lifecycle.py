"""Labs built and removed by the test itself: refusals, `down` on a half-built lab, the demo (to its end,
and interrupted), and a mixed pair running the real keepalived and nginx from a configuration directory."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.lab import cpu
from hapair.lab.client import ask
from hapair.lab.layout import Layout
from hapair.lab.network import run_in
from hapair.lab.nodes import Node
from hapair.lab.state import LabState
from tests.netns import namespace
from tests.topology import HAPAIR

from .helpers import lab, lab_ok, leftovers, master_is, skip_reason, statuses, wait_for

pytestmark = pytest.mark.netns

DEMO_TIMEOUT_S = 60


def test_up_refuses_namespaces_that_already_exist_and_leaves_them(lab_name: str) -> None:
    with namespace(f"hapair-{lab_name}-client"):
        result = lab("up", "--name", lab_name)
        assert result.returncode == 1
        assert result.stderr == (
            f"hapair lab: network namespaces already exist: hapair-{lab_name}-client; choose another --name\n"
        )
        assert Path(f"/run/netns/hapair-{lab_name}-client").exists()
        assert not Path(f"/run/hapair-lab/{lab_name}").exists()


def test_a_user_who_is_not_root_gets_one_line() -> None:
    if skip_reason():
        pytest.skip(str(skip_reason()))
    command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", HAPAIR, "lab", "status"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert (
        result.stderr
        == "hapair lab: hapair lab needs root: it builds network namespaces (run it with sudo)\n"
    )


def test_down_without_a_lab_does_nothing(lab_name: str) -> None:
    assert lab_ok("down", "--name", lab_name) == f"no lab named {lab_name}: nothing to remove\n"


def test_down_removes_a_half_built_lab(lab_name: str) -> None:
    with subprocess.Popen([HAPAIR, "lab", "up", "--name", lab_name], stdout=subprocess.PIPE, text=True) as up:
        assert up.stdout is not None
        assert up.stdout.readline().startswith("LAN 10.101.1.0/24")  # namespaces built, nodes not yet
        up.kill()
    assert leftovers(lab_name) != []
    assert lab_ok("down", "--name", lab_name) == f"lab {lab_name} removed\n"
    assert leftovers(lab_name) == []


def test_sigterm_during_up_removes_the_half_built_lab(lab_name: str) -> None:
    with subprocess.Popen(
        [HAPAIR, "lab", "up", "--name", lab_name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as up:
        assert up.stdout is not None
        assert up.stdout.readline().startswith("LAN 10.101.1.0/24")  # namespaces built, nodes not yet
        up.send_signal(signal.SIGTERM)
        _, errors = up.communicate(timeout=DEMO_TIMEOUT_S)
    assert up.returncode == 130, errors
    assert errors == "hapair lab: interrupted\n"
    assert leftovers(lab_name) == []


def test_the_demo_tells_the_seeds_failover_and_leaves_nothing(lab_name: str) -> None:
    result = lab("demo", "--name", lab_name, timeout=DEMO_TIMEOUT_S)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "  node 2 log: (VRRP_1) Entering MASTER STATE" in lines
    step_titles = [line for line in lines if line.startswith("== ")]
    assert step_titles == [
        "== both nodes up",
        "== node 1's hapair vrrp stopped (SIGTERM)",
        "== node 1's hapair vrrp started again",
        "== node 1's proxy killed (SIGKILL of its master and workers)",
        "== node 1's proxy started again",
    ]
    served = [line.split()[-1] for line in lines if "answered by node" in line]
    assert served[0] == "1" and "2" in served and served[-1] == "1"
    summary = lines[lines.index("longest outage seen by the client, per step:") + 2 :][:5]
    assert all(line.endswith("as expected") for line in summary), summary


def test_the_native_demo_has_hapair_node_restart_the_killed_proxy(lab_name: str) -> None:
    result = lab("demo", "--health", "native", "--name", lab_name, timeout=DEMO_TIMEOUT_S)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    step_titles = [line for line in lines if line.startswith("== ")]
    assert step_titles[1:] == [
        "== node 1's hapair node stopped (SIGTERM)",
        "== node 1's hapair node started again",
        "== node 1's proxy killed (SIGKILL of its master and workers)",
        "== node 1's proxy restarted by hapair node",
    ]
    assert "  node 1 log: (VRRP_1) Entering FAULT STATE" in lines
    assert leftovers(lab_name) == []
    assert lines[-2:] == [
        "demo: every step went as expected",
        f"lab removed (namespaces hapair-{lab_name}-*, processes, /run/hapair-lab/{lab_name})",
    ]
    assert leftovers(lab_name) == []


def test_the_bgp_demo_spreads_the_load_moves_a_failed_nodes_share_and_gives_it_back(lab_name: str) -> None:
    if shutil.which("bird") is None:
        pytest.skip("needs BIRD (apt-get install bird2)")
    result = lab("demo", "--bgp", "--nodes", "3", "--name", lab_name, timeout=2 * DEMO_TIMEOUT_S)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("== ")] == [
        "== all nodes announced",
        "== node 2: its proxy killed (SIGKILL of its master and workers)",
        "== node 2: healed",
        "== node 3: its cable pulled",
        "== node 3: healed",
    ]
    summary = lines[lines.index("what the client saw, per step:") + 2 :][:5]
    assert [line.split("  ")[1] for line in summary] == [
        "all nodes announced",
        "node 2 withdrawn (proxy-kill)",
        "node 2 back",
        "node 3 withdrawn (link)",
        "node 3 back",
    ]
    assert all(line.endswith("as expected") for line in summary), summary
    assert lines[-2] == "demo: every step went as expected"
    assert leftovers(lab_name) == []


@pytest.fixture
def ctrl_c_reaches_children() -> Iterator[None]:
    """The demo must get SIGINT as at a terminal. A test run started in the background by a shell (CI may
    be) has SIGINT ignored, which its children would inherit (and Python then leaves it ignored); a
    handled signal is reset to its default action in a child."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    ("signum", "when"),
    [
        (signal.SIGINT, "LAN 10.101.1.0/24"),  # during up
        (signal.SIGINT, "== node 1's hapair vrrp stopped"),  # with the client running
        (signal.SIGTERM, "== node 1's hapair vrrp stopped"),
    ],
)
@pytest.mark.usefixtures("ctrl_c_reaches_children")
def test_an_interrupted_demo_leaves_nothing(lab_name: str, signum: int, when: str) -> None:
    with subprocess.Popen(
        [HAPAIR, "lab", "demo", "--name", lab_name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as demo:
        assert demo.stdout is not None
        for line in demo.stdout:
            if line.strip().startswith(when):
                break
        demo.send_signal(signum)
        output, errors = demo.communicate(timeout=DEMO_TIMEOUT_S)
    assert demo.returncode == 130, output + errors
    assert "interrupted: removing the lab" in output
    assert "Traceback" not in errors
    assert leftovers(lab_name) == []


def test_a_mixed_pair_from_a_config_dir_keepalived_on_node_1_nginx_on_node_2_at_l4(
    lab_name: str, tmp_path: Path
) -> None:
    lab_ok("export", str(tmp_path))
    node2 = tmp_path / "node2" / "keepalived.conf"
    node2.write_text(node2.read_text().replace("priority 250", "priority 251"))
    options = ["--config-dir", str(tmp_path), "--with-keepalived", "1", "--with-nginx", "2", "--layer", "4"]
    output = lab_ok("up", "--name", lab_name, *options)
    assert "node 1: keepalived and hapair proxy started" in output
    assert "node 2: hapair vrrp and nginx started" in output

    rows = master_is(1, lab_name)
    assert (rows[1].vrrp, rows[1].proxy, rows[2].vrrp, rows[2].proxy) == (
        "keepalived", "hapair proxy", "hapair vrrp", "nginx",
    )  # fmt: skip
    assert (rows[1].priority, rows[2].priority) == (255, 251)
    assert rows[2].proxy_answers == "yes"
    assert run_in(Layout.named(lab_name).namespace("client"), ask).node == 1  # L4: the node's address

    lab_ok("fail", "1", "--how", "stop", "--name", lab_name)
    wait_for(lab_name, "node 2 master", lambda rows: rows[2].state == "MASTER" and rows[2].vips)
    assert run_in(Layout.named(lab_name).namespace("client"), ask).node == 2
    lab_ok("fail", "2", "--how", "proxy", "--name", lab_name)
    wait_for(lab_name, "node 2 in FAULT", lambda rows: rows[2].state == "FAULT")
    lab_ok("heal", "1", "--name", lab_name)
    lab_ok("heal", "2", "--name", lab_name)
    master_is(1, lab_name)
    assert statuses(lab_name)[2].proxy_answers == "yes"

    assert lab_ok("down", "--name", lab_name) == f"lab {lab_name} removed\n"
    assert leftovers(lab_name) == []


def test_nodes_of_a_given_size_run_in_cpu_groups_capped_at_it_and_removed_with_the_lab(lab_name: str) -> None:
    groups = cpu.hierarchy()
    if groups is None:
        pytest.skip("no cgroup CPU controller on this machine")
    lab_ok("up", "--name", lab_name, "--node-cpu", "0.5")
    master_is(1, lab_name)
    state = LabState.load(Layout.named(lab_name))
    for number, record in state.nodes.items():
        group = groups[0] / state.node_cgroup(number)
        members = {int(pid) for pid in (group / "cgroup.procs").read_text().split()}
        started = [*Node(state, number).proxy_processes(), *record.processes()]
        assert {p.pid for p in started} <= members, f"node {number}"
        cap = (
            (group / "cpu.max").read_text().split()
            if groups[1] == 2
            else [(group / f"cpu.cfs_{part}_us").read_text().strip() for part in ("quota", "period")]
        )
        assert cap == ["5000", "10000"]
    assert lab_ok("down", "--name", lab_name) == f"lab {lab_name} removed\n"
    assert leftovers(lab_name) == []


@pytest.mark.parametrize("cpus", ["0.05", "64"])
def test_a_node_size_the_kernel_or_the_machine_cannot_give_is_refused_before_anything_is_built(
    lab_name: str, cpus: str
) -> None:
    result = lab("up", "--name", lab_name, "--node-cpu", cpus)
    assert result.returncode == 1
    assert result.stderr.startswith(f"hapair lab: --node-cpu {cpus}: from 0.1 to ")
    assert leftovers(lab_name) == []

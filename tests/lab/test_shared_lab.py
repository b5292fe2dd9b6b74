"""One lab, up for the whole module: its status, each fault and its healing, its logs. Every fault test
heals node 1 and waits until it is master again, so the next test starts from the seed's normal state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hapair.lab.client import ask
from hapair.lab.layout import Layout
from hapair.lab.network import run_in

from .helpers import lab, lab_ok, master_is, wait_for

pytestmark = pytest.mark.netns


def test_node_1_is_master_and_both_proxies_answer(shared_lab: str) -> None:
    rows = master_is(1, shared_lab)
    assert (rows[1].priority, rows[2].priority) == (255, 250)
    assert rows[1].proxy_answers == rows[2].proxy_answers == "yes"
    assert rows[1].vrrp == rows[2].vrrp == "hapair vrrp"


def test_status_prints_the_table(shared_lab: str) -> None:
    lines = lab_ok("status", "--name", shared_lab).splitlines()
    assert lines[0].split()[:5] == ["node", "address", "vrrp", "state", "priority"]
    assert lines[1].split()[:6] == ["1", "10.101.1.11", "hapair", "vrrp", "MASTER", "255"]
    assert lines[2].split()[:6] == ["2", "10.101.1.12", "hapair", "vrrp", "BACKUP", "250"]


def test_the_client_reaches_the_backend_through_the_vip(shared_lab: str) -> None:
    answer = run_in(Layout.named(shared_lab).namespace("client"), ask)
    assert answer.ok, answer.error
    assert answer.node == 1


@pytest.fixture
def healed(shared_lab: str) -> Iterator[str]:
    try:
        yield shared_lab
    finally:
        lab("heal", "1", "--name", shared_lab)
        master_is(1, shared_lab, timeout=20)


@pytest.mark.parametrize(
    ("how", "node1_state", "node1_vips", "node1_proxy"),
    [
        ("stop", "stopped", (), "yes"),  # the stopping master hands over and removes the VIP
        ("kill", "stopped", ("10.101.1.10",), "yes"),  # a crash leaves the VIP behind
        ("link", "FAULT", (), "no (timed out)"),
        ("proxy", "FAULT", (), "no (connection refused)"),
    ],
)
def test_a_fault_on_the_master_moves_the_vip_to_node_2_and_heal_brings_it_back(
    healed: str, how: str, node1_state: str, node1_vips: tuple[str, ...], node1_proxy: str
) -> None:
    output = lab_ok("fail", "1", "--how", how, "--name", healed)
    assert output.startswith("node 1: ")

    def failed_over(rows: dict) -> bool:
        return (
            rows[2].state == "MASTER"
            and "10.101.1.10" in rows[2].vips
            and rows[1].state == node1_state
            and rows[1].vips == node1_vips
            and rows[1].proxy_answers == node1_proxy
        )

    rows = wait_for(healed, f"node 2 master after {how}", failed_over, timeout=15)
    assert rows[1].fault == how
    assert run_in(Layout.named(healed).namespace("client"), ask).node == 2

    assert lab_ok("heal", "1", "--name", healed).startswith("node 1: ")
    rows = master_is(1, healed, timeout=20)
    assert rows[1].fault is None


def test_a_second_fault_on_a_failed_node_is_refused(healed: str) -> None:
    lab_ok("fail", "1", "--how", "stop", "--name", healed)
    result = lab("fail", "1", "--how", "link", "--name", healed)
    assert result.returncode == 1
    assert result.stderr == "hapair lab: node 1 already has a fault (stop); hapair lab heal 1 first\n"


def test_heal_on_a_healthy_node_does_nothing(shared_lab: str) -> None:
    assert lab_ok("heal", "2", "--name", shared_lab) == "node 2: nothing to heal\n"


def test_logs_show_the_vrrp_daemons_and_the_proxys_logs(shared_lab: str) -> None:
    vrrp = lab_ok("logs", "1", "--name", shared_lab)
    assert "(VRRP_1) Entering MASTER STATE" in vrrp
    assert "VRRP_Script(check_nginx) succeeded" in vrrp
    assert "(VRRP_1) Entering BACKUP STATE" in lab_ok("logs", "2", "--name", shared_lab)
    access = lab_ok("logs", "1", "--what", "access", "--name", shared_lab)
    assert '"GET /test.php HTTP/1.1" 200' in access
    assert access.splitlines()[-1].startswith("10.101.1.100 - - [")


def test_commands_on_a_lab_that_is_not_up_say_so(shared_lab: str) -> None:
    result = lab("status", "--name", f"{shared_lab}-none")
    assert result.returncode == 1
    assert result.stderr.startswith(f"hapair lab: no lab named {shared_lab}-none is up")
    assert "Traceback" not in result.stderr


def test_up_refuses_a_lab_that_is_already_up(shared_lab: str) -> None:
    result = lab("up", "--name", shared_lab)
    assert result.returncode == 1
    assert result.stderr == (
        f"hapair lab: a lab named {shared_lab} is already up"
        f" (/run/hapair-lab/{shared_lab}); take it down first\n"
    )
    master_is(1, shared_lab)

"""global_defs' `vrrp_startup_delay`, with each implementation on a lone node: the line keepalived 2.2.7 logs,
and a backup that waits the delay before its Master_Down_Interval starts counting."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest

from tests.system.mixed import INIT, KEEPALIVED, LOW_ADDRESS, MASTER, V2_PASS, Implementation, Node, end_all
from tests.system.mixed import keepalived_conf as instance_conf
from tests.topology import Lan

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

DELAY_S = 2.5
PRIORITY = 100
START_S = 15


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


@pytest.mark.parametrize("implementation", list(Implementation), ids=lambda i: i.value)
def test_a_backup_waits_the_startup_delay_before_its_master_down_interval(
    lan: Lan, implementation: Implementation
) -> None:
    config = f"global_defs {{\n    vrrp_startup_delay {DELAY_S}\n}}\n" + instance_conf(V2_PASS, PRIORITY)
    node = Node(lan.host("n1", LOW_ADDRESS), implementation, config, PRIORITY)
    started = time.monotonic()  # before the daemon's start, which the delay counts from
    node.start()
    init = node.wait_for(INIT, START_S)
    assert f"Delaying startup for {DELAY_S:g} seconds" in node.lines()[:init]
    wait = DELAY_S + V2_PASS.master_down(PRIORITY)
    node.wait_for(MASTER, wait + START_S)
    # not before the delay and the interval are over (a daemon that ignored the delay would be 2.5 s early)
    assert time.monotonic() - started >= wait

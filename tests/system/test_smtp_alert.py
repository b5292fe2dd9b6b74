"""`smtp_alert` (issue 13, point 8): hapair and keepalived 2.2.7 on the same configuration, each sending to
an SMTP sink (aiosmtpd) in its own namespace, mail the same state changes with the same commands and
message, the date aside; a server that refuses the connection is logged as keepalived logs it and changes
nothing else."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.mixed import KEEPALIVED, MASTER, Implementation, Node, end_all
from tests.topology import Host, Lan, wait_until

pytestmark = [pytest.mark.netns, pytest.mark.oracle]

SINK = Path(__file__).with_name("smtp_sink.py")
START_S = 15
TAKE_OVER_S = 8
STATE_MAILS = ("Entering BACKUP state", "Entering MASTER state", "Entering FAULT state")


@pytest.fixture
def lan(lan: Lan) -> Iterator[Lan]:
    yield lan
    end_all(lan.daemons)


@pytest.fixture(autouse=True)
def _keepalived_installed() -> None:
    if shutil.which(KEEPALIVED) is None:
        pytest.skip(f"needs {KEEPALIVED}")


def config(port: int, *, group: bool = False) -> str:
    """One instance mailing its state changes, or (`group`) a sync group of it mailing the group's."""
    sync_group = (
        "vrrp_sync_group G1 {\n    group {\n        VI_1\n    }\n    smtp_alert\n}\n" if group else ""
    )
    return (
        "global_defs {\n"
        "    notification_email {\n        ops@example.com\n        oncall@example.com\n    }\n"
        "    notification_email_from lb1@example.com\n"
        f"    smtp_server 127.0.0.1 {port}\n"
        "    smtp_connect_timeout 5\n"
        "    router_id LB_1\n"
        "}\n"
        "vrrp_instance VI_1 {\n"
        "    state BACKUP\n"
        "    interface eth0\n"
        "    virtual_router_id 51\n"
        "    priority 100\n"
        "    advert_int 1\n"
        f"{'' if group else '    smtp_alert'}\n"
        "    virtual_ipaddress {\n        10.101.1.10/32\n    }\n"
        "}\n"
        f"{sync_group}"
    )


def start_sink(host: Host) -> Path:
    mails = host.lan.directory / f"mails-{host.name}.jsonl"
    sink = host.start(
        [sys.executable, str(SINK), "127.0.0.1", "2525", str(mails)], log_name=f"sink-{host.name}"
    )
    sink.wait_for("ready", START_S)
    return mails


def mails(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def without_date(mail: dict[str, object]) -> dict[str, object]:
    message = str(mail["message"])
    return {**mail, "message": "\r\n".join(h for h in message.split("\r\n") if not h.startswith("Date: "))}


def run_through_the_states(
    lan: Lan, name: str, implementation: Implementation, *, group: bool = False
) -> list[dict[str, object]]:
    """Start the instance alone (BACKUP, then MASTER), cut its link (FAULT), stop it; the mails received."""
    host = lan.host(name, "10.101.1.11" if name == "n1" else "10.101.1.12")
    path = start_sink(host)
    node = Node(host, implementation, config(2525, group=group), 100)
    node.start()
    node.wait_for(MASTER, START_S + TAKE_OVER_S)
    host.cut()
    node.wait_for("(VI_1) Entering FAULT STATE", START_S)
    wait_until(lambda: len(mails(path)) >= len(STATE_MAILS), START_S, f"{len(STATE_MAILS)} mails")
    node.daemon.stop()
    return mails(path)


def test_hapair_mails_the_state_changes_keepalived_mails_word_for_word(lan: Lan) -> None:
    theirs = run_through_the_states(lan, "n1", Implementation.KEEPALIVED)
    ours = run_through_the_states(lan, "n2", Implementation.HAPAIR)

    subjects = [f"Subject: [LB_1] VRRP Instance VI_1 - {state}" for state in STATE_MAILS]
    assert [s for mail in theirs[:3] for s in subjects if s in str(mail["message"])] == subjects
    assert [without_date(mail) for mail in ours[:3]] == [without_date(mail) for mail in theirs[:3]]
    first = ours[0]
    assert (first["from"], first["to"]) == ("lb1@example.com", ["ops@example.com", "oncall@example.com"])
    assert "\r\nX-Mailer: Keepalived\r\nTo: ops@example.com, oncall@example.com\r\n\r\n" in str(
        first["message"]
    )
    # keepalived's VRRP process exits before its Stopping mail is through; hapair waits for it
    assert "Subject: [LB_1] VRRP Instance VI_1 - Stopping" in str(ours[3]["message"])


def test_a_sync_group_mails_its_state_changes_as_keepalived_s_does(lan: Lan) -> None:
    theirs = run_through_the_states(lan, "n1", Implementation.KEEPALIVED, group=True)
    ours = run_through_the_states(lan, "n2", Implementation.HAPAIR, group=True)

    subjects = [f"Subject: [LB_1] VRRP Group G1 - {state}" for state in STATE_MAILS]
    assert [s for mail in theirs[:3] for s in subjects if s in str(mail["message"])] == subjects
    assert [without_date(mail) for mail in ours[:3]] == [without_date(mail) for mail in theirs[:3]]
    assert "=> All VRRP group instances are now in MASTER state <=" in str(ours[1]["message"])


def test_a_refused_smtp_connection_is_logged_and_the_instance_carries_on(lan: Lan) -> None:
    node = Node(lan.host("n1", "10.101.1.11"), Implementation.HAPAIR, config(2599), 100)
    node.start()
    line = node.wait_for("(VI_1) Entering BACKUP STATE (init)", START_S)
    line = node.wait_for("returned write error", START_S, after=line)
    assert node.lines()[line].startswith("smtp fd ")
    node.wait_for(MASTER, TAKE_OVER_S, after=line)
    assert node.daemon.stop() == 0

"""bench/failover.py's pure parts: the seed's nodes over IPv6, and the probe's record of answers (the lines
bench/arp_probe.py and bench/nd_probe.py print) with the longest time the VIP went unanswered."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from tests.reference import REPO
from tests.seed import seed_config
from tests.topology import Daemon

sys.path.insert(0, str(REPO / "bench"))  # failover.py imports its sibling harness as a script would

import failover

NODE1 = "62:fe:7a:7a:6c:4b"
NODE2 = "8a:59:bb:5d:a4:1a"


@pytest.mark.parametrize("node", [1, 2])
def test_the_seed_over_ipv6_is_the_seeds_instance_native_ipv6_holding_the_ipv6_vip(node: int) -> None:
    expected = []
    lines = iter(seed_config(node).splitlines())
    for line in lines:
        if line == "  authentication {":
            while next(lines) != "  }":
                pass
            continue
        expected.append(line.replace("10.101.1.10/24", "fd00:101::10/64"))
        if line == "  advert_int 1":
            expected.append("  native_ipv6")
    assert failover.seed_config6(node).splitlines() == expected
    assert "    fd00:101::10/64" in expected


def probe_of(lines: list[str], tmp_path: Path) -> failover.Probe:
    output = tmp_path / "probe.log"
    output.write_text("".join(f"{line}\n" for line in lines))
    probe = failover.Probe(cast(Daemon, SimpleNamespace(log_path=output)))
    probe.poll()
    return probe


def test_the_probe_reads_answers_and_adverts_whichever_family(tmp_path: Path) -> None:
    probe = probe_of(
        ["V 10.000000 fe80::60fe:7aff:fe7a:6c4b 70 255", f"A 10.004000 {NODE1}", "junk"], tmp_path
    )
    assert probe.adverts == [failover.Advert(10.0, "fe80::60fe:7aff:fe7a:6c4b", 255)]
    assert probe.answers == [failover.Answer(10.004, NODE1)]


def test_the_longest_silence_counts_from_the_last_answer_before_the_fault(tmp_path: Path) -> None:
    probe = probe_of([f"A 9.998000 {NODE1}", f"A 12.020000 {NODE2}"], tmp_path)
    assert probe.longest_silence(10.0, 12.02) == pytest.approx(2.022)


def test_the_longest_silence_is_the_longest_gap_while_node_1_still_answers(tmp_path: Path) -> None:
    answers = [f"A 9.998000 {NODE1}", f"A 10.000000 {NODE1}", f"A 10.002000 {NODE1}", f"A 10.026000 {NODE2}"]
    probe = probe_of(answers, tmp_path)
    assert probe.longest_silence(9.999, 10.026) == pytest.approx(0.024)


def test_with_answers_on_both_sides_of_the_take_over_the_silence_is_the_probe_interval(
    tmp_path: Path,
) -> None:
    answers = [f"A 10.000000 {NODE1}", f"A 10.002000 {NODE1}", f"A 10.004000 {NODE2}", f"A 10.006000 {NODE1}"]
    probe = probe_of(answers, tmp_path)
    assert probe.longest_silence(10.001, 10.004) == pytest.approx(0.002)

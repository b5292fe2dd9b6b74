"""What the BGP daemons show (issue 15's status and metrics, in BGP mode): the status document `hapair
status --json` reads from their control socket, its terminal form, and the Prometheus metrics, parsed with
prometheus-client's own parser; each says whether a VIP is announced, why and since when, and follows the
cause as it changes."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hapair.bgp.announcer import Action
from hapair.bgp.config import BgpConfig, Vip
from hapair.bgp.daemon import BgpDaemon, Feed, serve_metrics
from hapair.bgp.metrics import BgpCollector
from hapair.cli.status import describe
from hapair.control.protocol import request_line

VIP = "10.0.0.10"


class Recorder:
    def __init__(self) -> None:
        self.actions: list[Action] = []

    def apply(self, action: Action) -> None:
        self.actions.append(action)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def daemon(tmp_path: Path, clock: Clock) -> BgpDaemon:
    config = BgpConfig(
        path="node.conf", speaker="exabgp", control=str(tmp_path / "c.sock"), vips=[Vip(VIP, ())]
    )
    feed = Feed(lambda vip: ["proxy", "backends"], rise=1, fall=1)
    return BgpDaemon(config, Recorder(), clock, feed=feed, name="node --bgp")


def metrics(d: BgpDaemon) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(BgpCollector(lambda: list(d.announcers.values())))
    families = text_string_to_metric_families(generate_latest(registry).decode())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_the_status_document_and_metrics_follow_the_cause(tmp_path: Path) -> None:
    clock = Clock()
    d = daemon(tmp_path, clock)
    d.observe("proxy", True, "proxy master running, 2 workers connected")
    d.observe("backends", True, "a backend is reachable")
    clock.now = 101.0
    d.observe("proxy", False, "proxy master gone")
    clock.now = 102.0
    d.observe("backends", False, "no backend reachable")
    [vip] = d.status_document()["vips"]  # type: ignore[index]
    assert (vip["announced"], vip["why"], vip["since"], vip["cause"]) == (
        False,
        "proxy down: proxy master gone",
        101.0,
        "proxy",
    )
    clock.now = 103.0
    d.observe("proxy", True, "proxy master running, 2 workers connected")
    document = d.status_document()
    [vip] = document["vips"]  # type: ignore[index]
    assert (vip["why"], vip["since"], vip["cause"]) == (
        "backends down: no backend reachable",
        103.0,
        "backends",
    )
    assert vip["sources"]["backends"] == {"up": False, "detail": "no backend reachable"}
    assert (document["daemon"], document["config"], document["speaker"]) == (
        "node --bgp",
        "node.conf",
        "exabgp",
    )
    seen = metrics(d)
    assert seen[("hapair_bgp_vip_announced", (("vip", VIP),))] == 0
    assert seen[("hapair_bgp_vip_since_seconds", (("vip", VIP),))] == 103.0
    assert seen[("hapair_bgp_vip_withdrawn_by", (("cause", "backends"), ("vip", VIP)))] == 1
    assert ("hapair_bgp_vip_withdrawn_by", (("cause", "proxy"), ("vip", VIP))) not in seen
    assert seen[("hapair_bgp_source_up", (("source", "proxy"), ("vip", VIP)))] == 1
    assert seen[("hapair_bgp_source_up", (("source", "backends"), ("vip", VIP)))] == 0
    assert seen[("hapair_bgp_vip_announcements_total", (("vip", VIP),))] == 1
    assert seen[("hapair_bgp_vip_withdrawals_total", (("vip", VIP),))] == 1
    clock.now = 104.0
    d.observe("backends", True, "a backend is reachable")
    seen = metrics(d)
    assert seen[("hapair_bgp_vip_announced", (("vip", VIP),))] == 1
    assert not any(name == "hapair_bgp_vip_withdrawn_by" for name, _ in seen)
    assert seen[("hapair_bgp_vip_announcements_total", (("vip", VIP),))] == 2
    d.drain()
    assert metrics(d)[("hapair_bgp_vip_withdrawn_by", (("cause", "drained"), ("vip", VIP)))] == 1
    assert metrics(d)[("hapair_bgp_vip_drained", (("vip", VIP),))] == 1


def test_before_a_first_verdict_a_source_has_no_series_and_the_status_says_so(tmp_path: Path) -> None:
    d = daemon(tmp_path, Clock())
    d.observe("proxy", False, "no worker connected")
    seen = metrics(d)
    assert ("hapair_bgp_source_up", (("source", "backends"), ("vip", VIP))) not in seen
    assert seen[("hapair_bgp_source_up", (("source", "proxy"), ("vip", VIP)))] == 0
    lines = describe(json.loads(json.dumps(d.status_document())))
    assert lines[0].startswith("node --bgp (pid ")
    assert lines[1].startswith(f"  {VIP}: withdrawn since ")
    assert lines[1].endswith(": proxy down: no worker connected")
    assert lines[2:] == [
        "    source proxy: down (no worker connected)",
        "    source backends: not decided yet (no observation yet)",
    ]


def test_the_control_socket_answers_hapair_status_request(tmp_path: Path) -> None:
    d = daemon(tmp_path, Clock())

    async def ask(line: bytes) -> dict[str, object]:
        server = await d.serve_control()
        try:
            reader, writer = await asyncio.open_unix_connection(d.config.control)
            writer.write(line)
            answer = await reader.read()
            writer.close()
        finally:
            server.close()
        return dict(json.loads(answer))

    document = asyncio.run(ask(request_line("status")))
    assert document == json.loads(json.dumps(d.status_document())) | {"pid": document["pid"]}
    assert "error" in asyncio.run(ask(b'{"command": "nap"}\n'))


def test_a_follower_gets_each_vip_now_then_its_announcements_and_withdrawals_until_the_daemon_stops(
    tmp_path: Path,
) -> None:
    clock = Clock()
    d = daemon(tmp_path, clock)

    async def follow() -> list[dict[str, object]]:
        server = await d.serve_control()
        reader, writer = await asyncio.open_unix_connection(d.config.control)
        writer.write(request_line("follow"))
        first = json.loads(await reader.readline())
        clock.now = 101.0
        d.observe("proxy", True, "running")
        d.observe("backends", True, "2 of 2 answer")
        clock.now = 102.0
        d.observe("backends", False, "0 of 2 answer")
        d.withdraw_all()
        clock.now = 103.0
        d.observe("backends", True, "2 of 2 answer")
        d.withdraw_all()
        await d.close_control(server)
        rest = [json.loads(line) for line in (await reader.read()).splitlines()]
        writer.close()
        return [first, *rest]

    events = asyncio.run(follow())
    assert events[0] == {
        "time": 100.0,
        "kind": "vip",
        "name": VIP,
        "state": "withdrawn",
        "why": "starting: no health source has risen yet",
        "current": True,
        "since": 100.0,
    }
    assert [(e["time"], e["state"], e["why"]) for e in events[1:]] == [
        (101.0, "announced", "all sources up (last: backends up: 2 of 2 answer)"),
        (102.0, "withdrawn", "backends down: 0 of 2 answer"),
        (103.0, "announced", "all sources up (last: backends up: 2 of 2 answer)"),
        (103.0, "withdrawn", "hapair bgp stopping"),
    ]


def test_serve_metrics_answers_a_scrape(tmp_path: Path) -> None:
    """What `hapair bgp --metrics` serves (hapair node --bgp's: tests/node/test_bgp_node.py)."""
    d = daemon(tmp_path, Clock())
    d.observe("proxy", True, "running")
    d.observe("backends", True, "reachable")
    server = serve_metrics(d, (ipaddress.IPv4Address("127.0.0.1"), 0))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    finally:
        server.close()
    assert f'hapair_bgp_vip_announced{{vip="{VIP}"}} 1.0' in text.splitlines()

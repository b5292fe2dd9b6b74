"""The counters of --metrics (proxy/metrics.py): the layout a configuration gives, the board's slots, what
the master keeps of a worker that exits (also across a reload whose layout differs), the balancer's
recorder, and the families the collector makes of them (proxy/collector.py)."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hapair.cli.proxy import OptionError, Options, parse_options
from hapair.config.nginx.model.config import NginxConfig
from hapair.proxy.balancer import Balancer
from hapair.proxy.collector import ProxyCollector
from hapair.proxy.metrics import (
    BUCKETS_AT,
    DURATION_US_AT,
    HTTP,
    SERVER_CELLS,
    STREAM,
    MetricsBoard,
    MetricsLayout,
    MetricsTotals,
)
from hapair.proxy.status import ACCEPTED, StatusBoard
from tests.proxy.http.harness import read_whole_config

CONFIG = """
    events {}
    http {
        upstream app { server 127.0.0.1:8001; server 127.0.0.1:8002 down; server 127.0.0.1:8003 max_fails=2; }
        server { listen 127.0.0.1:8080; server_name a.test b.test; location / { proxy_pass http://app; } }
        server { listen 127.0.0.1:8081; location / { proxy_pass http://127.0.0.1:8009; } }
        server { listen 127.0.0.1:8081; server_name ""; location / { return 204; } }
    }
    stream {
        upstream app { server 127.0.0.1:9001; }
        server { listen 127.0.0.1:9000; proxy_pass app; }
    }
"""
DASHBOARD = Path(__file__).resolve().parents[2] / "contrib" / "grafana" / "hapair-proxy.json"
RELOADED = CONFIG.replace(
    "server { listen 127.0.0.1:8081; location", "server { listen 127.0.0.1:8082; location"
)


def config(tmp_path: Path, text: str = CONFIG) -> NginxConfig:
    return read_whole_config(tmp_path, text)


def scrape(totals: MetricsTotals) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The exposition of `totals`, parsed by prometheus-client: sample name and labels -> value."""
    registry = CollectorRegistry()
    registry.register(ProxyCollector(totals))
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests(server: str, listen: str, code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return "hapair_proxy_http_requests_total", (("code", code), ("listen", listen), ("server", server))


def peer(name: str, upstream: str, peer_name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, (("peer", peer_name), ("upstream", upstream))


def test_the_layout_is_the_same_for_the_same_configuration_and_names_each_server_and_peer(
    tmp_path: Path,
) -> None:
    first, again = MetricsLayout.of(config(tmp_path)), MetricsLayout.of(config(tmp_path))
    assert first == again
    # servers with the same labels (no server_name: "_", on the same first listen) share their cells
    assert list(first.servers) == [("a.test", "127.0.0.1:8080"), ("_", "127.0.0.1:8081")]
    assert list(first.peers[HTTP]) == [
        ("app", "127.0.0.1:8001"),
        ("app", "127.0.0.1:8002"),
        ("app", "127.0.0.1:8003"),
        ("127.0.0.1", "127.0.0.1:8009"),
    ]
    assert list(first.peers[STREAM]) == [("app", "127.0.0.1:9001")]  # apart from the http group "app"
    assert first.down == {(HTTP, ("app", "127.0.0.1:8002"))}
    assert list(first.streams) == [("127.0.0.1:9000",)]
    firsts = sorted(
        [*first.servers.values(), *first.streams.values()]
        + [cell for peers in first.peers.values() for cell in peers.values()]
    )
    assert len(set(firsts)) == len(firsts) and firsts[0] == 0


def test_a_request_is_counted_by_class_bucket_and_bytes_and_the_slots_add_up(tmp_path: Path) -> None:
    layout = MetricsLayout.of(config(tmp_path))
    board = MetricsBoard(layout, 2)
    server = config(tmp_path).http.servers[0]  # type: ignore[union-attr]
    one, two = board.worker(0).server(server), board.worker(1).server(server)
    one.request(200, 0.003, 100, 1000)
    one.request(404, 0.02, 50, 300)
    two.request(503, 70.0, 10, 20)
    two.request(0, 0.0, 1, 0)  # a status that is no class counts in the histogram and bytes only
    first = layout.servers[("a.test", "127.0.0.1:8080")]
    assert board.total(first + 1) == 1 and board.total(first + 3) == 1 and board.total(first + 4) == 1
    assert board.total(first + BUCKETS_AT) == 2  # 0.003 and 0.0, both <= 0.005
    assert board.total(first + BUCKETS_AT + 2) == 1  # 0.02 <= 0.025
    assert board.total(first + SERVER_CELLS - 4) == 1  # 70 s: +Inf
    assert board.total(first + DURATION_US_AT) == 3_000 + 20_000 + 70_000_000
    assert board.total(first + SERVER_CELLS - 2) == 161
    assert board.total(first + SERVER_CELLS - 1) == 1320
    board.close()


def test_an_exited_worker_s_counters_are_kept_and_its_slot_starts_again_from_zero(tmp_path: Path) -> None:
    nginx = config(tmp_path)
    totals = MetricsTotals(StatusBoard(slots=3))
    board = totals.generation(nginx, 2)
    totals.keep(board)
    board.live.update({0, 1})
    server = nginx.http.servers[0]  # type: ignore[union-attr]
    board.worker(0).server(server).request(200, 0.001, 10, 100)
    board.worker(1).server(server).request(200, 0.001, 10, 100)
    before = scrape(totals)
    assert before[requests("a.test", "127.0.0.1:8080", "2xx")] == 2
    totals.retire(board, 1)
    assert board.live == {0}
    assert scrape(totals) == before
    again = board.worker(1)  # the worker started in its place
    assert all(value == 0 for value in again.cells)
    again.server(server).request(500, 0.001, 10, 100)
    after = scrape(totals)
    assert after[requests("a.test", "127.0.0.1:8080", "2xx")] == 2
    assert after[requests("a.test", "127.0.0.1:8080", "5xx")] == 1
    assert (
        after[("hapair_proxy_http_sent_bytes_total", (("listen", "127.0.0.1:8080"), ("server", "a.test")))]
        == 300
    )
    totals.close()


def test_totals_outlive_a_reload_whose_layout_differs(tmp_path: Path) -> None:
    (tmp_path / "reloaded").mkdir()
    old_config, new_config = config(tmp_path), config(tmp_path / "reloaded", RELOADED)
    totals = MetricsTotals(StatusBoard(slots=3))
    old = totals.generation(old_config, 1)
    totals.keep(old)
    old.live.add(0)
    old.worker(0).server(old_config.http.servers[1]).request(200, 0.001, 1, 2)  # type: ignore[union-attr]
    new = totals.generation(new_config, 1)
    totals.keep(new)
    new.live.add(0)
    assert MetricsLayout.of(new_config) != old.layout
    new.worker(0).server(new_config.http.servers[1]).request(200, 0.001, 1, 2)  # type: ignore[union-attr]
    both = scrape(totals)
    assert both[requests("_", "127.0.0.1:8081", "2xx")] == 1
    assert both[requests("_", "127.0.0.1:8082", "2xx")] == 1
    totals.retire(old, 0)  # the old generation's last worker: its board goes
    assert scrape(totals) == both
    totals.close()


def test_a_peer_skipped_by_one_live_worker_is_down_until_its_worker_exits(tmp_path: Path) -> None:
    nginx = config(tmp_path)
    assert nginx.http is not None
    upstream = nginx.http.upstreams[0]
    totals = MetricsTotals(StatusBoard(slots=3))
    board = totals.generation(nginx, 2)
    totals.keep(board)
    board.live.update({0, 1})
    balancer = Balancer(upstream, recorder=board.worker(0).recorder(HTTP, upstream))
    first, _, third = balancer.peers
    now = time.time()
    balancer.failed(first, now)  # max_fails=1: skipped for fail_timeout
    balancer.failed(third, now)  # max_fails=2: one failure, not skipped yet
    metrics = scrape(totals)
    assert metrics[peer("hapair_proxy_upstream_failures_total", "app", "127.0.0.1:8001")] == 1
    assert metrics[peer("hapair_proxy_upstream_failures_total", "app", "127.0.0.1:8003")] == 1
    assert metrics[peer("hapair_proxy_upstream_peer_up", "app", "127.0.0.1:8001")] == 0
    assert metrics[peer("hapair_proxy_upstream_peer_up", "app", "127.0.0.1:8002")] == 0  # down
    assert metrics[peer("hapair_proxy_upstream_peer_up", "app", "127.0.0.1:8003")] == 1
    totals.retire(board, 0)
    metrics = scrape(totals)
    assert metrics[peer("hapair_proxy_upstream_peer_up", "app", "127.0.0.1:8001")] == 1  # gauges not kept
    assert metrics[peer("hapair_proxy_upstream_failures_total", "app", "127.0.0.1:8001")] == 1
    totals.close()


def test_a_peer_is_up_again_once_its_failures_are_forgotten(tmp_path: Path) -> None:
    nginx = config(tmp_path)
    assert nginx.http is not None
    upstream = nginx.http.upstreams[0]
    totals = MetricsTotals(StatusBoard(slots=3))
    board = totals.generation(nginx, 1)
    totals.keep(board)
    balancer = Balancer(upstream, recorder=board.worker(0).recorder(HTTP, upstream))
    first, _, third = balancer.peers
    balancer.failed(first, 100.0)
    assert scrape(totals)[peer("hapair_proxy_upstream_peer_up", "app", "127.0.0.1:8001")] == 0
    selection = balancer.selection()
    selection.tried.add(third)
    assert balancer.pick(111.0, selection) is first  # fail_timeout over: one connection let through
    balancer.succeeded(first, 111.0)
    assert scrape(totals)[peer("hapair_proxy_upstream_peer_up", "app", "127.0.0.1:8001")] == 1
    totals.close()


def test_the_connection_counters_are_the_status_board_s(tmp_path: Path) -> None:
    status = StatusBoard(slots=3)
    totals = MetricsTotals(status)
    slot = status.claim()
    assert slot is not None
    status.worker(slot).cells[ACCEPTED] += 4
    totals.retire_status(slot)
    metrics = scrape(totals)
    assert metrics[("hapair_proxy_connections_accepted_total", ())] == 4
    assert metrics[("hapair_proxy_connections", (("state", "active"),))] == 0
    totals.close()


def test_the_grafana_dashboard_queries_every_family_by_its_exposed_name(tmp_path: Path) -> None:
    nginx = config(tmp_path)
    totals = MetricsTotals(StatusBoard(slots=3))
    totals.keep(totals.generation(nginx, 1))
    registry = CollectorRegistry()
    registry.register(ProxyCollector(totals))
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    totals.close()
    samples = {sample.name for family in families for sample in family.samples}
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", ())
        for name in re.findall(r"hapair_\w+", target["expr"])
    }
    queried |= set(re.findall(r"hapair_\w+", json.dumps(dashboard["templating"])))
    assert queried <= samples
    assert all(any(sample.name in queried for sample in family.samples) for family in families)


def test_prometheus_client_is_imported_only_with_metrics() -> None:
    check = (
        "import sys, hapair.cli.proxy, hapair.proxy.server, hapair.proxy.single; "
        "print('prometheus_client' in sys.modules)"
    )
    ran = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=60
    )
    assert ran.stdout == "False\n"


def test_the_metrics_option_takes_an_address_and_port_anywhere_on_the_line() -> None:
    v4, v6 = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    assert parse_options(["--metrics", "127.0.0.1:9113", "-t"]) == Options(test=True, metrics=(v4, 9113))
    assert parse_options(["-g", "daemon off;", "--metrics=[::1]:9113"]) == Options(
        directives="daemon off;", metrics=(v6, 9113)
    )
    for value, message in (
        ("localhost:9113", 'invalid option: "--metrics localhost:9113"'),
        ("127.0.0.1", 'invalid option: "--metrics 127.0.0.1"'),
        ("127.0.0.1:0", 'invalid option: "--metrics 127.0.0.1:0"'),
        ("::1:9113", 'invalid option: "--metrics ::1:9113"'),
    ):
        with pytest.raises(OptionError, match=re.escape(message)):
            parse_options(["--metrics", value])
    with pytest.raises(OptionError, match=re.escape('option "--metrics" requires address:port')):
        parse_options(["-t", "--metrics"])

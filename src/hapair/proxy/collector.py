"""The proxy's Prometheus families, made at each scrape from the master's `MetricsTotals` (imported only with
--metrics: it imports prometheus-client). The list, with their labels, is in the README's "Metrics"."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from hapair.exposition import MetricsServer

from .metrics import (
    BUCKETS,
    BUCKETS_AT,
    CLASSES,
    DURATION_US_AT,
    FAILURES_AT,
    HTTP,
    RECEIVED_AT,
    REQUESTS_AT,
    RESPONSES_AT,
    SENT_AT,
    SESSIONS_AT,
    STREAM,
    STREAM_RECEIVED_AT,
    STREAM_SENT_AT,
    Labels,
    MetricsTotals,
    Snapshot,
)
from .status import ACCEPTED, ACTIVE, HANDLED, READING, WAITING, WRITING, StatusBoard

_STATES = (("active", ACTIVE), ("reading", READING), ("writing", WRITING), ("waiting", WAITING))
_SERVER = ["server", "listen"]
_PEER = ["upstream", "peer"]
_LISTEN = ["server"]  # a stream server's first listen address


def serve_metrics(exposition: MetricsServer, status: StatusBoard) -> MetricsTotals:
    """The proxy's collector registered on `exposition`, whose thread starts (in a master, once the
    signals are blocked and before the workers); the totals it reads, which the caller keeps current."""
    totals = MetricsTotals(status)
    exposition.register(ProxyCollector(totals))
    exposition.start()
    return totals


class ProxyCollector(Collector):
    def __init__(self, totals: MetricsTotals) -> None:
        self._totals = totals

    def describe(self) -> list[Metric]:
        """Nothing to check at registration (the names are ours alone)."""
        return []

    def collect(self) -> Iterator[Metric]:
        snapshot = self._totals.snapshot()
        yield from _connections(snapshot)
        yield from _http(snapshot)
        yield from _upstreams(snapshot, HTTP, "hapair_proxy_upstream")
        yield from _upstreams(snapshot, STREAM, "hapair_proxy_stream_upstream")
        yield from _stream(snapshot)


def _by(snapshot: Snapshot, what: str) -> dict[Labels, dict[int, int]]:
    """The counters of `what` ("server", "peer:http"...) by labels, then by cell."""
    found: dict[Labels, dict[int, int]] = {}
    for (kind, labels, cell), value in snapshot.counters.items():
        if kind == what:
            found.setdefault(labels, {})[cell] = value
    return found


def _connections(snapshot: Snapshot) -> Iterator[Metric]:
    status = snapshot.status
    yield CounterMetricFamily(
        "hapair_proxy_connections_accepted", "Client connections accepted.", value=status[ACCEPTED]
    )
    yield CounterMetricFamily(
        "hapair_proxy_connections_handled", "Client connections handled.", value=status[HANDLED]
    )
    gauge = GaugeMetricFamily("hapair_proxy_connections", "Client connections by state.", labels=["state"])
    for name, index in _STATES:
        gauge.add_metric([name], status[index])
    yield gauge


def _http(snapshot: Snapshot) -> Iterator[Metric]:
    servers = _by(snapshot, "server")
    requests = CounterMetricFamily(
        "hapair_proxy_http_requests", "HTTP requests logged, by status class.", labels=[*_SERVER, "code"]
    )
    duration = HistogramMetricFamily(
        "hapair_proxy_http_request_duration_seconds",
        "HTTP request duration ($request_time).",
        labels=_SERVER,
        unit="seconds",
    )
    received = CounterMetricFamily(
        "hapair_proxy_http_received_bytes", "Bytes of HTTP requests ($request_length).", labels=_SERVER
    )
    sent = CounterMetricFamily(
        "hapair_proxy_http_sent_bytes", "Bytes of HTTP responses ($bytes_sent).", labels=_SERVER
    )
    for labels, cells in sorted(servers.items()):
        for index, code in enumerate(CLASSES):
            requests.add_metric([*labels, code], cells.get(REQUESTS_AT + index, 0))
        buckets, count = [], 0
        for index, bound in enumerate((*BUCKETS, float("inf"))):
            count += cells.get(BUCKETS_AT + index, 0)
            buckets.append((_bound(bound), count))
        duration.add_metric(list(labels), buckets, cells.get(DURATION_US_AT, 0) / 1_000_000)
        received.add_metric(list(labels), cells.get(RECEIVED_AT, 0))
        sent.add_metric(list(labels), cells.get(SENT_AT, 0))
    yield from (requests, duration, received, sent)


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def _upstreams(snapshot: Snapshot, kind: str, prefix: str) -> Iterator[Metric]:
    peers = _by(snapshot, f"peer:{kind}")
    failures = CounterMetricFamily(
        f"{prefix}_failures", "Peer failures, as the balancer counts them (max_fails).", labels=_PEER
    )
    up = GaugeMetricFamily(f"{prefix}_peer_up", "0 while a worker skips the peer.", labels=_PEER)
    responses = CounterMetricFamily(
        f"{prefix}_responses", "Upstream responses ($upstream_status).", labels=[*_PEER, "code"]
    )
    for labels, cells in sorted(peers.items()):
        failures.add_metric(list(labels), cells.get(FAILURES_AT, 0))
        if kind == HTTP:
            for index, code in enumerate(CLASSES):
                responses.add_metric([*labels, code], cells.get(RESPONSES_AT + index, 0))
    for labels, is_up in sorted(snapshot.peers[kind].items()):
        up.add_metric(list(labels), 1 if is_up else 0)
    if kind == HTTP:
        yield responses
    yield from (failures, up)


def _stream(snapshot: Snapshot) -> Iterator[Metric]:
    servers = _by(snapshot, "stream")
    sessions = CounterMetricFamily("hapair_proxy_stream_sessions", "Stream sessions ended.", labels=_LISTEN)
    received = CounterMetricFamily(
        "hapair_proxy_stream_received_bytes", "Bytes from stream clients ($bytes_received).", labels=_LISTEN
    )
    sent = CounterMetricFamily(
        "hapair_proxy_stream_sent_bytes", "Bytes to stream clients ($bytes_sent).", labels=_LISTEN
    )
    for labels, cells in sorted(servers.items()):
        sessions.add_metric(list(labels), cells.get(SESSIONS_AT, 0))
        received.add_metric(list(labels), cells.get(STREAM_RECEIVED_AT, 0))
        sent.add_metric(list(labels), cells.get(STREAM_SENT_AT, 0))
    yield from (sessions, received, sent)

"""hapair's own Prometheus metrics of the proxy (`hapair proxy --metrics ADDR:PORT`; nginx has none), counted
by the workers without locks as `status` counts stub_status's numbers, and read by the master.

Each generation of workers (the workers of one configuration) has a `MetricsBoard`: a memfd of `slots x
cells` int64, one slot per worker (its place in the generation), each worker the only writer of its slot.
What the cells of a slot mean is the generation's `MetricsLayout`, built deterministically from the
configuration, so that the master (which reads) and the workers (which write) agree without talking:

- per http server (labels: its first server_name, "_" for none, and its first listen address): requests by
  status class, the request duration histogram (one cell per bucket, not cumulative, and the sum in
  microseconds), the bytes received ($request_length) and sent ($bytes_sent);
- per upstream peer (labels: the group's name and the peer's address as $upstream_addr prints it), for
  http and stream groups apart: responses by status class (http), failures as the balancer counts them,
  and a gauge, the CLOCK_MONOTONIC millisecond until which the worker skips the peer for its failures;
- per stream server (label: its first listen address): sessions, bytes received and sent.

Servers (or peers) whose labels are the same share their cells. When a worker exits, the master folds its
counters into a dict of retired totals keyed by (what, labels, cell) and zeroes its slot, which the
worker started in its place reuses; a generation whose workers are all gone (a reload's old one) is closed
once folded, so totals outlive reloads whatever their layouts. Gauges are not folded: the worker's view
of its peers went with it.
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.http import Server
from hapair.config.nginx.model.stream import StreamServer
from hapair.config.nginx.model.upstream import Upstream

from .balancing import Peer
from .status import StatusBoard

# the request duration histogram's upper bounds, in seconds (+Inf is the last cell)
BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CLASSES: Final = ("1xx", "2xx", "3xx", "4xx", "5xx")

# an http server's cells, from its first
REQUESTS_AT: Final = 0  # one per status class
BUCKETS_AT: Final = REQUESTS_AT + len(CLASSES)  # one per bucket, and +Inf
DURATION_US_AT: Final = BUCKETS_AT + len(BUCKETS) + 1
RECEIVED_AT: Final = DURATION_US_AT + 1
SENT_AT: Final = RECEIVED_AT + 1
SERVER_CELLS: Final = SENT_AT + 1
# an upstream peer's
RESPONSES_AT: Final = 0  # one per status class
FAILURES_AT: Final = RESPONSES_AT + len(CLASSES)
SKIPPED_UNTIL_AT: Final = FAILURES_AT + 1  # the gauge
PEER_CELLS: Final = SKIPPED_UNTIL_AT + 1
# a stream server's
SESSIONS_AT, STREAM_RECEIVED_AT, STREAM_SENT_AT = 0, 1, 2
STREAM_CELLS: Final = 3

HTTP, STREAM = "http", "stream"  # the two kinds of upstream groups (their names are apart in nginx)
_CELL_SIZE: Final = 8
_LINE: Final = 8  # slots padded to 64 bytes: two workers never share a cache line

Labels = tuple[str, ...]
Key = tuple[str, Labels, int]  # ("server" | "peer:http" | "peer:stream" | "stream", labels, cell)


def server_labels(server: Server) -> Labels:
    """An http server's `server` and `listen` labels."""
    name = server.names[0] if server.names and server.names[0] else "_"
    return name, server.listens[0].address.text if server.listens else ""


def stream_labels(server: StreamServer) -> Labels:
    return (server.listens[0].address.text if server.listens else "",)


def peer_names(upstream: Upstream) -> Iterator[tuple[str, bool]]:
    """Each address of the group as $upstream_addr prints it, and whether it is `down`."""
    for server in upstream.servers:
        for address in server.addresses:
            yield address.text, server.down


@dataclass(slots=True)
class MetricsLayout:
    """What each cell of a slot counts, for one configuration: the first cell of each server's, peer's and
    stream server's cells by their labels."""

    servers: dict[Labels, int] = field(default_factory=dict)
    peers: dict[str, dict[Labels, int]] = field(default_factory=lambda: {HTTP: {}, STREAM: {}})
    down: set[tuple[str, Labels]] = field(default_factory=set)  # the `down` peers, always skipped
    streams: dict[Labels, int] = field(default_factory=dict)
    cells: int = 0

    @classmethod
    def of(cls, config: NginxConfig) -> MetricsLayout:
        layout = cls()
        if config.http is not None:
            for server in config.http.servers:
                layout.servers.setdefault(server_labels(server), layout._take(SERVER_CELLS))
            layout._add_peers(HTTP, config.http.upstreams)
        if config.stream is not None:
            for stream_server in config.stream.servers:
                layout.streams.setdefault(stream_labels(stream_server), layout._take(STREAM_CELLS))
            layout._add_peers(STREAM, config.stream.upstreams)
        return layout

    def _take(self, cells: int) -> int:
        first, self.cells = self.cells, self.cells + cells
        return first

    def _add_peers(self, kind: str, upstreams: tuple[Upstream, ...]) -> None:
        peers = self.peers[kind]
        for upstream in upstreams:
            for name, down in peer_names(upstream):
                labels = (upstream.name, name)
                peers.setdefault(labels, self._take(PEER_CELLS))
                if down:
                    self.down.add((kind, labels))

    def counters(self) -> Iterator[tuple[Key, int]]:
        """Every counter cell (gauges left out) and its key among the retired totals."""
        for labels, first in self.servers.items():
            for cell in range(SERVER_CELLS):
                yield ("server", labels, cell), first + cell
        for kind, peers in self.peers.items():
            for labels, first in peers.items():
                for cell in range(SKIPPED_UNTIL_AT):
                    yield (f"peer:{kind}", labels, cell), first + cell
        for labels, first in self.streams.items():
            for cell in range(STREAM_CELLS):
                yield ("stream", labels, cell), first + cell


class MetricsBoard:
    """One generation's slots, in a memfd the master maps before forking (the workers inherit it)."""

    def __init__(self, layout: MetricsLayout, slots: int) -> None:
        self.layout = layout
        self.slots = slots
        self._stride = -(-max(layout.cells, 1) // _LINE) * _LINE
        fd = os.memfd_create("hapair-metrics", os.MFD_CLOEXEC)
        size = slots * self._stride * _CELL_SIZE
        try:
            os.ftruncate(fd, size)
            self._mapping = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self._cells = memoryview(self._mapping).cast("q")
        self._views: list[memoryview] = []  # released before the mapping closes
        self.live: set[int] = set()  # the slots of running workers

    def worker(self, slot: int) -> WorkerMetrics:
        """The counters of the worker in `slot` (made in the worker, after the fork)."""
        start = slot * self._stride
        cells = self._cells[start : start + self._stride]
        self._views.append(cells)
        return WorkerMetrics(self.layout, cells)

    def retire(self, slot: int, retired: dict[Key, int]) -> None:
        """The worker of `slot` exited: its counters are added to `retired`, and the slot zeroed for the
        worker that takes its place."""
        start = slot * self._stride
        cells = self._cells
        for key, index in self.layout.counters():
            value = cells[start + index]
            if value:
                retired[key] = retired.get(key, 0) + value
        cells[start : start + self._stride] = memoryview(bytes(self._stride * _CELL_SIZE)).cast("q")
        self.live.discard(slot)

    def total(self, index: int) -> int:
        """Cell `index` summed over the slots."""
        return sum(self._cells[index :: self._stride])

    def highest(self, index: int) -> int:
        return max(self._cells[index :: self._stride])

    def close(self) -> None:
        for view in self._views:
            view.release()
        self._cells.release()
        self._mapping.close()


class PeerRecorder:
    """What a worker's `Balancer` tells of its peers: a failure counted, and the time until which the
    peer is skipped (`balancer.py` calls it; it is None without --metrics)."""

    __slots__ = ("_cells", "_first")

    def __init__(self, cells: memoryview, first: dict[str, int]) -> None:
        self._cells = cells
        self._first = first  # by peer name

    def cell(self, peer: Peer) -> int:
        """The first of the peer's cells (-1: not counted)."""
        return self._first.get(peer.name, -1)

    def failed(self, peer: Peer, *, skipped: bool) -> None:
        first = self._first.get(peer.name)
        if first is None:
            return
        self._cells[first + FAILURES_AT] += 1
        if skipped:
            until = time.monotonic() + peer.fail_timeout_s
            self._cells[first + SKIPPED_UNTIL_AT] = int(until * 1000) + 1

    def recovered(self, peer: Peer) -> None:
        first = self._first.get(peer.name)
        if first is not None:
            self._cells[first + SKIPPED_UNTIL_AT] = 0


class ServerTally:
    """A worker's counters of one http server."""

    __slots__ = ("_cells", "_first")

    def __init__(self, cells: memoryview, first: int) -> None:
        self._cells = cells
        self._first = first

    def request(self, status: int, seconds: float, received: int, sent: int) -> None:
        """A request logged: its status, how long it took ($request_time), its $request_length and
        $bytes_sent."""
        cells, first = self._cells, self._first
        group = status // 100
        if 1 <= group <= 5:
            cells[first + REQUESTS_AT + group - 1] += 1
        cells[first + BUCKETS_AT + bisect_left(BUCKETS, seconds)] += 1
        cells[first + DURATION_US_AT] += int(seconds * 1_000_000)
        cells[first + RECEIVED_AT] += received
        cells[first + SENT_AT] += sent

    def response(self, peer_cell: int, status: int) -> None:
        """An upstream's response (an attempt's $upstream_status) from the peer whose cells start at
        `peer_cell`."""
        group = status // 100
        if 1 <= group <= 5:
            self._cells[peer_cell + RESPONSES_AT + group - 1] += 1


class WorkerMetrics:
    """A worker's slot, and the layout that says where to count what."""

    __slots__ = ("cells", "layout")

    def __init__(self, layout: MetricsLayout, cells: memoryview) -> None:
        self.layout = layout
        self.cells = cells

    def server(self, server: Server) -> ServerTally:
        return ServerTally(self.cells, self.layout.servers[server_labels(server)])

    def recorder(self, kind: str, upstream: Upstream) -> PeerRecorder:
        peers = self.layout.peers[kind]
        first = {name: peers[(upstream.name, name)] for name, _ in peer_names(upstream)}
        return PeerRecorder(self.cells, first)

    def stream(self, server: StreamServer) -> int:
        """The first of a stream server's cells."""
        return self.layout.streams[stream_labels(server)]

    def session(self, first: int, received: int, sent: int) -> None:
        cells = self.cells
        cells[first + SESSIONS_AT] += 1
        cells[first + STREAM_RECEIVED_AT] += received
        cells[first + STREAM_SENT_AT] += sent


@dataclass(slots=True)
class Snapshot:
    """The counters summed over live and retired workers, and which peers are skipped now."""

    counters: dict[Key, int]
    peers: dict[str, dict[Labels, bool]]  # kind -> labels -> up
    status: tuple[int, ...]  # StatusBoard.totals()


class MetricsTotals:
    """The master's view: the live generations' boards and the retired totals, changed by the master's
    main loop and read by the exposition's thread, both under `lock`."""

    def __init__(self, status: StatusBoard) -> None:
        self.lock = threading.Lock()
        self.status = status
        self.retired: dict[Key, int] = {}
        self._boards: list[MetricsBoard] = []
        self.current: MetricsBoard | None = None

    def generation(self, config: NginxConfig, workers: int) -> MetricsBoard:
        """A board for a new generation of `workers` workers (made current by `keep`)."""
        board = MetricsBoard(MetricsLayout.of(config), workers)
        with self.lock:
            self._boards.append(board)
        return board

    def keep(self, board: MetricsBoard) -> None:
        """`board`'s generation now runs: the previous one's board closes once its last worker is gone."""
        with self.lock:
            previous, self.current = self.current, board
            if previous is not None and not previous.live:
                self._drop(previous)

    def retire(self, board: MetricsBoard, slot: int) -> None:
        with self.lock:
            board.retire(slot, self.retired)
            if board is not self.current and not board.live:
                self._drop(board)

    def retire_status(self, slot: int) -> None:
        with self.lock:
            self.status.retire(slot)

    def _drop(self, board: MetricsBoard) -> None:
        self._boards.remove(board)
        board.close()

    def snapshot(self) -> Snapshot:
        now_ms = int(time.monotonic() * 1000)
        with self.lock:
            counters = dict(self.retired)
            peers: dict[str, dict[Labels, bool]] = {HTTP: {}, STREAM: {}}
            for board in self._boards:
                layout = board.layout
                for key, index in layout.counters():
                    counters[key] = counters.get(key, 0) + board.total(index)
                for kind, kind_peers in layout.peers.items():
                    for labels, first in kind_peers.items():
                        skipped = board.highest(first + SKIPPED_UNTIL_AT) > now_ms
                        up = not skipped and (kind, labels) not in layout.down
                        peers[kind][labels] = peers[kind].get(labels, True) and up
            status = self.status.totals()
        return Snapshot(counters, peers, status)

    def close(self) -> None:
        with self.lock:
            for board in self._boards:
                board.close()
            self._boards.clear()

"""Load through the BGP lab's VIP: `workers` clients in the client's namespace, each opening a new TCP
connection per request (so every request has a new source port, and the router's L4 hash spreads them
over the nodes), an HTTP/1.0 GET of the test page, read to the end. Each request's outcome and the node
that served it (the page's Client line) are kept, for throughput, per-node shares, failures and gaps."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

from . import network

REQUEST = b"GET /test.php HTTP/1.0\r\nHost: k8sapi-vrrp.kloud.lan\r\n\r\n"
TIMEOUT_S = 2.0
_CLIENT_LINE = re.compile(rb"\nClient: ([0-9.]+):\d+")


@dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    served_by: str | None  # the node's address the backend saw; None: the request failed
    error: str | None = None
    port: int | None = None  # the client's source port (None: no connection was made)


@dataclass(frozen=True)
class Summary:
    requests: int
    failed: int
    seconds: float
    longest_gap: float  # the longest time without a successful answer (ms resolution)
    by_node: dict[str, int]

    @property
    def per_second(self) -> float:
        return (self.requests - self.failed) / self.seconds if self.seconds else 0.0

    @property
    def failed_share(self) -> float:
        return self.failed / self.requests if self.requests else 0.0


def summarize(outcomes: list[Outcome]) -> Summary:
    if not outcomes:
        return Summary(0, 0, 0.0, 0.0, {})
    start = min(o.started for o in outcomes)
    end = max(o.ended for o in outcomes)
    answered = sorted(o.ended for o in outcomes if o.error is None)
    edges = [start, *answered, end]
    gap = max(b - a for a, b in itertools.pairwise(edges))
    return Summary(
        requests=len(outcomes),
        failed=sum(1 for o in outcomes if o.error is not None),
        seconds=end - start,
        longest_gap=gap,
        by_node=dict(Counter(o.served_by for o in outcomes if o.served_by is not None)),
    )


async def _one(address: str, port: int) -> Outcome:
    started = time.monotonic()
    source: int | None = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), TIMEOUT_S)
        source = writer.get_extra_info("sockname")[1]
        try:
            writer.write(REQUEST)
            answer = await asyncio.wait_for(reader.read(-1), TIMEOUT_S)
        finally:
            writer.close()
    except (OSError, TimeoutError) as error:
        return Outcome(started, time.monotonic(), None, type(error).__name__, source)
    found = _CLIENT_LINE.search(answer)
    if not answer.startswith(b"HTTP/1.1 200") or found is None:
        return Outcome(started, time.monotonic(), None, f"answer {answer[:20]!r}", source)
    return Outcome(started, time.monotonic(), found[1].decode(), port=source)


async def _worker(address: str, port: int, stop: threading.Event, into: list[Outcome]) -> None:
    while not stop.is_set():
        into.append(await _one(address, port))


def run(
    namespace: str, address: str, port: int, *, workers: int, stop: threading.Event, into: list[Outcome]
) -> None:
    """Send requests from `namespace` until `stop` is set, appending each outcome to `into` as it comes."""

    async def main() -> None:
        await asyncio.gather(*(_worker(address, port, stop, into) for _ in range(workers)))

    network.run_in(namespace, lambda: asyncio.run(main()))


class Background:
    """`run` in a thread of its own, from `start()` to `finish()`, which returns the outcomes."""

    def __init__(self, namespace: str, address: str, port: int, workers: int) -> None:
        self.stop = threading.Event()
        self.outcomes: list[Outcome] = []
        self._thread = threading.Thread(
            target=lambda: run(namespace, address, port, workers=workers, stop=self.stop, into=self.outcomes),
            name="load",
            daemon=True,
        )

    def start(self) -> Background:
        self._thread.start()
        return self

    def finish(self) -> list[Outcome]:
        self.stop.set()
        self._thread.join()
        return self.outcomes

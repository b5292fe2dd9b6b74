#!/usr/bin/env python3
"""What the h2 library costs alone for `h2load -c1 -m100`'s requests, without hapair's exchange, upstream,
TLS or event loop: the CPU a connection spends on the client's frames and on answering each stream, per
request.

The client's side is made once, before the clock runs: h2 as a client sends `--requests` GETs in batches
of 100 streams, each request's header list h2load's (`:path` a literal without indexing, the rest indexed
after the first request). The server's side is then timed, batch by batch:
- `h2`: the h2 library as hapair configures it (no header validation nor normalization either way, no
  header encoding), answering each stream with h2's send_headers (hpack's encoder) and send_data;
- `h2 +OPTION`: the same with one of h2's H2Configuration options as h2 has it by default (what that
  check or conversion costs per request);
- `hapair`: hapair's use of it (proxy/http/h2): its connection class with the IndexedDecoder, the
  response's head encoded as nginx encodes it (HeadEncoder) and framed by send_block and send_body.

Usage: bench/h2_alone.py [--requests N] [--rounds N]. Prints the microseconds per request, the best of
the rounds (the machine is shared: the best round is the one least disturbed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import h2.config
import h2.connection
import h2.events

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from hapair.proxy.http.h2.encoding import HeadEncoder  # noqa: E402
from hapair.proxy.http.h2.machine import ServerConnection, server_configuration  # noqa: E402
from hapair.proxy.http.response import Framing, ResponseHead  # noqa: E402

STREAMS = 100
REQUEST = [
    (b":method", b"GET"),
    (b":path", b"/ok"),
    (b":scheme", b"https"),
    (b":authority", b"127.0.0.1:8443"),
    (b"user-agent", b"h2load nghttp2/1.52.0"),
]
DATE = b"Sun, 06 Dec 2026 15:00:00 GMT"
RESPONSE = [
    (b":status", b"200"),
    (b"server", b"hapair"),
    (b"date", DATE),
    (b"content-type", b"text/plain"),
    (b"content-length", b"3"),
]
BODY = b"ok\n"
MAX_WINDOW = 2**31 - 1


# h2's defaults for the options hapair turns off (proxy/http/h2/connection.py)
H2_DEFAULTS: dict[str, object] = {
    "validate_inbound_headers": True,
    "normalize_inbound_headers": True,
    "validate_outbound_headers": True,
    "normalize_outbound_headers": True,
    "header_encoding": "utf-8",
}


def configuration(**option: object) -> h2.config.H2Configuration:
    """hapair's configuration of h2, or with `option` as given."""
    settings = server_configuration()
    for name, value in option.items():
        setattr(settings, name, value)
    return settings


def client_batches(requests: int) -> list[bytes]:
    """The client's bytes: the preface with its window opened, then a batch of 100 requests at a time
    (each batch a read, as h2load's arrive); the server's answers are fed back so that its streams
    close."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    server = h2.connection.H2Connection(configuration())
    client.initiate_connection()
    client.increment_flow_control_window(MAX_WINDOW - 65535)
    server.initiate_connection()
    batches = [client.data_to_send()]
    server.receive_data(batches[0])
    client.receive_data(server.data_to_send())
    stream_id = 1
    for _ in range(requests // STREAMS):
        pending = client.data_to_send()  # SETTINGS ACK, WINDOW_UPDATEs: they go with the next requests
        for _ in range(STREAMS):
            client.send_headers(stream_id, REQUEST, end_stream=True)
            stream_id += 2
        batch = pending + client.data_to_send()
        batches.append(batch)
        for event in server.receive_data(batch):
            if isinstance(event, h2.events.RequestReceived):
                server.send_headers(event.stream_id, RESPONSE)
                server.send_data(event.stream_id, BODY, end_stream=True)
        client.receive_data(server.data_to_send())
    return batches


def serve_with_h2(batches: list[bytes], **option: object) -> None:
    server = h2.connection.H2Connection(configuration(**option))
    server.initiate_connection()
    server.increment_flow_control_window(MAX_WINDOW - 65535)
    server.data_to_send()
    for batch in batches:
        for event in server.receive_data(batch):
            if isinstance(event, h2.events.RequestReceived):
                server.send_headers(event.stream_id, RESPONSE)
                server.send_data(event.stream_id, BODY, end_stream=True)
        server.data_to_send()


def serve_as_hapair(batches: list[bytes]) -> None:
    server = ServerConnection(configuration())
    server.forget_above = 2 * STREAMS
    encoder = HeadEncoder(b"hapair")
    server.encoder = encoder  # type: ignore[assignment]
    framing = Framing(b"", chunked=False, redirect_base=None)
    server.initiate_connection()
    server.increment_flow_control_window(MAX_WINDOW - 65535)
    server.data_to_send()
    for batch in batches:
        for event in server.receive_data(batch):
            if isinstance(event, h2.events.RequestReceived):
                stream = server.begun.pop(event.stream_id)
                server.block_sizes.pop(event.stream_id)
                head = ResponseHead(200)
                head.content_type, head.content_length = b"text/plain", len(BODY)
                block = encoder.head(head, DATE, framing)
                server.send_block(stream, block, informational=False, end_stream=False)
                server.send_body(stream, BODY, end_stream=True)
        server.data_to_send()


def best_of(rounds: int, serve: Callable[[list[bytes]], None], batches: list[bytes]) -> float:
    """The least CPU time of `rounds` runs, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.process_time()
        serve(batches)
        times.append(time.process_time() - start)
    return min(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)
    batches = client_batches(options.requests)
    requests = (len(batches) - 1) * STREAMS
    ways: list[tuple[str, Callable[[list[bytes]], None]]] = [("h2", serve_with_h2)]
    ways += [(f"h2 +{name}", partial(serve_with_h2, **{name: value})) for name, value in H2_DEFAULTS.items()]
    ways.append(("hapair", serve_as_hapair))
    for name, serve in ways:
        seconds = best_of(options.rounds, serve, batches)
        per_request = 1e6 * seconds / requests
        print(f"{name:30} {per_request:6.1f} us per request ({requests} requests, best of {options.rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

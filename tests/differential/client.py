"""A raw HTTP client: exact bytes to a proxy, optionally in pieces and followed by a half-close, and what
came back, read until the proxy closes, until enough responses came, or until a time bound."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .wire import Message, parse_responses


@dataclass(frozen=True)
class Answer:
    """What the client received: the raw bytes, the responses read in them and what followed the last,
    and how the reading ended."""

    raw: bytes
    responses: tuple[Message, ...]
    rest: bytes
    closed: bool  # the proxy closed the connection (or reset it)
    reset: bool
    timed_out: bool  # neither a close nor the awaited responses within the bound
    elapsed: float
    finished: float  # time.monotonic() when the client closed its end

    @property
    def statuses(self) -> list[int]:
        return [response.status for response in self.responses]


@dataclass(frozen=True)
class Conversation:
    """What a client does: send `pieces` (`gap` seconds apart), half-close after them if `half_close`,
    then read until the proxy closes, or until `responses` complete final responses came (when given),
    or, with `settle`, until nothing more came for `settle` seconds after a complete final response, or
    for `timeout` seconds at most. `head_request`: the responses have no body. `source`: the client's
    address (any of 127.0.0.0/8)."""

    pieces: Sequence[bytes]
    gap: float = 0.05
    half_close: bool = False
    responses: int | None = None
    timeout: float = 3.0
    head_request: bool = False
    settle: float | None = None
    source: str = "127.0.0.1"


def converse(port: int, conversation: Conversation) -> Answer:
    started = time.monotonic()
    deadline = started + conversation.timeout
    received = bytearray()
    closed = reset = awaited = False
    address, source = ("127.0.0.1", port), (conversation.source, 0)
    with socket.create_connection(address, timeout=conversation.timeout, source_address=source) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            _send(sock, conversation)
        except (BrokenPipeError, ConnectionResetError):
            reset = True  # the proxy closed before taking everything; what it answered is still read
        while not closed:
            left = deadline - time.monotonic()
            if left <= 0 or _enough(received, conversation):
                break
            settle = conversation.settle if _finals(received, conversation) else None
            sock.settimeout(left if settle is None else min(left, settle))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                awaited = settle is not None
                break
            except ConnectionResetError:
                closed = reset = True
                break
            if not data:
                closed = True
            received += data
    finished = time.monotonic()
    data = bytes(received)
    responses, rest = parse_responses(data, head_request=conversation.head_request)
    awaited = awaited or closed or _enough(received, conversation)
    return Answer(data, tuple(responses), rest, closed, reset, not awaited, finished - started, finished)


def _send(sock: socket.socket, conversation: Conversation) -> None:
    for index, piece in enumerate(conversation.pieces):
        if index and conversation.gap:
            time.sleep(conversation.gap)  # shapes the wire: the proxy reads the pieces apart
        sock.sendall(piece)
    if conversation.half_close:
        sock.shutdown(socket.SHUT_WR)


def _enough(received: bytearray, conversation: Conversation) -> bool:
    return conversation.responses is not None and _finals(received, conversation) >= conversation.responses


def _finals(received: bytearray, conversation: Conversation) -> int:
    """How many complete final (not 1xx) responses came."""
    responses, _ = parse_responses(bytes(received), head_request=conversation.head_request)
    return sum(1 for response in responses if response.complete and response.status >= 200)

"""HTTP/1.x messages read back from raw bytes, for the differential tests: what a client received from a
proxy, and what a backend received from it. No I/O. The parsers are lenient (a bare LF ends a line as a
CRLF does, a body cut short is kept as far as it came), because they read what the two proxies under
test wrote, and must describe it, not judge it.
"""

from __future__ import annotations

from dataclasses import dataclass

NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(frozen=True)
class Message:
    """One request or response: its start line, headers (names as sent, values without surrounding
    spaces), body (without chunk framing) and the bytes it took on the wire."""

    start: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    raw: bytes
    complete: bool  # the body was read to the end its framing announced

    def header(self, name: str) -> bytes | None:
        """The first value of header `name` (any case), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[bytes]:
        key = name.lower().encode()
        return [value for header, value in self.headers if header.lower() == key]

    # a request's start line
    @property
    def method(self) -> bytes:
        return self.start.split(b" ", 1)[0]

    @property
    def target(self) -> bytes:
        parts = self.start.split(b" ")
        return parts[1] if len(parts) > 1 else b""

    # both: the request's last word, the response's first
    @property
    def version(self) -> bytes:
        first, _, rest = self.start.partition(b" ")
        return first if first.startswith(b"HTTP/") else rest.rpartition(b" ")[2]

    # a response's start line
    @property
    def status(self) -> int:
        parts = self.start.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0

    @property
    def reason(self) -> bytes:
        parts = self.start.split(b" ", 2)
        return parts[2] if len(parts) > 2 else b""


def _head_end(data: bytes, start: int = 0) -> tuple[int, int] | None:
    """Where the head beginning at `start` ends: (end of its last header line, start of the body)."""
    position = start
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            return None
        line_start = position
        if data[line_start:newline] in (b"", b"\r"):
            return line_start, newline + 1
        position = newline + 1


def _lines(head: bytes) -> list[bytes]:
    return [line[:-1] if line.endswith(b"\r") else line for line in head.split(b"\n")]


def _split_head(head: bytes) -> tuple[bytes, tuple[tuple[bytes, bytes], ...]]:
    lines = _lines(head)
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(b":")
        headers.append((name, value.strip(b" \t")))
    return lines[0], tuple(headers)


def _read_chunked(data: bytes, start: int) -> tuple[bytes, int, bool]:
    """A chunked body from `start`: (body, where it ended, whether it was whole and well formed)."""
    body = bytearray()
    position = start
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            return bytes(body), len(data), False
        size_text = data[position:newline].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(body), len(data), False
        position = newline + 1
        if size == 0:
            end = _head_end(data, position)  # trailers, then the empty line
            if end is None:
                return bytes(body), len(data), False
            return bytes(body), end[1], True
        if len(data) < position + size + 2:
            body += data[position : position + size]
            return bytes(body), len(data), False
        body += data[position : position + size]
        position += size
        if data[position : position + 2] == b"\r\n":
            position += 2
        elif data[position : position + 1] == b"\n":
            position += 1
        else:
            return bytes(body), len(data), False


def _body(
    data: bytes, start: int, headers: tuple[tuple[bytes, bytes], ...], *, until_close: bool
) -> tuple[bytes, int, bool]:
    """The body after a head: by Transfer-Encoding: chunked, else Content-Length, else (a response) all
    that follows, else (a request) none."""
    message = Message(b"", headers, b"", b"", True)
    encoding = message.header("transfer-encoding")
    if encoding is not None and encoding.lower().endswith(b"chunked"):
        return _read_chunked(data, start)
    length = message.header("content-length")
    if length is not None and length.strip().isdigit():
        end = start + int(length)
        return data[start:end], min(end, len(data)), len(data) >= end
    if until_close:
        return data[start:], len(data), True
    return b"", start, True


def parse_request(data: bytes, start: int = 0) -> Message | None:
    """The request at `start`, or None while its head is not whole."""
    end = _head_end(data, start)
    if end is None:
        return None
    start_line, headers = _split_head(data[start : end[0]])
    body, stop, complete = _body(data, end[1], headers, until_close=False)
    return Message(start_line, headers, body, data[start:stop], complete)


def parse_requests(data: bytes) -> list[Message]:
    """Every request in `data`, the last one possibly incomplete."""
    requests = []
    position = 0
    while position < len(data):
        request = parse_request(data, position)
        if request is None:
            break
        requests.append(request)
        position += len(request.raw)
        if not request.complete:
            break
    return requests


def parse_responses(data: bytes, *, head_request: bool = False) -> tuple[list[Message], bytes]:
    """The responses in `data` (a 1xx is one without a body; after a 101 the rest is not HTTP) and what
    follows the last one that could be read."""
    responses: list[Message] = []
    position = 0
    while position < len(data):
        end = _head_end(data, position)
        if end is None:
            break
        start_line, headers = _split_head(data[position : end[0]])
        status = Message(start_line, (), b"", b"", True).status
        if head_request or status < 200 or status in NO_BODY_STATUSES:
            body, stop, complete = b"", end[1], True
        else:
            body, stop, complete = _body(data, end[1], headers, until_close=True)
        responses.append(Message(start_line, headers, body, data[position:stop], complete))
        position = stop
        if status == 101 or not complete:
            break
    return responses, data[position:]

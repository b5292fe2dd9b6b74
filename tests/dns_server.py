"""A small authoritative DNS server for tests, on a loopback address: answers A and AAAA queries from a
table the test changes while it runs, so that nothing leaves the machine.

Each name's `Record` says what to answer: addresses with a TTL, an error code (NXDOMAIN, SERVFAIL,
REFUSED...), or nothing at all (the query times out). A name not in the table gets NXDOMAIN. `queries`
counts the queries per name and type.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


@dataclass(frozen=True)
class Record:
    v4: tuple[str, ...] = ()
    v6: tuple[str, ...] = ()
    ttl: int = 300
    rcode: dns.rcode.Rcode = dns.rcode.NOERROR
    silent: bool = False  # no answer at all


class DnsServer:
    """`with DnsServer("127.0.0.53") as server:` serves on `server.address` (its port is `server.port`, the
    one given or one the system chose) until the block ends."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.records: dict[str, Record] = {}
        self.queries: Counter[tuple[str, str]] = Counter()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._serve, name="dns", daemon=True)
        self._closed = threading.Event()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):  # wakes the thread's recvfrom (closing alone does not)
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except OSError:
                return
            reply = self._answer(data)
            if reply is not None:
                self._sock.sendto(reply, peer)

    def _answer(self, data: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        self.queries[(name, kind)] += 1
        record = self.records.get(name, Record(rcode=dns.rcode.NXDOMAIN))
        if record.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        response.set_rcode(record.rcode)
        addresses = {"A": record.v4, "AAAA": record.v6}.get(kind, ())
        if record.rcode == dns.rcode.NOERROR and addresses:
            response.answer.append(
                dns.rrset.from_text_list(question.name, record.ttl, dns.rdataclass.IN, kind, list(addresses))
            )
        return response.to_wire()

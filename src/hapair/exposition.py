"""The Prometheus exposition of hapair's daemons (`--metrics ADDR:PORT`, off unless given):
prometheus-client's WSGI application on its own registry, served by a daemon thread of the daemon's main
process.

Import it only when --metrics is given (it imports prometheus-client). A daemon binds the address at start
(`MetricsServer(...)`: an OSError then is a start that fails, in the daemon's own words), registers its
collectors (`register`: a prometheus-client `Collector` whose `collect()` reads the daemon's state under
its own lock), then `start()`s the thread, which keeps every signal blocked whatever the caller's mask:
signals stay the main thread's to take. A process forked afterwards (a proxy worker) calls `forget()` to
close its copy of the listening socket; the thread is not there.

`hapair vrrp` and `hapair node` use it the same way as `hapair proxy`: one `MetricsServer` per process,
one collector per part (`hapair node` registers the VRRP and the proxy collectors on the same server).
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import socketserver
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.registry import Collector

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> tuple[IpAddress, int]:
    """`ADDR:PORT` (`[ADDR]:PORT` for IPv6); ValueError when it is not one."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(text)
    if host.startswith("[") and host.endswith("]"):
        return ipaddress.IPv6Address(host[1:-1]), int(port)
    return ipaddress.IPv4Address(host), int(port)


def address_text(ip: IpAddress, port: int) -> str:
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


class _Server(ThreadingMixIn, WSGIServer):
    """One thread per scrape (each inherits the serving thread's mask); IPv6 when the address is."""

    daemon_threads = True

    def server_bind(self) -> None:
        """HTTPServer's, without its reverse DNS lookup of the address (socket.getfqdn)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()


class _SilentHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not logged."""


class MetricsServer:
    """`/metrics` (and every other path: prometheus-client's app) on `ip:port`, bound when made."""

    def __init__(self, ip: IpAddress, port: int) -> None:
        self.registry = CollectorRegistry()
        server_class = type("MetricsHttpServer", (_Server,), {"address_family": _family(ip)})
        self._httpd = make_server(
            str(ip), port, make_wsgi_app(self.registry), server_class, handler_class=_SilentHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def start(self) -> None:
        """Serve from a daemon thread that blocks every signal (its scrape threads inherit the mask)."""
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics", daemon=True)
            self._thread.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def forget(self) -> None:
        """In a forked child: the listening socket closed, the parent's server left alone."""
        self._httpd.socket.close()

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()


def _family(ip: IpAddress) -> socket.AddressFamily:
    return socket.AF_INET6 if ip.version == 6 else socket.AF_INET

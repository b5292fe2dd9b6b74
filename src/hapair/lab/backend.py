"""The backend web server, standing in for the seed's PHP test page (its `docker run ... webserver`): every
GET answers with the server's host name, the client's address and port, the server's address and port
and the time, on 8080 and, in HTTPS, on 8443.

Run in the lab's web namespace as `python -m hapair.lab.backend CERT KEY`."""

from __future__ import annotations

import http.server
import socket
import ssl
import sys
import threading
from datetime import datetime

HOSTNAME = "webserver"  # the seed's container --hostname
PORTS = {"http": 8080, "https": 8443}


def page(client: tuple[str, int], server: tuple[str, int], forwarded_for: str | None, now: datetime) -> str:
    """The test page's text: the lines the lab's client reads back."""
    lines = [
        f"Hostname: {HOSTNAME}",
        f"Client: {client[0]}:{client[1]}",
        f"Server: {server[0]}:{server[1]}",
    ]
    if forwarded_for:
        lines.append(f"X-Forwarded-For: {forwarded_for}")
    lines.append(f"Time: {now.isoformat(timespec='milliseconds')}")
    return "\n".join(lines) + "\n"


class TestPage(http.server.BaseHTTPRequestHandler):
    """Answers any path (the seed asks for /test.php) with `page`."""

    protocol_version = "HTTP/1.1"
    server_version = "hapair-lab-webserver"
    # the head and the body in one write, flushed once the answer is whole: written apart, the body waited
    # for the ACK of the head (Nagle), which a kept connection's peer delays by 40 ms
    wbufsize = -1

    def do_GET(self) -> None:
        client = self.client_address[:2]
        server = self.connection.getsockname()[:2]
        body = page(client, server, self.headers.get("X-Forwarded-For"), datetime.now().astimezone()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    address_family = socket.AF_INET
    # socketserver's default backlog (5) overflows on a loaded machine, and the SYNs it drops fail the
    # nodes' connections to the backend (BGP lab: every node's `backends` source at once)
    request_queue_size = 128


def serve(certificate: str, key: str) -> None:
    plain = Server(("0.0.0.0", PORTS["http"]), TestPage)
    secure = Server(("0.0.0.0", PORTS["https"]), TestPage)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    threading.Thread(target=secure.serve_forever, daemon=True).start()
    print(f"{HOSTNAME}: listening on {PORTS['http']} (http) and {PORTS['https']} (https)", flush=True)
    plain.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])

"""The seed's web server for the Debian layout test: on 8080 (HTTP) and 8443 (HTTPS, requiring a client
certificate signed by the CA) it answers every request with JSON naming the port, the client
certificate's common name, the path and the request headers; `/slow/NAME` prints "slow NAME" and
answers only once the file NAME exists in the directory RELEASES.

Usage: layout_backend.py CERT KEY CA RELEASES"""

from __future__ import annotations

import http.server
import json
import ssl
import sys
import threading
import time
from pathlib import Path

POLL_S = 0.01


def handler(port: int, releases: Path) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path.startswith("/slow/"):
                name = self.path.removeprefix("/slow/")
                print(f"slow {name}", flush=True)
                while not (releases / name).exists():
                    time.sleep(POLL_S)
            peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
            subject = dict(item[0] for item in peer["subject"]) if peer else {}
            body = json.dumps(
                {
                    "port": port,
                    "client_certificate": subject.get("commonName"),
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main(cert: str, key: str, ca: str, releases: str) -> None:
    plain = http.server.ThreadingHTTPServer(("0.0.0.0", 8080), handler(8080, Path(releases)))
    secure = http.server.ThreadingHTTPServer(("0.0.0.0", 8443), handler(8443, Path(releases)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_REQUIRED
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    for server in (plain, secure):
        server.daemon_threads = True
    threading.Thread(target=secure.serve_forever, daemon=True).start()
    print("ready", flush=True)
    plain.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:5])

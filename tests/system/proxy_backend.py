"""A backend for the load-balancer tests, like the seed's test page: answers every HTTP request with its
host name, on 8080 in plain HTTP and on 8443 in HTTPS requiring a client certificate signed by the CA.

Usage: proxy_backend.py NAME CERT KEY CA"""

from __future__ import annotations

import http.server
import ssl
import sys
import threading


def handler(name: str) -> type[http.server.BaseHTTPRequestHandler]:
    body = f"{name}\n".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main(name: str, cert: str, key: str, ca: str) -> None:
    plain = http.server.ThreadingHTTPServer(("0.0.0.0", 8080), handler(name))
    secure = http.server.ThreadingHTTPServer(("0.0.0.0", 8443), handler(name))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_REQUIRED
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    threading.Thread(target=secure.serve_forever, daemon=True).start()
    print("ready", flush=True)
    plain.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:5])

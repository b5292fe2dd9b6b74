"""The seed's HTTPS server (TLS terminated, re-encrypted to an upstream that requires a client
certificate) and its HTTP one, with the seed's access log, over real sockets."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path

from tests.config.nginx.seed_configs import SEED_HTTP

from .harness import Backend, Pki, Received, eventually, free_port, make_pki, proxy, request, run


def seed(tmp_path: Path, pki: Pki, ports: tuple[int, int], plain: int, tls: int) -> str:
    """The seed's conf.d/k8sapi.conf with its paths, listen ports and backends replaced."""
    http_port, https_port = ports
    replacements = {
        "/var/log/nginx/": f"{tmp_path}/",
        "/etc/ssl/certs/k8sapiserver.crt": str(pki.server[0]),
        "/etc/ssl/private/k8sapiserver.key": str(pki.server[1]),
        "/etc/ssl/certs/k8sapiclient.crt": str(pki.client[0]),
        "/etc/ssl/private/k8sapiclient.key": str(pki.client[1]),
        "192.168.13.104:8080": f"127.0.0.1:{plain}",
        "192.168.13.104:8443": f"127.0.0.1:{tls}",
        "listen 8080;": f"listen 127.0.0.1:{http_port};",
        "listen 8443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
    }
    text = SEED_HTTP
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def test_https_listener_and_https_upstream_with_client_certificate(tmp_path: Path) -> None:
    peers: list[dict] = []

    async def answer(received: Received, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        peers.append(writer.get_extra_info("peercert"))
        return b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure"

    async def scenario() -> None:
        pki = make_pki(tmp_path)
        tls_backend = await Backend(answer).start(pki.backend_context())
        plain_backend = await Backend(answer).start()
        http_port, https_port = free_port(), free_port()
        text = seed(tmp_path, pki, (http_port, https_port), plain_backend.port, tls_backend.port)
        async with proxy(tmp_path, text):
            response = await request(
                https_port,
                b"GET /api HTTP/1.1\r\nHost: k8sapi-vrrp.kloud.lan\r\n\r\n",
                ssl_context=pki.client_context(),
            )
            assert (response.status, response.body) == (200, b"secure")
            got = tls_backend.received[0]
            assert (
                got.header("x-forwarded-proto") == "https" and got.header("host") == "k8sapi-vrrp.kloud.lan"
            )
            assert dict(item[0] for item in peers[0]["subject"])["commonName"] == "k8sapiclient"
            response = await request(http_port, b"GET /plain HTTP/1.1\r\nHost: k8sapi-vrrp.kloud.lan\r\n\r\n")
            assert response.status == 200 and plain_backend.received[0].request_line == b"GET /plain HTTP/1.0"
            log = tmp_path / "keepalived.access.log"
            await eventually(lambda: log.exists() and len(log.read_text().splitlines()) == 2, timeout=3)
        combined = re.compile(
            r"^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
            r'"GET /api HTTP/1\.1" 200 6 "-" "-"$'
        )
        first = log.read_text().splitlines()[0]
        assert combined.match(first), first
        tls_backend.stop()
        plain_backend.stop()

    run(scenario())


def test_client_without_the_ca_sees_the_configured_certificate(tmp_path: Path) -> None:
    async def scenario() -> None:
        backend = await Backend(lambda *_: _ok()).start()
        pki = make_pki(tmp_path)
        text = seed(tmp_path, pki, (free_port(), free_port()), backend.port, backend.port)
        async with proxy(tmp_path, text):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            https_port = int(re.findall(r"listen 127.0.0.1:(\d+) ssl;", text)[0])
            _, writer = await asyncio.open_connection("127.0.0.1", https_port, ssl=context)
            certificate = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
            assert certificate == ssl.PEM_cert_to_DER_cert(pki.server[0].read_text())
            assert writer.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")
            writer.close()
        backend.stop()

    run(scenario())


async def _ok() -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

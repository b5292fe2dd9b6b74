"""The ssl module's server settings on real handshakes: `ssl_ecdh_curve` (the groups a client may use),
`ssl_dhparam` (DHE key exchange), `ssl_session_tickets off`, `ssl_reject_handshake` (by name and for a
handshake without one), `ssl on` (deprecated, still TLS) and `ssl_password_file`."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest

from hapair import openssl
from tests.certificates import Authority

from .harness import Pki, free_port, make_pki, proxy, run

DATA = Path(__file__).parents[2] / "data"


def server(port: int, pki: Pki, extra: str = "", listen: str = "ssl") -> str:
    return f"""
    server {{
        listen 127.0.0.1:{port} {listen};
        ssl_certificate {pki.server[0]};
        ssl_certificate_key {pki.server[1]};
        {extra}
        location / {{ return 200 "tls"; }}
    }}
    """


async def handshake(port: int, context: ssl.SSLContext, name: str | None = None) -> ssl.SSLObject:
    """A handshake and one request; the connection's TLS object."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=name or "")
    host = b"Host: %b\r\n" % name.encode() if name else b""  # an empty Host is refused (400), as by nginx
    writer.write(b"GET / HTTP/1.0\r\n%b\r\n" % host)
    answer = await reader.read()
    writer.close()
    assert answer.endswith(b"tls")
    ssl_object = writer.get_extra_info("ssl_object")
    assert ssl_object is not None
    return ssl_object


def client(pki: Pki, *, tls12: bool = False) -> ssl.SSLContext:
    context = pki.client_context()
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def with_groups(context: ssl.SSLContext, groups: str) -> ssl.SSLContext:
    openssl.set_groups(context, groups)
    return context


def test_ecdh_curve_limits_the_groups_a_client_may_use(tmp_path: Path) -> None:
    async def scenario() -> None:
        pki = make_pki(tmp_path)
        port = free_port()
        # TLS 1.3: the groups are the key exchange's only (in TLS 1.2 they also limit the curve of an EC
        # certificate, prime256v1 for the test's)
        async with proxy(tmp_path, server(port, pki, "ssl_ecdh_curve secp384r1; ssl_protocols TLSv1.3;")):
            await handshake(port, with_groups(client(pki), "secp384r1"))
            with pytest.raises((ssl.SSLError, ConnectionResetError)):
                await handshake(port, with_groups(client(pki), "X25519"))

    run(scenario())


def test_dhparam_allows_dhe_key_exchange(tmp_path: Path) -> None:
    async def scenario() -> None:
        pki = make_pki(tmp_path)
        port = free_port()
        extra = f"ssl_dhparam {DATA / 'ffdhe2048.pem'}; ssl_protocols TLSv1.2; "
        extra += "ssl_ciphers DHE-RSA-AES128-GCM-SHA256;"
        rsa = Authority(tmp_path, "rsa-ca").issue("rsa-server", rsa=True)
        text = server(port, pki, extra).replace(str(pki.server[0]), str(rsa[0]))
        async with proxy(tmp_path, text.replace(str(pki.server[1]), str(rsa[1]))):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # signed by another CA
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers("DHE-RSA-AES128-GCM-SHA256")
            used = await handshake(port, context)
            assert used.cipher()[0] == "DHE-RSA-AES128-GCM-SHA256"

    run(scenario())


@pytest.mark.parametrize("tickets", ["on", "off"])
def test_session_tickets(tmp_path: Path, tickets: str) -> None:
    """A TLS 1.2 session comes with a ticket by default and without one with `ssl_session_tickets
    off`."""

    async def scenario() -> None:
        pki = make_pki(tmp_path)
        port = free_port()
        extra = f"ssl_session_tickets {tickets};"
        async with proxy(tmp_path, server(port, pki, extra)):
            context = client(pki, tls12=True)
            first = await handshake(port, context)
            assert first.session is not None
            assert first.session.has_ticket is (tickets == "on")

    run(scenario())


def test_reject_handshake_by_name_and_without_one(tmp_path: Path) -> None:
    """The default server rejects handshakes although it has a certificate; the named one does not."""

    async def scenario() -> None:
        pki = make_pki(tmp_path)
        port = free_port()
        text = f"""
        server {{
            listen 127.0.0.1:{port} ssl default_server; ssl_reject_handshake on;
            ssl_certificate {pki.server[0]}; ssl_certificate_key {pki.server[1]};
        }}
        {server(port, pki, "server_name k8sapi-vrrp.kloud.lan;")}
        """
        async with proxy(tmp_path, text):
            await handshake(port, client(pki), "k8sapi-vrrp.kloud.lan")
            for name in ("other.example", None):
                # nginx's unrecognized_name alert does not leave asyncio's TLS: the client sees a reset
                with pytest.raises(ConnectionResetError):
                    await handshake(port, client(pki), name)

    run(scenario())


def test_deprecated_ssl_on_still_speaks_tls(tmp_path: Path) -> None:
    async def scenario() -> None:
        pki = make_pki(tmp_path)
        port = free_port()
        async with proxy(tmp_path, server(port, pki, "ssl on;", listen="")):
            await handshake(port, client(pki))

    run(scenario())


def test_encrypted_key_with_password_file(tmp_path: Path) -> None:
    async def scenario() -> None:
        pki = make_pki(tmp_path)
        encrypted = tmp_path / "encrypted.key"
        subprocess.run(
            ["openssl", "pkey", "-in", str(pki.server[1]), "-aes128", "-passout", "pass:secret",
             "-out", str(encrypted)],
            check=True,
        )  # fmt: skip
        (tmp_path / "passwords").write_text("wrong\nsecret\n")
        port = free_port()
        text = server(port, pki, f"ssl_password_file {tmp_path}/passwords;").replace(
            str(pki.server[1]), str(encrypted)
        )
        async with proxy(tmp_path, text):
            await handshake(port, client(pki))

    run(scenario())

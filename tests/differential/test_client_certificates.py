"""Client certificates (`ssl_verify_client on|optional|optional_no_ca`, `ssl_client_certificate`,
`ssl_trusted_certificate`, `ssl_verify_depth`, `ssl_crl`) and the `$ssl_client_*` variables: nginx 1.22.1
and hapair run the same configuration, TLS clients with and without certificates (from the trusted CA,
from an unknown one, through an intermediate, revoked, expired) ask both, and the answers (status, body
made of the variables), the access-log lines and the `info` lines of the error log are compared."""

from __future__ import annotations

import datetime
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .harness import free_port
from .servers import IMPLEMENTATIONS, Process
from .suite import ORACLE

pytestmark = ORACLE

VARIABLES = (
    "ssl_client_verify",
    "ssl_client_s_dn",
    "ssl_client_i_dn",
    "ssl_client_s_dn_legacy",
    "ssl_client_i_dn_legacy",
    "ssl_client_serial",
    "ssl_client_fingerprint",
    "ssl_client_v_start",
    "ssl_client_v_end",
    "ssl_client_v_remain",
)
PEM_VARIABLES = ("ssl_client_raw_cert", "ssl_client_cert", "ssl_client_escaped_cert")
# a server per setting, on ports given by `@NAME@`
SERVERS = {
    "on": "ssl_verify_client on; ssl_client_certificate {ca};",
    "optional": "ssl_verify_client optional; ssl_client_certificate {ca};",
    "no_ca": "ssl_verify_client optional_no_ca;",
    "trusted": "ssl_verify_client optional; ssl_client_certificate {ca}; ssl_trusted_certificate {other_ca};",
    "deep": "ssl_verify_client on; ssl_client_certificate {ca}; ssl_verify_depth 2;",
    "crl": "ssl_verify_client on; ssl_client_certificate {ca}; ssl_crl {crl};",
    "pages": "ssl_verify_client on; ssl_client_certificate {ca}; error_page 495 496 =403 /refused;",
}


@dataclass(frozen=True)
class Files:
    directory: Path
    server: Path  # certificate and key in one file
    ca: Path
    other_ca: Path
    crl: Path
    clients: dict[str, Path]  # name: certificate and key in one file


def _leaf(ca: trustme.CA, directory: Path, name: str, **fields: object) -> Path:
    path = directory / f"{name}.pem"
    ca.issue_cert(f"{name}.test", **fields).private_key_and_cert_chain_pem.write_to_path(str(path))
    return path


def _revocation_list(ca: trustme.CA, revoked: Path, path: Path) -> None:
    certificate = x509.load_pem_x509_certificate(revoked.read_bytes().split(b"KEY-----\n", 2)[2])
    key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject
    now = datetime.datetime.now(datetime.UTC)
    entry = (
        x509.RevokedCertificateBuilder().serial_number(certificate.serial_number).revocation_date(now).build()
    )
    builder = x509.CertificateRevocationListBuilder().issuer_name(issuer).last_update(now)
    crl = builder.next_update(now + datetime.timedelta(days=1)).add_revoked_certificate(entry)
    path.write_bytes(crl.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    directory = tmp_path_factory.mktemp("client-certificates")
    directory.chmod(0o755)
    server_ca, ca, other = trustme.CA(), trustme.CA(), trustme.CA()
    server = directory / "server.pem"
    server_ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(str(server))
    paths = {"ca": directory / "ca.pem", "other_ca": directory / "other_ca.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    other.cert_pem.write_to_path(str(paths["other_ca"]))
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    clients = {
        "alice": _leaf(ca, directory, "alice", common_name='Alice, "A" +1', organization_name="Ünïcode Ltd"),
        "stranger": _leaf(other, directory, "stranger", common_name="stranger"),
        "expired": _leaf(
            ca, directory, "expired", not_before=past, not_after=past + datetime.timedelta(days=2)
        ),
        "revoked": _leaf(ca, directory, "revoked", common_name="revoked"),
        "intermediate": _leaf(ca.create_child_ca(), directory, "intermediate", common_name="deep"),
        "deeper": _leaf(ca.create_child_ca().create_child_ca(), directory, "deeper", common_name="deeper"),
    }
    # a chain up to a root nobody trusts, the root included
    stranger_intermediate = other.create_child_ca()
    clients["stranger_chain"] = _leaf(stranger_intermediate, directory, "chain")
    with open(clients["stranger_chain"], "ab") as chain:
        chain.write(other.cert_pem.bytes())
    lone = trustme.CA()
    clients["self_signed"] = directory / "self_signed.pem"
    clients["self_signed"].write_bytes(lone.private_key_pem.bytes() + lone.cert_pem.bytes())
    for path in (server, *clients.values()):
        path.chmod(0o644)
    crl = directory / "crl.pem"
    _revocation_list(ca, clients["revoked"], crl)
    return Files(directory, server, paths["ca"], paths["other_ca"], crl, clients)


def configuration(files: Files, ports: dict[str, int]) -> str:
    body = "|".join(f"${name}" for name in VARIABLES)
    servers = "".join(
        f"""
    server {{
        listen 127.0.0.1:{ports[name]} ssl;
        ssl_certificate {files.server};
        ssl_certificate_key {files.server};
        {settings.format(ca=files.ca, other_ca=files.other_ca, crl=files.crl)}
        location / {{ return 200 "{body}"; }}
        {"".join(f'location = /{v} {{ return 200 "${v}"; }}' for v in PEM_VARIABLES)}
        location = /refused {{ return 200 "refused: $ssl_client_verify"; }}
    }}"""
        for name, settings in SERVERS.items()
    )
    return f"""worker_processes 1;
error_log error.log info;
events {{}}
http {{
    log_format client '$server_port $status "$ssl_client_verify" "$ssl_client_s_dn" $ssl_client_serial';
    access_log access.log client;
    {servers}
}}
"""


@dataclass(frozen=True)
class Side:
    process: Process
    ports: dict[str, int]


@pytest.fixture(scope="module")
def sides(files: Files) -> Iterator[dict[str, Side]]:
    running: dict[str, Side] = {}
    try:
        for implementation in IMPLEMENTATIONS:
            ports = {name: free_port() for name in SERVERS}
            directory = files.directory / implementation.name
            process = Process(implementation, directory, configuration(files, ports))
            running[implementation.name] = Side(process, ports)
            _wait_listening(process, ports.values())
        yield running
    finally:
        for side in running.values():
            side.process.stop()


def _wait_listening(process: Process, ports: object) -> None:
    deadline = time.monotonic() + 15
    for port in ports:  # type: ignore[attr-defined]
        while True:
            assert process.running(), process.console()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{process.name} does not listen on {port}"
                time.sleep(0.02)


def ask(port: int, path: str, certificate: Path | None) -> tuple[int, str]:
    """A TLS request with `certificate` (or none); the status and the body."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if certificate is not None:
        context.load_cert_chain(certificate)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunked(body)
    return status, body.decode("utf-8", "replace").replace("hapair", "nginx").replace("nginx/1.22.1", "nginx")


def _unchunked(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, body = out + rest[:size], rest[size + 2 :]
    return out


CASES = [
    ("on", "/", None),
    ("on", "/", "alice"),
    ("on", "/", "stranger"),
    ("on", "/", "expired"),
    ("on", "/", "self_signed"),
    ("on", "/", "intermediate"),
    ("on", "/", "deeper"),
    ("deep", "/", "deeper"),
    ("on", "/", "stranger_chain"),
    ("no_ca", "/", "stranger_chain"),
    ("optional", "/", None),
    ("optional", "/", "alice"),
    ("optional", "/", "stranger"),
    ("no_ca", "/", None),
    ("no_ca", "/", "alice"),
    ("no_ca", "/", "stranger"),
    ("no_ca", "/", "self_signed"),
    ("no_ca", "/", "expired"),
    ("trusted", "/", "stranger"),
    ("crl", "/", "alice"),
    ("crl", "/", "revoked"),
    ("pages", "/", None),
    ("pages", "/", "stranger"),
    ("on", "/ssl_client_raw_cert", "alice"),
    ("on", "/ssl_client_cert", "alice"),
    ("on", "/ssl_client_escaped_cert", "alice"),
    ("optional", "/ssl_client_raw_cert", None),
]


@pytest.mark.parametrize(("server", "path", "client"), CASES, ids=[f"{s}{p}-{c}" for s, p, c in CASES])
def test_the_answer_and_log_lines_are_nginx_s(
    sides: dict[str, Side], files: Files, server: str, path: str, client: str | None
) -> None:
    certificate = files.clients[client] if client else None
    seen = {}
    for name, side in sides.items():
        port = side.ports[server]
        answer = ask(port, path, certificate)
        access = _last_line(side, "access.log").replace(str(port), "PORT", 1)
        errors = [
            line.split("] ", 1)[1].split(": ", 1)[1].split(", client:")[0]
            for line in _new_lines(side, "error.log")
            if "client SSL certificate" in line or "no required SSL certificate" in line
        ]
        seen[name] = (answer, access, errors)
    assert seen["hapair"] == seen["nginx"]


_READ: dict[tuple[int, str], int] = {}


def _new_lines(side: Side, name: str) -> list[str]:
    """The lines of a log written since the last call for it."""
    path = side.process.directory / name
    key = (id(side), name)
    deadline = time.monotonic() + 3
    text = path.read_text(errors="replace") if path.exists() else ""
    while name == "access.log" and len(text) <= _READ.get(key, 0) and time.monotonic() < deadline:
        time.sleep(0.01)
        text = path.read_text(errors="replace") if path.exists() else ""
    new, _READ[key] = text[_READ.get(key, 0) :], len(text)
    return new.splitlines()


def _last_line(side: Side, name: str) -> str:
    lines = _new_lines(side, name)
    return lines[-1] if lines else ""

"""`hapair proxy -t` beside the real `nginx -t` on the ssl module's client certificate directives:
`ssl_verify_client`, `ssl_verify_depth`, `ssl_client_certificate`, `ssl_trusted_certificate`, `ssl_crl`
(same status, same lines, OpenSSL's errors included); and the `$ssl_client_*` variables known."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Certificates
from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

TLS_SERVER = "listen 38443 ssl; ssl_certificate {crt}; ssl_certificate_key {key};"
VARIABLES = (
    "$ssl_client_verify$ssl_client_s_dn$ssl_client_i_dn$ssl_client_s_dn_legacy$ssl_client_i_dn_legacy"
    "$ssl_client_serial$ssl_client_fingerprint$ssl_client_raw_cert$ssl_client_cert$ssl_client_escaped_cert"
    "$ssl_client_v_start$ssl_client_v_end$ssl_client_v_remain"
)
CASES = [
    TLS_SERVER + " ssl_verify_client on; ssl_client_certificate {ca};",
    TLS_SERVER + " ssl_verify_client ON; ssl_client_certificate {ca}; ssl_verify_depth 3;",
    TLS_SERVER + " ssl_verify_client optional; ssl_client_certificate {ca}; ssl_trusted_certificate {ca};",
    TLS_SERVER + " ssl_verify_client optional_no_ca;",
    TLS_SERVER + " ssl_verify_client on;",
    TLS_SERVER + " ssl_verify_client optional;",
    TLS_SERVER + " ssl_verify_client maybe;",
    TLS_SERVER + " ssl_verify_client on; ssl_verify_client off;",
    TLS_SERVER + " ssl_verify_client off; ssl_client_certificate nosuch.pem;",
    TLS_SERVER + " ssl_verify_client on; ssl_client_certificate nosuch.pem;",
    TLS_SERVER + " ssl_verify_client on; ssl_client_certificate {junk};",
    TLS_SERVER + " ssl_verify_client on; ssl_client_certificate '';",
    TLS_SERVER + " ssl_verify_depth x;",
    TLS_SERVER + " ssl_verify_depth 1; ssl_verify_depth 2;",
    TLS_SERVER + " ssl_trusted_certificate nosuch.pem;",
    TLS_SERVER + " ssl_trusted_certificate {junk};",
    TLS_SERVER + " ssl_crl nosuch.pem;",
    TLS_SERVER + " ssl_crl {ca};",
    TLS_SERVER + " ssl_crl {junk};",
    TLS_SERVER + " ssl_verify_client on; ssl_client_certificate nosuch.pem; ssl_crl other.pem;",
    "listen 38444; ssl_verify_client on;",
    TLS_SERVER + " ssl_verify_client on; ssl_client_certificate {ca}; } server { listen 38444;",
    TLS_SERVER + f' location / {{ return 200 "{VARIABLES}"; }}',
    TLS_SERVER + " location / { ssl_verify_client on; }",
]


def _filled(case: str, certificates: Certificates) -> str:
    return (
        case.replace("{crt}", str(certificates.server.certificate))
        .replace("{key}", str(certificates.server.key))
        .replace("{ca}", str(certificates.client.certificate))
        .replace("{junk}", str(certificates.junk))
    )


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, certificates: Certificates, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + "http { server { " + _filled(case, certificates) + " } }\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)

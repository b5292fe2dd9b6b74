"""`hapair proxy -t` beside the real `nginx -t` on the ssl module's server directives beyond the
certificates: `ssl` (deprecated), `ssl_password_file`, `ssl_dhparam`, `ssl_ecdh_curve`, `ssl_buffer_size`,
`ssl_session_tickets`, `ssl_conf_command`, `ssl_reject_handshake`, `ssl_early_data`: same status, same
lines, OpenSSL's errors included."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import Certificates
from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]
DATA = Path(__file__).parents[2] / "data"

TLS_SERVER = "listen 38443 ssl; ssl_certificate {crt}; ssl_certificate_key {key};"
CASES = [
    TLS_SERVER + f" ssl_dhparam {DATA / 'ffdhe2048.pem'};",
    TLS_SERVER + f" ssl_dhparam {DATA / 'dh512.pem'};",
    TLS_SERVER + " ssl_dhparam {junk};",
    TLS_SERVER + " ssl_dhparam nosuch.pem;",
    TLS_SERVER + " ssl_dhparam '';",
    TLS_SERVER + " ssl_ecdh_curve X25519:prime256v1:secp384r1;",
    TLS_SERVER + " ssl_ecdh_curve auto;",
    TLS_SERVER + " ssl_ecdh_curve nosuchcurve;",
    TLS_SERVER + " ssl_buffer_size 4k; ssl_buffer_size 8k;",
    TLS_SERVER + " ssl_buffer_size x;",
    TLS_SERVER + " ssl_session_tickets off; ssl_session_timeout 1d; ssl_session_cache shared:S:10m;",
    TLS_SERVER + " ssl_session_tickets maybe;",
    TLS_SERVER
    + " ssl_conf_command Options PrioritizeChaCha; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;",
    TLS_SERVER + " ssl_conf_command NoSuchCommand x;",
    TLS_SERVER + " ssl_early_data off;",
    TLS_SERVER + " ssl_password_file nosuch.txt;",
    "listen 38443 ssl default_server; ssl_reject_handshake on;",
    "listen 38443 ssl; ssl_reject_handshake on; } server { listen 38443 ssl; server_name a;",
    "listen 38443 ssl; ssl_reject_handshake on; } server { listen 38443 ssl; server_name a; "
    "ssl_certificate {crt}; ssl_certificate_key {key};",
    "listen 38443; ssl on; ssl_certificate {crt}; ssl_certificate_key {key};",
    "listen 38443; ssl off;",
    "listen 38443; ssl on;",
    "listen 38443; ssl on; ssl_certificate {crt};",
    "listen 38443; ssl maybe;",
    "listen 38443; ssl on; ssl_reject_handshake on;",
]


def _filled(case: str, certificates: Certificates) -> str:
    return (
        case.replace("{crt}", str(certificates.server.certificate))
        .replace("{key}", str(certificates.server.key))
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


@pytest.mark.parametrize("passwords", ["wrong\nsecret\n", "secret\r\n", "wrong\n"])
def test_an_encrypted_key_with_its_password_file(
    prefix: Path, certificates: Certificates, passwords: str
) -> None:
    encrypted = prefix / "encrypted.key"
    subprocess.run(
        ["openssl", "pkey", "-in", str(certificates.server.key), "-aes128", "-passout", "pass:secret",
         "-out", str(encrypted)],
        check=True,
    )  # fmt: skip
    (prefix / "passwords").write_text(passwords)
    server = f"listen 38443 ssl; ssl_certificate {certificates.server.certificate}; "
    server += f"ssl_certificate_key {encrypted}; ssl_password_file passwords;"
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + "http { server { " + server + " } }\n")
    hapair, nginx = hapair_t(conf, prefix), nginx_t(conf, prefix)
    if passwords == "wrong\n":
        # both refuse the key; OpenSSL's words for it reach nginx and Python differently
        assert (hapair[0], nginx[0]) == (1, 1)
    else:
        assert hapair == nginx == (0, hapair[1])


def test_early_data_on_is_refused_where_nginx_accepts_it(prefix: Path, certificates: Certificates) -> None:
    conf = prefix / "nginx.conf"
    case = _filled(TLS_SERVER + " ssl_early_data on;", certificates)
    conf.write_text(HEAD + "http { server { " + case + " } }\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status) == (0, 1)
    assert 'hapair does not support "on" in the "ssl_early_data" directive' in lines[0]

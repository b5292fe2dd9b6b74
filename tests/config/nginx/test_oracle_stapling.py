"""`hapair proxy -t` beside the real `nginx -t` on `ssl_stapling`: nginx's warnings where it ignores
stapling (issuer not found, no responder URL, a responder URL that is not http://), the response file
read or refused with OpenSSL's errors; and hapair's refusal where nginx would fetch responses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ocsp import StaplingFiles, make_stapling_files

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

SERVER = "listen 38443 ssl; ssl_certificate_key {key}; ssl_stapling on; "
CASES = [
    SERVER + "ssl_certificate {leaf};",
    SERVER + "ssl_certificate {chain};",
    SERVER + "ssl_certificate {leaf}; ssl_trusted_certificate {ca};",
    SERVER + "ssl_certificate {leaf}; ssl_verify_client on; ssl_client_certificate {ca};",
    SERVER + "ssl_certificate {ftp_chain};",
    SERVER + "ssl_certificate {chain}; ssl_stapling_responder ftp://x/;",
    SERVER + "ssl_certificate {leaf}; ssl_stapling_file {response};",
    SERVER + "ssl_certificate {leaf}; ssl_stapling_file {response}; ssl_stapling_verify on;",
    SERVER + "ssl_certificate {leaf}; ssl_stapling_file nosuch.der;",
    SERVER + "ssl_certificate {leaf}; ssl_stapling_file {ca};",
    "listen 38443 ssl; ssl_certificate {leaf}; ssl_certificate_key {key}; ssl_stapling off;",
    "listen 38443; ssl_stapling on;",
    "listen 38443; ssl_stapling maybe;",
    "listen 38443; ssl_stapling_file a b;",
]
# where nginx would fetch responses from the responder at run time
FETCHING = [
    SERVER + "ssl_certificate {http_chain};",
    SERVER + "ssl_certificate {chain}; ssl_stapling_responder http://127.0.0.1:9/;",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> StaplingFiles:
    return make_stapling_files(tmp_path_factory.mktemp("stapling"))


def _filled(case: str, files: StaplingFiles) -> str:
    for name in ("key", "leaf", "chain", "ca", "ftp_chain", "http_chain", "response"):
        case = case.replace("{" + name + "}", str(getattr(files, name)))
    return case


def _write(tmp_path: Path, case: str, files: StaplingFiles) -> Path:
    (tmp_path / "logs").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(HEAD + "http { server { " + _filled(case, files) + " } }\n")
    return conf


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(tmp_path: Path, files: StaplingFiles, case: str) -> None:
    conf = _write(tmp_path, case, files)
    assert hapair_t(conf, tmp_path) == nginx_t(conf, tmp_path)


@pytest.mark.parametrize("case", FETCHING)
def test_fetching_responses_is_refused_by_name(tmp_path: Path, files: StaplingFiles, case: str) -> None:
    conf = _write(tmp_path, case, files)
    assert nginx_t(conf, tmp_path)[0] == 0
    status, output = hapair_t(conf, tmp_path)
    assert status == 1
    refusal = 'hapair does not support fetching OCSP responses for the "ssl_stapling" directive'
    assert any(refusal in line for line in output)

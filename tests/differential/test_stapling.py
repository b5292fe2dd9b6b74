"""OCSP stapling from `ssl_stapling_file`, through nginx and hapair on the same configuration: `openssl
s_client -status` reads the same stapled response from both (the status, the responder, the certificate's
status and times as OpenSSL prints them)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.ocsp import make_stapling_files

from .h2_harness import H2S, H2Pair, H2Side
from .harness import http_config
from .suite import ORACLE

pytestmark = [
    *ORACLE,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl (the command)"),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[H2Pair]:
    directory = tmp_path_factory.mktemp("stapling")
    directory.chmod(0o755)
    files = make_stapling_files(directory)
    for path in (files.chain, files.key, files.response):
        path.chmod(0o644)
    text = http_config(
        server=f"""
            listen 127.0.0.1:{H2S} ssl;
            ssl_certificate {files.chain};
            ssl_certificate_key {files.key};
            ssl_stapling on;
            ssl_stapling_file {files.response};
        """
    )
    running = H2Pair(directory, text)
    yield running
    running.close()


OCSP_SECTION = re.compile(r"^OCSP response: *\n=+\n(.*?)^=+$", re.MULTILINE | re.DOTALL)


def stapled(side: H2Side, *options: str) -> str:
    """The OCSP section of what `openssl s_client` printed about the handshake."""
    ran = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{side.tls_port}", "-servername", "a.test", *options],
        input=b"",
        capture_output=True,
        timeout=10,
        check=False,
    )
    output = ran.stdout.decode("latin-1")
    assert "BEGIN CERTIFICATE" in output or "Server certificate" in output, output
    found = OCSP_SECTION.search(output)
    return (
        found.group(0)
        if found
        else ("no response sent" if "OCSP response: no response sent" in output else "")
    )


def test_a_client_that_asks_gets_nginx_s_stapled_response(pair: H2Pair) -> None:
    nginx, hapair = (stapled(side, "-status") for side in pair.sides)
    assert "OCSP Response Status: successful" in nginx
    assert "Cert Status: good" in nginx
    assert hapair == nginx

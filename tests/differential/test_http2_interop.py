"""HTTP/2 with real peers, nginx 1.22.1 and hapair on the same file: curl (`--http2-prior-knowledge` on a
plain `listen ... http2`, `--http2` over TLS with ALPN, `--http1.1` on the same TLS listener, and the
`Upgrade: h2c` that nginx 1.22 does not take) and h2load (streams multiplexed on a few connections).
Compared: status, headers other than Server and Date, body, the access-log lines, what the backend
received, and curl's and h2load's verdicts."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
import trustme

from .h2_harness import H2, H2S, H2Pair, H2Side, H2SideResult, StreamResult, answers, log_lines, upstream
from .harness import LISTEN, http_config
from .suite import ORACLE

pytestmark = [
    *ORACLE,
    pytest.mark.skipif(
        shutil.which("h2load") is None, reason="h2load (Debian's nghttp2-client) is not installed"
    ),
]

LOCATIONS = """
    location = /here { return 200 "$http2 $server_protocol $https $request"; }
    location = /moved { return 302 /there; }
"""


@dataclass(frozen=True)
class Curl:
    """What curl made of a request: its exit status, and the response it read."""

    status: int
    result: StreamResult | None


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[H2Pair]:
    directory = tmp_path_factory.mktemp("interop")
    directory.chmod(0o755)
    certificate = directory / "server.pem"
    trustme.CA().issue_cert("h2.test").private_key_and_cert_chain_pem.write_to_path(str(certificate))
    certificate.chmod(0o644)
    text = http_config(
        server=f"""
            listen 127.0.0.1:{H2} http2;
            listen 127.0.0.1:{H2S} ssl http2;
            ssl_certificate {certificate};
            ssl_certificate_key {certificate};
            {LOCATIONS}
        """
    )
    running = H2Pair(directory, text)
    yield running
    running.close()


def curl(side: H2Side, url: str, *options: str) -> Curl:
    url = url.replace(H2, str(side.h2_port)).replace(H2S, str(side.tls_port)).replace(LISTEN, str(side.port))
    body = side.directory / "curl.body"
    ran = subprocess.run(
        [
            "curl",
            "-sS",
            "-k",
            "-D",
            "-",
            "-o",
            str(body),
            "--resolve",
            "h2.test:443:127.0.0.1",
            *options,
            url,
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if ran.returncode != 0:
        return Curl(ran.returncode, None)
    lines = ran.stdout.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(line.split(": ", 1)) for line in lines[1:] if ": " in line]
    named = [(name.lower().encode(), value.encode()) for name, value in headers]
    kept = ((b":status", b"%d" % status), *(h for h in named if h[0] not in (b"server", b"date")))
    sized = tuple(value for name, value in named if name in (b"server", b"date", b"location"))
    content = b"" if "--head" in options else body.read_bytes()  # curl writes the head there too
    return Curl(0, StreamResult(status, kept, content, (), sized))


def both(
    pair: H2Pair, url: str, *options: str
) -> tuple[tuple[Curl, H2SideResult], tuple[Curl, H2SideResult]]:
    def run(side: H2Side) -> tuple[Curl, H2SideResult]:
        got, observed = side.observe(lambda s: curl(s, url, *options))
        streams = (got.result,) if got.result is not None else ()
        return got, H2SideResult(streams, None, replace(observed, access=_own_ports(side, observed.access)))

    return run(pair.nginx), run(pair.hapair)


def _own_ports(side: H2Side, lines: tuple[str, ...]) -> tuple[str, ...]:
    """The lines with the side's own ports (in $http_host) written as PORT: each side listens on its own."""
    ports = (str(side.port), str(side.h2_port), str(side.tls_port))
    return tuple(re.sub(rf":({'|'.join(ports)})\b", ":PORT", line) for line in lines)


CURL_CASES = [
    ("prior knowledge", f"http://127.0.0.1:{H2}/here?a=b", "--http2-prior-knowledge"),
    ("prior knowledge, proxied", f"http://127.0.0.1:{H2}/api/x", "--http2-prior-knowledge"),
    ("prior knowledge, HEAD", f"http://127.0.0.1:{H2}/api/x", "--http2-prior-knowledge", "--head"),
    ("prior knowledge, POST", f"http://127.0.0.1:{H2}/api/p", "--http2-prior-knowledge", "-d", "a=1&b=2"),
    ("prior knowledge, redirect", f"http://127.0.0.1:{H2}/moved", "--http2-prior-knowledge"),
    ("TLS, ALPN h2", f"https://127.0.0.1:{H2S}/here", "--http2"),
    ("TLS, ALPN h2, proxied", f"https://127.0.0.1:{H2S}/api/y?z", "--http2"),
    ("TLS, HTTP/1.1 on the HTTP/2 listener", f"https://127.0.0.1:{H2S}/here", "--http1.1"),
    ("an h2c upgrade on a plain listener", f"http://127.0.0.1:{LISTEN}/here", "--http2"),
    ("an h2c upgrade on a prior-knowledge listener", f"http://127.0.0.1:{H2}/here", "--http2"),
]


@pytest.mark.parametrize(
    "case", CURL_CASES, ids=[(case.values[0] if hasattr(case, "values") else case)[0] for case in CURL_CASES]
)
def test_curl(pair: H2Pair, case: tuple[str, ...]) -> None:
    _, url, *options = case
    (nginx_curl, nginx), (hapair_curl, hapair) = both(pair, url, *options)
    assert hapair_curl.status == nginx_curl.status
    assert answers(hapair) == answers(nginx)
    assert upstream(hapair) == upstream(nginx)
    if "--http1.1" in options or (options == ["--http2"] and LISTEN in url):
        # HTTP/1.1: the head is text, not HPACK, the Server token's length differs as documented
        assert [line.split()[:1] + line.split()[3:] for line in hapair.side.access] == [
            line.split()[:1] + line.split()[3:] for line in nginx.side.access
        ]
    else:
        assert log_lines(hapair) == log_lines(nginx)


def h2load(side: H2Side, url: str) -> dict[str, str]:
    """h2load's verdict: its request counts and status classes."""
    url = url.replace(H2, str(side.h2_port)).replace(H2S, str(side.tls_port))
    ran = subprocess.run(
        ["h2load", "-n", "300", "-c", "3", "-m", "10", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = {}
    for name in ("requests", "status codes"):
        match = re.search(rf"^{name}: (.*)$", ran.stdout, re.MULTILINE)
        assert match is not None, ran.stdout
        found[name] = match.group(1)
    return found


@pytest.mark.parametrize("url", [f"http://127.0.0.1:{H2}/api/load", f"https://127.0.0.1:{H2S}/api/load"])
def test_h2load(pair: H2Pair, url: str) -> None:
    (nginx, nginx_side), (hapair, hapair_side) = (
        side.observe(lambda s: h2load(s, url)) for side in pair.sides
    )
    assert hapair == nginx
    assert nginx["requests"].startswith("300 total, 300 started, 300 done, 300 succeeded")
    assert sorted(line.split()[0] for line in hapair_side.access) == ["200"] * 300
    assert len(nginx_side.access) == 300

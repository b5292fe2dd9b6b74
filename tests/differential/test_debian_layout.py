"""Acceptance of a Debian 12 node: Debian's packaged /etc/nginx with the seed's files added
(tests/debian_layout.py), run by `nginx` and by `hapair proxy` exactly as on the node, one test per step
of its life, in order: `-t`, the start (daemon on), the default site on :80, the seed's proxies on :8080
and :8443 (its backend, tests/differential/layout_backend.py, at the seed's address in a second network
namespace), `-s reload` after an edit, `-s quit`. Every step must pass with nginx and with hapair."""

from __future__ import annotations

import email.utils
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.certificates import Authority
from tests.debian_layout import DebianNode, missing_layout_requirements
from tests.netns import Namespace, unique_name
from tests.topology import wait_until

from .servers import HAPAIR, NGINX, missing_nginx
from .wire import Message, parse_responses

_MISSING = missing_nginx() or missing_layout_requirements()
pytestmark = [
    pytest.mark.oracle,
    pytest.mark.netns,
    pytest.mark.skipif(_MISSING is not None, reason=_MISSING or ""),
]

NODE, WEB = "10.101.1.11", "10.101.1.104"  # the lab's node 1 and the seed's backend host
BACKEND_SCRIPT = str(Path(__file__).with_name("layout_backend.py"))
TIMEOUT_S = 15.0
PAGE = "/var/www/html/index.nginx-debian.html"
ACCESS_LOG = "/var/log/nginx/keepalived.access.log"
PID_FILE = "/run/nginx.pid"


@dataclass
class Node:
    """A Debian node running `implementation` on the layout, and the seed's backend beside it."""

    implementation: str
    layout: DebianNode
    web: Namespace
    releases: Path
    backend_log: Path

    def proxy(self, *args: str) -> list[str]:
        """The command line of the load balancer, as typed on the node."""
        return [NGINX, *args] if self.implementation == "nginx" else [HAPAIR, "proxy", *args]

    def curl(self, url: str, *options: str) -> list[str]:
        return [
            "ip",
            "netns",
            "exec",
            self.layout.namespace.name,
            "curl",
            "-sS",
            "-i",
            "--raw",
            "-m",
            "10",
            *options,
            url,
        ]

    def get(self, url: str, *options: str) -> Message:
        """One request from the node itself (curl), and its response."""
        result = subprocess.run(self.curl(url, *options), check=False, capture_output=True, timeout=TIMEOUT_S)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        responses, _ = parse_responses(result.stdout)
        assert len(responses) == 1, result.stdout
        return responses[0]

    def start_get(self, url: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.curl(url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def backend_lines(self) -> list[str]:
        return self.backend_log.read_text().splitlines()

    def master_pid(self) -> int:
        return int(self.layout.path(PID_FILE).read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module", params=["nginx", "hapair"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    directory = tmp_path_factory.mktemp(f"debian-{request.param}")
    authority = Authority(directory)
    certificates = {"server": authority.issue("k8sapiserver"), "client": authority.issue("k8sapiclient")}
    backend_certificate, backend_key = authority.issue("k8sapi-backend")
    balancer, web = Namespace(unique_name("hdl")), Namespace(unique_name("hdw"))
    layout = None
    try:
        balancer.make()
        web.make()
        balancer.add_veth(
            "eth0", "eth0", addresses=[f"{NODE}/24"], peer_namespace=web, peer_addresses=[f"{WEB}/24"]
        )
        layout = DebianNode(directory / "node", balancer, certificates)
        releases = directory / "releases"
        releases.mkdir()
        backend_log = directory / "backend.txt"
        with open(backend_log, "wb") as log:
            backend = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    web.name,
                    sys.executable,
                    BACKEND_SCRIPT,
                    str(backend_certificate),
                    str(backend_key),
                    str(authority.certificate),
                    str(releases),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        node = Node(request.param, layout, web, releases, backend_log)
        wait_until(lambda: "ready" in node.backend_lines(), TIMEOUT_S, "the backend")
        yield node
        backend.kill()
        backend.wait()
    finally:
        if layout is not None:
            layout.kill_leftovers()
        for namespace in (balancer, web):
            namespace.delete()


def test_configuration_test_passes(node: Node) -> None:
    result = node.layout.run(node.proxy("-t"))
    assert result.returncode == 0, result.stdout
    assert "the configuration file /etc/nginx/nginx.conf syntax is ok" in result.stdout
    assert "configuration file /etc/nginx/nginx.conf test is successful" in result.stdout


def test_starts_in_the_background_and_returns_once_serving(node: Node) -> None:
    result = node.layout.run(node.proxy(), timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stdout
    assert _alive(node.master_pid())
    assert node.get("http://127.0.0.1/").status == 200


def _page() -> tuple[bytes, os.stat_result]:
    path = Path(__file__).parents[1] / "data" / "debian-nginx" / PAGE.lstrip("/")
    return path.read_bytes(), path.stat()


def test_serves_the_default_page_with_its_type_and_validators(node: Node) -> None:
    served = node.layout.path(PAGE)
    stat = served.stat()
    response = node.get("http://127.0.0.1/")
    assert response.status == 200
    assert response.body == served.read_bytes()
    assert response.header("content-type") == b"text/html"  # mime.types
    assert response.header("last-modified") == email.utils.formatdate(stat.st_mtime, usegmt=True).encode()
    assert response.header("etag") == b'"%x-%x"' % (int(stat.st_mtime), stat.st_size)


def test_answers_304_to_a_matching_etag(node: Node) -> None:
    etag = node.get("http://127.0.0.1/").header("etag")
    assert etag is not None
    response = node.get("http://127.0.0.1/", "-H", f"If-None-Match: {etag.decode()}")
    assert response.status == 304
    assert response.body == b""


def test_answers_206_to_a_range(node: Node) -> None:
    page = node.layout.path(PAGE).read_bytes()
    response = node.get("http://127.0.0.1/", "-H", "Range: bytes=0-9")
    assert response.status == 206
    assert response.header("content-range") == b"bytes 0-9/%d" % len(page)
    assert response.body == page[:10]


def test_compresses_the_page_when_asked(node: Node) -> None:
    response = node.get("http://127.0.0.1/", "-H", "Accept-Encoding: gzip")
    assert response.status == 200
    assert response.header("content-encoding") == b"gzip"
    assert gzip.decompress(response.body) == node.layout.path(PAGE).read_bytes()


def test_proxies_8080_as_the_seed_says(node: Node) -> None:
    response = node.get("http://127.0.0.1:8080/test.php")
    assert response.status == 200
    answer = json.loads(response.body)
    assert answer["port"] == 8080
    assert answer["path"] == "/test.php"
    headers = answer["headers"]
    assert headers["Host"] == "127.0.0.1:8080"  # $http_host
    assert headers["X-Real-IP"] == "127.0.0.1"
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "https"
    last = node.layout.path(ACCESS_LOG).read_text().splitlines()[-1]
    assert last.startswith("127.0.0.1 - - [") and '"GET /test.php HTTP/1.1" 200 ' in last, last


def test_proxies_8443_with_tls_both_ways(node: Node) -> None:
    response = node.get("https://127.0.0.1:8443/", "-k")
    assert response.status == 200
    answer = json.loads(response.body)
    assert answer["port"] == 8443
    assert answer["client_certificate"] == "k8sapiclient"  # proxy_ssl_certificate
    assert answer["headers"]["X-Forwarded-Proto"] == "https"


def _in_flight(node: Node, name: str) -> subprocess.Popen[bytes]:
    """A request to the backend's /slow/NAME, once the backend has it (it answers on release)."""
    request = node.start_get(f"http://127.0.0.1:8080/slow/{name}")
    arrived = f"slow {name}"
    wait_until(lambda: arrived in node.backend_lines() or request.poll() is not None, TIMEOUT_S, arrived)
    assert request.poll() is None, request.communicate()[1]
    return request


def _forwarded_proto(node: Node) -> str:
    return json.loads(node.get("http://127.0.0.1:8080/").body)["headers"]["X-Forwarded-Proto"]


def test_reload_applies_an_edit_without_failing_a_request_in_flight(node: Node) -> None:
    in_flight = _in_flight(node, "reload")
    conf = node.layout.path("/etc/nginx/conf.d/k8sapi.conf")
    conf.write_text(conf.read_text().replace("X-Forwarded-Proto https;", "X-Forwarded-Proto http;"))
    result = node.layout.run(node.proxy("-s", "reload"))
    assert result.returncode == 0, result.stdout
    wait_until(lambda: _forwarded_proto(node) == "http", TIMEOUT_S, "the edit to apply")
    (node.releases / "reload").touch()
    stdout, stderr = in_flight.communicate(timeout=TIMEOUT_S)
    assert in_flight.returncode == 0, stderr
    assert parse_responses(stdout)[0][0].status == 200


CURL_COULD_NOT_CONNECT = 7


def _refused(node: Node) -> bool:
    result = subprocess.run(
        node.curl("http://127.0.0.1/"), check=False, capture_output=True, timeout=TIMEOUT_S
    )
    return result.returncode == CURL_COULD_NOT_CONNECT


def test_quit_drains_and_exits(node: Node) -> None:
    master = node.master_pid()
    in_flight = _in_flight(node, "quit")
    result = node.layout.run(node.proxy("-s", "quit"))
    assert result.returncode == 0, result.stdout
    wait_until(lambda: _refused(node), TIMEOUT_S, "the listening sockets to close")
    assert _alive(master)  # draining
    (node.releases / "quit").touch()
    stdout, stderr = in_flight.communicate(timeout=TIMEOUT_S)
    assert in_flight.returncode == 0, stderr
    assert parse_responses(stdout)[0][0].status == 200
    wait_until(lambda: not _alive(master), TIMEOUT_S, "the master to exit")
    assert not node.layout.path(PID_FILE).exists()

"""The seed's three nginx files run by `hapair proxy` on a LAN of network namespaces: a client, the load
balancer and two backends (tests/system/proxy_backend.py, answering their host name). Each seed file is
adapted (tests/config/nginx/seed_configs.py: logs, certificates, backend addresses; its upstream given
both backends) and included by a small main file that sets the pid file."""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.certificates import Authority, KeyPair
from tests.config.nginx.seed_configs import SEED_HTTP, SEED_STREAM, adapted
from tests.topology import HAPAIR, Daemon, Host, Lan, wait_until

pytestmark = pytest.mark.netns

BACKEND_SCRIPT = str(Path(__file__).with_name("proxy_backend.py"))
LB, CLIENT = "192.168.13.2", "192.168.13.10"
BACKENDS = {"backend1": "192.168.13.104", "backend2": "192.168.13.105"}
START_TIMEOUT_S = 15
COMBINED = re.compile(
    r"^192\.168\.13\.10 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "
    r'"GET / HTTP/1\.1" 200 \d+ "-" "curl/[^"]+"$'
)
K8SAPILOGS = re.compile(
    r"^\[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] 192\.168\.13\.10:\d+ 192\.168\.13\.2:8080 "
    r"TCP 200 \d+ \d+ \d+\.\d{3}$"
)


def make_certificates(directory: Path) -> dict[str, KeyPair]:
    """A CA (its pair under "ca") and, signed by it, "server", "client" and "backend" pairs."""
    authority = Authority(directory)
    pairs = {name: authority.issue(f"k8sapi-{name}") for name in ("server", "client", "backend")}
    return {"ca": (authority.certificate, authority.key), **pairs}


@dataclass
class Lab:
    lan: Lan
    directory: Path
    client: Host
    balancer: Host
    backends: dict[str, Daemon]
    certificates: dict[str, tuple[Path, Path]]

    def run_proxy(self, seed: str, *, http: bool) -> Daemon:
        """`hapair proxy` on the balancer with the seed file `seed` adapted, its upstreams given both
        backends."""
        logs = self.directory / "logs"
        logs.mkdir(exist_ok=True)
        first = BACKENDS["backend1"]
        text = adapted(seed, logs, self.certificates["server"], self.certificates["client"], first)
        text = re.sub(
            rf"server {re.escape(first)}:(\d+);",
            lambda m: f"server {first}:{m[1]};\n    server {BACKENDS['backend2']}:{m[1]};",
            text,
        )
        (self.directory / "seed.conf").write_text(text)
        inner = "http { include seed.conf; }" if http else "include seed.conf;"
        main = self.directory / "nginx.conf"
        main.write_text(f"pid {self.directory}/nginx.pid;\nevents {{}}\n{inner}\n")
        command = [HAPAIR, "proxy", "-c", str(main), "-g", "daemon off;"]
        daemon = self.balancer.start(command, log_name="proxy.log")
        port = "8443" if "8443" in seed and http else "8080"
        wait_until(lambda: self.client.run(["bash", "-c", f"</dev/tcp/{LB}/{port}"]).returncode == 0,
                   START_TIMEOUT_S, "the proxy to listen")  # fmt: skip
        return daemon

    def curl(self, url: str) -> str:
        result = self.client.run(["curl", "-sS", "-m", "10", "-k", url])
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def access_log(self) -> list[str]:
        path = self.directory / "logs" / "keepalived.access.log"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def lab(lan: Lan, tmp_path: Path) -> Iterator[Lab]:
    certificates = make_certificates(tmp_path)
    client = lan.host("client", CLIENT)
    balancer = lan.host("lb", LB)
    backend_cert, backend_key = certificates["backend"]
    backends = {}
    for name, address in BACKENDS.items():
        host = lan.host(name, address)
        args = [sys.executable, BACKEND_SCRIPT, name, str(backend_cert), str(backend_key)]
        backends[name] = host.start([*args, str(certificates["ca"][0])], log_name=f"{name}.log")
    for backend in backends.values():
        backend.wait_for("ready", START_TIMEOUT_S)
    yield Lab(lan, tmp_path, client, balancer, backends, certificates)


def test_l7_config_round_robins_between_the_backends_with_combined_logs(lab: Lab) -> None:
    lab.run_proxy(SEED_HTTP, http=True)
    answers = [lab.curl(f"http://{LB}:8080/") for _ in range(4)]
    assert answers in (["backend1", "backend2"] * 2, ["backend2", "backend1"] * 2)
    wait_until(lambda: len(lab.access_log()) == 4, START_TIMEOUT_S, "4 access log lines")
    assert all(COMBINED.match(line) for line in lab.access_log()), lab.access_log()


def test_https_config_presents_the_client_certificate_to_the_backends(lab: Lab) -> None:
    lab.run_proxy(SEED_HTTP, http=True)
    answers = {lab.curl(f"https://{LB}:8443/") for _ in range(4)}
    assert answers == {"backend1", "backend2"}


def test_stream_config_relays_with_its_log_format(lab: Lab) -> None:
    lab.run_proxy(SEED_STREAM, http=False)
    answers = {lab.curl(f"http://{LB}:8080/") for _ in range(4)}
    assert answers == {"backend1", "backend2"}
    # the probe that saw the proxy listen was a session too
    wait_until(lambda: len(lab.access_log()) == 5, START_TIMEOUT_S, "5 access log lines")
    assert all(K8SAPILOGS.match(line) for line in lab.access_log()), lab.access_log()


def test_a_dead_backend_costs_no_request(lab: Lab) -> None:
    lab.run_proxy(SEED_HTTP, http=True)
    lab.backends["backend1"].signal(signal.SIGKILL)
    lab.backends["backend1"].process.wait()
    answers = [lab.curl(f"http://{LB}:8080/") for _ in range(6)]
    assert answers == ["backend2"] * 6

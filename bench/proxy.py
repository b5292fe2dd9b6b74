"""Load-balancer throughput: hapair, nginx and HAProxy on the seed's configurations, in one run, with wrk
from a client namespace, and the same straight to a backend as the ceiling.

    sudo .venv/bin/python bench/proxy.py [--duration 10] [--connections 50] [--bulk-connections 4]
                                         [--bulk-bytes 2000000000] [--only nginx,haproxy,hapair,floor]
                                         [--columns l7,h2,l4,l4-bulk,sni,tls,udp] [--logs DIR]

The LAN is tests/topology.py's: a client (10.101.1.100), a load balancer (10.101.1.11) and two backends
(10.101.1.21 and .22); this script puts the repository root on sys.path to import `tests.topology` and
the seed's files from `tests.config.nginx.seed_configs`. Needs root, iproute2, ss, wrk, nginx (with the
stream module), haproxy.

Backends: nginx on :8080 answering GET /ok with "ok\\n" (`return 200`, no access log) and GET /bulk with a
10 MB file (sendfile), and bench/proxy_tcp.py's `source` on :9000, which sends zeros from memory with
sendfile(2) for as long as the reader reads.

Load balancers, one at a time on the same namespace, each with as many workers/threads as the machine
has cores:
- nginx: `nginx -p DIR -c nginx.conf -g 'daemon off;'`, where nginx.conf has `worker_processes`, `pid`,
  `error_log`, `events {}` and `http { include conf.d/k8sapi.conf; }` (L7) or `load_module` and
  `include tcpconf.d/k8sapi.conf;` (L4). Those two files are the seed's, verbatim except: the L7 file is
  its first half (the 8080 server and its upstream; the 8443 one needs certificates and is not measured),
  its log directory is the run's, and the upstream's one server becomes the two backends.
- hapair: `hapair proxy -p DIR -c nginx.conf -g 'daemon off;'`, the same files, with the per-request
  modules compiled by mypyc if tools/build-extensions built them (./run does).
- hapair-pure: the same with HAPAIR_PURE_PYTHON=1, every module as Python: what compiling gives, measured
  in the same run.
- nginx and hapair again, the L7 test only, on Debian's packaged /etc/nginx (tests/data/debian-nginx:
  nginx.conf with `user www-data`, `worker_processes auto`, mime.types, gzip on, the http-level access
  log, sites-enabled/default on :80) with the seed's L7 file in its conf.d: the cost of running the files
  a Debian node has, beside the bare seed file's row. Paths are moved into the run's directory. Each runs
  twice, alternating with two more runs on the seed's file (seed, Debian, Debian, seed): the Debian row
  and the "seed's file beside Debian's" row are the means of their two runs, the comparison to make.
- hapair again, the L7 test only, with `--metrics 127.0.0.1:9113` (hapair's own Prometheus metrics,
  nothing scraping), measured just before hapair's own row: what counting them costs, beside the row
  without.
- HAProxy: `haproxy -db -f haproxy.cfg`, written to match: L7 `mode http`, roundrobin over the two
  backends, `option forwardfor`, X-Real-IP and X-Forwarded-Proto set as the seed does, Host passed as is,
  timeouts as nginx's with the seed's `proxy_read_timeout 90` (connect 60 s, server 90 s, client 60 s,
  keep-alive 75 s); L4 `mode tcp`, connect 60 s, client/server 10 min (nginx's `proxy_timeout`). No
  access log (the seed's nginx writes one per request; that is part of what nginx and hapair cost here).
- floor: bench/floor_proxy.py, the least a proxy on hapair's stack (asyncio Protocols on uvloop,
  httptools) does per request, with the same workers and backends: not a load balancer (no logging,
  timeouts, retries, limits or back-pressure), the bound hapair's own figures can be held against.
- Upstream connections: the seed's upstream has no `keepalive`, so nginx opens a connection to a backend
  for each request (HTTP/1.0, closed at the response's end); hapair keeps them whatever the file says (a
  difference docs/nginx-differences.md gives), HAProxy reuses them (`http-reuse safe`, its default) and
  the floor keeps one per client connection. Each load balancer's L7 test runs again the other way, in a
  row of its own: nginx and hapair with nginx's recipe for kept connections (`keepalive 32`,
  `proxy_http_version 1.1`, an empty Connection header; for hapair, nginx's limits on them), HAProxy
  with `option http-server-close` and the floor with `l7-close` (a connection per request).

Tests, for each load balancer (and the direct row, to backend 1):
- L7 req/s and p99: `wrk -t2 -c50 -d10s --latency http://LB:8080/ok` through the seed's http server;
- L7 CPU: the CPU time (user and system) the load balancer's processes used during the L7 test, divided
  by the requests answered, in microseconds: what a request costs it, which the other processes sharing
  the cores change much less than the rates (the kernel's work for the sockets counts where the load
  balancer's own system calls do it, as on loopback most of the receiving side's does);
- L7 bulk: wrk with --bulk-connections on /bulk; MB/s = responses/s x 10 MB (MB = 10^6 bytes);
- new connections/s: the L7 test with `Connection: close` on every request (wrk opens a connection per
  request: the accept, the request and the close each time); the direct row is the backend's rate;
- idle memory: bench/proxy_tcp.py's `hold` opens 10,000 keep-alive connections, sends GET /ok on each and
  reads the answer, then leaves them idle; the figure is the growth of the resident memory (VmRSS summed
  over every process in the load balancer's namespace) from before the connections to once they are all
  held, in MB (10^6 bytes). The kernel's socket memory is the same for every load balancer and not
  counted. For this the load balancers may hold 16,384 connections a worker (nginx and hapair:
  `worker_connections 16384`, `worker_rlimit_nofile` at the machine's hard RLIMIT_NOFILE; HAProxy:
  `maxconn 11000`), and the bench raises its own (inherited) soft RLIMIT_NOFILE to the hard one;
- L4 req/s and p99: the same wrk on /ok through the seed's stream server; L4 CPU: its CPU time per
  request, as L7 CPU (each of wrk's connections a session, its requests relayed as bytes). Each load
  balancer's L4 cells are the means of --l4-runs runs (3): one in its row's turn, the others once every
  row is measured, the load balancers in turn and in reverse order every other round (A B C, C B A...).
  At L4 both nginx and hapair spend about 95 % of a request in the kernel, one recv and one send a
  message, so their rates are close and one run's moves by up to 10 % with how the threads share the
  cores: one run each decided which was ahead by chance;
- L4 bulk: the stream server's upstream moved to the backends' :9000 (the only change), and
  bench/proxy_tcp.py's `sink` in the client reading --bulk-bytes through it: MB/s.
- SNI bulk: the same, routed by SNI without terminating TLS: the client sends a TLS ClientHello for
  `a.example` first, the stream server reads it with `ssl_preread on` and a `map` of
  `$ssl_preread_server_name` gives the upstream group (`proxy_pass $k8s_api_sni`); HAProxy does the same
  with `tcp-request inspect-delay`, `req_ssl_hello_type 1` and `use_backend ... if { req_ssl_sni -i
  a.example }`. The floor has no SNI routing.
- TLS bulk: the L4 bulk path with TLS terminated by the load balancer: the stream server's `listen 8080
  ssl` with a certificate (nginx 1.22's default protocols: TLS 1.2, the cipher both sides prefer), HAProxy's
  `bind :8080 ssl crt`; bench/proxy_tcp.py's `tls-sink` reads --bulk-bytes through TLS: MB/s. What
  relaying after the handshake costs hapair: Python's `ssl` gives no kernel TLS, so every byte is
  decrypted or encrypted by OpenSSL in the worker and copied through Python (the splice path is for plain
  TCP only). The direct row and the floor have no TLS figure.
- UDP q/s: a UDP stream server (`listen 8080 udp; proxy_responses 1;`, round-robin over the two
  backends' bench/proxy_tcp.py `echo` on :5353, added beside the seed's TCP server) and `ask` keeping one
  50-byte query in flight on each of 32 sockets for --duration seconds: answers/s. Each query is a
  session of its own, as a DNS client's. HAProxy 2.6 does not proxy UDP: "-". The floor's figure is
  floor_proxy.py's `udp`: nginx's system calls for such a session and no more.
- UDP CPU: the load balancer's CPU time per answer during the UDP test, in microseconds, as L7 CPU.
- h2 req/s: `h2load -c1 -m100 -D <duration>` on https://LB:8443/ok, one TLS connection with 100 streams
  at a time, through the seed's 8443 server with `http2` on its `listen` (its TLS settings as they are,
  a certificate made for the run, `keepalive_requests` raised so that one connection lasts the test:
  nginx's 1000 would end it with GOAWAY after a tenth of a second) and its location proxying to the 8080
  upstream as the L7 test does (the seed's sends to an HTTPS upstream with a client certificate);
  HAProxy with `bind :8443 ssl crt ... alpn h2,http/1.1` in front of the same backend. The floor has no
  HTTP/2. h2 CPU: the load balancer's CPU time over h2load's run divided by the requests of its warm-up
  second and its measured ones (the warm-up's counted at the measured rate), as L7 CPU.
Each configuration, once started (and the direct row's too), gets a warm-up first: 1 s of wrk on /ok,
or 100 MB through the L4 bulk path. wrk's socket errors and non-2xx answers are
listed under the table. hapair's row says "not available: <reason>" when `hapair proxy` does not start.

--columns measures only the columns named (l7 covers L7 req/s, p99 and bulk, new conn/s and idle memory,
and brings the `--metrics` and Debian rows; the others one column each); the other cells say "-". By
default all are measured.

Everything runs in namespaces and a temporary directory (--logs keeps the configurations and logs), all
removed at the end, also after Ctrl-C or SIGTERM; what the bench started is stopped by PID.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import harness  # noqa: E402  (bench/, the script's own directory)
from tests.certificates import self_signed  # noqa: E402
from tests.config.nginx.seed_configs import SEED_HTTP, SEED_STREAM  # noqa: E402
from tests.topology import HAPAIR, Daemon, Host, Lan, missing_lab_requirements, wait_until  # noqa: E402

TCP_HELPER = Path(__file__).resolve().with_name("proxy_tcp.py")
DEBIAN_FILES = REPO / "tests" / "data" / "debian-nginx" / "etc" / "nginx"
FLOOR = Path(__file__).resolve().with_name("floor_proxy.py")
CLIENT_ADDRESS = "10.101.1.100"
LB_ADDRESS = "10.101.1.11"
BACKEND_ADDRESSES = ("10.101.1.21", "10.101.1.22")
PORT = 8080  # the seed's listen port, and its upstream's
H2_PORT = 8443  # the seed's TLS server's, here with HTTP/2
H2_STREAMS = 100
H2_WARM_UP_S = 1  # h2load's --warm-up-time
H2_REQUESTS = (
    1_000_000_000  # nginx sends GOAWAY after keepalive_requests (1000) streams: one connection all along
)
SOURCE_PORT = 9000
BULK_BODY_BYTES = 10_000_000
MB = 1_000_000
CORES = os.cpu_count() or 1
WORKER_CONNECTIONS = 16384
IDLE_CONNECTIONS = 10_000
OPEN_FILES = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # the hard limit: the most a daemon may open
HOLD_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_S = 15.0
WARM_UP_S = 1
L4_RUNS = 3
WARM_UP_BYTES = 100 * MB
SNI_NAME = "a.example"
UDP_PORT = 5353
UDP_SOCKETS = 32
SEED_BACKEND = "192.168.13.104"
SEED_LOG_DIRECTORY = "/var/log/nginx/"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
IMPLEMENTATIONS = ("nginx", "haproxy", "hapair", "hapair-pure", "floor")
COLUMNS = ("l7", "h2", "l4", "l4-bulk", "sni", "tls", "udp")
READ_NGINX_FILES = ("nginx", "hapair")  # the ones measured a second time in Debian's layout
# The L7 test again with upstream connections the other way: with the seed's file (no `keepalive` in its
# upstream) nginx opens one per request, hapair and HAProxy reuse them, the floor keeps one per client
# connection.
VARIANTS = {
    "nginx": ("l7-keepalive", "upstream keepalive 32"),
    "hapair": ("l7-keepalive", "upstream keepalive 32"),
    "hapair-pure": ("l7-keepalive", "upstream keepalive 32"),
    "haproxy": ("l7-close", "a server connection per request"),
    "floor": ("l7-close", "an upstream connection per request"),
}
METRICS_ADDRESS = "127.0.0.1:9113"  # hapair's --metrics, in a row of its own
LATENCY_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
P99 = re.compile(r"^\s*99(?:\.000)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
SOCKET_ERRORS = re.compile(r"Socket errors: (.*)")
NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
H2LOAD_RATE = re.compile(r"^finished in [\d.]+\w+, ([\d.]+) req/s", re.MULTILINE)
H2LOAD_REQUESTS = re.compile(r"^requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded", re.MULTILINE)


# ----- measurements


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p99_ms: float
    problems: str  # wrk's socket errors and non-2xx count, "" when there were none


@dataclass
class Row:
    """One line of the table: the figures of one load balancer (None: not measured)."""

    name: str
    l7: WrkResult | None = None
    l7_bulk_mb_s: float | None = None
    l4: WrkResult | None = None
    l4_bulk_mb_s: float | None = None
    sni_bulk_mb_s: float | None = None
    tls_bulk_mb_s: float | None = None
    udp_queries_s: float | None = None
    udp_cpu_us: float | None = None  # the load balancer's CPU time per UDP answer, in microseconds
    h2_requests_per_second: float | None = None
    h2_cpu_us: float | None = None  # per h2 request (stream), in microseconds
    l4_cpu_us: float | None = None  # per L4 request, in microseconds
    l7_cpu_us: float | None = None  # the load balancer's CPU time per L7 request, in microseconds
    new_connections_s: float | None = None
    idle_mb: float | None = None
    unavailable: str = ""
    notes: list[str] = field(default_factory=list)
    l4_runs: list[WrkResult] = field(default_factory=list)  # `l4` is their mean
    l4_cpu_runs: list[float] = field(default_factory=list)  # `l4_cpu_us` is their mean


def run_to_end(host: Host, args: Sequence[str], timeout: float) -> str:
    """Run `args` in `host` and return its stdout; killed (by PID) if anything interrupts the wait."""
    process = subprocess.Popen(
        ["ip", "netns", "exec", host.namespace.name, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed ({process.returncode}): {stderr.strip()}")
    return stdout


def parse_wrk(output: str) -> WrkResult:
    rate = REQUESTS_PER_SECOND.search(output)
    p99 = P99.search(output)
    if rate is None or p99 is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    problems = []
    if errors := SOCKET_ERRORS.search(output):
        problems.append(f"socket errors: {errors.group(1).strip()}")
    if non_2xx := NON_2XX.search(output):
        problems.append(f"{non_2xx.group(1)} non-2xx/3xx responses")
    return WrkResult(
        float(rate.group(1)), float(p99.group(1)) * LATENCY_UNITS[p99.group(2)], "; ".join(problems)
    )


def wrk(client: Host, url: str, connections: int, duration: int, *, close: bool = False) -> WrkResult:
    """`close`: every request says `Connection: close`, so each is a new connection."""
    threads = min(CORES, connections)
    headers = ["-H", "Connection: close"] if close else []
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", *headers, url]
    return parse_wrk(run_to_end(client, args, timeout=duration + 60))


def namespace_pids(host: Host) -> list[int]:
    command = ["ip", "netns", "pids", host.namespace.name]
    listing = subprocess.run(command, check=True, capture_output=True, text=True)
    return [int(pid) for pid in listing.stdout.split()]


def namespace_rss(host: Host) -> int:
    """The resident memory, in bytes, of every process running in `host`'s namespace."""
    found = (harness.memory_of(pid) for pid in namespace_pids(host))
    return sum(memory.rss for _, memory in filter(None, found))


def namespace_cpu_s(host: Host) -> float:
    """The CPU time (user and system, seconds) used so far by the processes running in `host`'s namespace;
    the kernel's network work on their behalf counts in it when their own system calls do it."""
    return sum(filter(None, (harness.cpu_time_s(pid) for pid in namespace_pids(host))))


def idle_memory_mb(lab: Lab, address: str) -> float:
    """How much the load balancer's memory grows while the client holds IDLE_CONNECTIONS idle."""
    before = namespace_rss(lab.lb)
    command = [sys.executable, str(TCP_HELPER), "hold", address, str(PORT), str(IDLE_CONNECTIONS)]
    holder = lab.client.start(command, log_name="hold.log")
    try:
        holder.wait_for(f"held {IDLE_CONNECTIONS}", HOLD_TIMEOUT_S)
        return (namespace_rss(lab.lb) - before) / MB
    finally:
        holder.stop(timeout=10)


def tls_sink_mb_s(client: Host, address: str, port: int, total: int) -> float:
    output = run_to_end(
        client, [sys.executable, str(TCP_HELPER), "tls-sink", address, str(port), str(total)], 600
    )
    received, seconds = output.split()
    return int(received) / float(seconds) / MB


def udp_queries(client: Host, address: str, port: int, duration: int) -> tuple[int, float]:
    """The answers `ask` had in `duration` seconds, and the seconds it took."""
    command = [sys.executable, str(TCP_HELPER), "ask", address, str(port), str(duration), str(UDP_SOCKETS)]
    answers, seconds = run_to_end(client, command, duration + 60).split()
    return int(answers), float(seconds)


def h2load(client: Host, url: str, duration: int) -> tuple[float, str]:
    """Requests per second over one connection with H2_STREAMS streams at a time, and what failed."""
    args = ["h2load", "-c1", f"-m{H2_STREAMS}", f"-D{duration}", f"--warm-up-time={H2_WARM_UP_S}", url]
    output = run_to_end(client, args, timeout=duration + 60)
    rate, requests = H2LOAD_RATE.search(output), H2LOAD_REQUESTS.search(output)
    if rate is None or requests is None:
        raise RuntimeError(f"unexpected h2load output:\n{output}")
    total, succeeded = int(requests.group(1)), int(requests.group(2))
    return float(
        rate.group(1)
    ), f"{total - succeeded} of {total} requests failed" if total != succeeded else ""


def sink_mb_s(client: Host, address: str, port: int, total: int, server_name: str = "") -> float:
    command = [sys.executable, str(TCP_HELPER), "sink", address, str(port), str(total)]
    output = run_to_end(client, [*command, server_name] if server_name else command, 600)
    received, seconds = output.split()
    return int(received) / float(seconds) / MB


# ----- configurations


def replaced(text: str, old: str, new: str) -> str:
    if old not in text:
        raise RuntimeError(f"the seed's file no longer has {old!r}")
    return text.replace(old, new)


def seed_http_8080(logs: Path) -> str:
    """The seed's conf.d/k8sapi.conf up to its 8443 part, adapted."""
    text = SEED_HTTP[: SEED_HTTP.index("upstream k8s-api-8443")]
    text = replaced(text, SEED_LOG_DIRECTORY, f"{logs}/")
    return replaced(text, f"server {SEED_BACKEND}:{PORT};", backend_lines(PORT, indent="    "))


def seed_https_h2(logs: Path, certificate: Path, key: Path) -> str:
    """The seed's 8443 server with HTTP/2 on its listen, the run's certificate, and its location sending
    to the 8080 upstream (the seed's goes to an HTTPS upstream with a client certificate)."""
    text = SEED_HTTP[SEED_HTTP.index("server {\n    listen 8443 ssl;") :]
    text = replaced(
        text, "listen 8443 ssl;", f"listen {H2_PORT} ssl http2;\n    keepalive_requests {H2_REQUESTS};"
    )
    text = replaced(text, "/etc/ssl/certs/k8sapiserver.crt", str(certificate))
    text = replaced(text, "/etc/ssl/private/k8sapiserver.key", str(key))
    text = replaced(text, SEED_LOG_DIRECTORY, f"{logs}/")
    kept = [line for line in text.splitlines() if "proxy_ssl_" not in line]
    return replaced(
        "\n".join(kept) + "\n", "proxy_pass          https://k8s-api-8443;", "proxy_pass http://k8s-api-8080;"
    )


def seed_stream(logs: Path, backend_port: int) -> str:
    text = replaced(SEED_STREAM, SEED_LOG_DIRECTORY, f"{logs}/")
    return replaced(text, f"server {SEED_BACKEND}:{PORT};", backend_lines(backend_port, indent="\t"))


def seed_stream_sni(logs: Path) -> str:
    """The seed's stream file routing by SNI: its upstream (on the sources) chosen by a map of the
    ClientHello's server name, read with ssl_preread."""
    text = replaced(
        seed_stream(logs, SOURCE_PORT), "proxy_pass k8s-api;", "ssl_preread on;\n\tproxy_pass $k8s_api_sni;"
    )
    return replaced(
        text,
        "    server {",
        f"    map $ssl_preread_server_name $k8s_api_sni {{ {SNI_NAME} k8s-api; }}\n    server {{",
    )


def seed_stream_tls(logs: Path, certificate: Path, key: Path) -> str:
    """The seed's stream file (upstream on the sources) terminating TLS on its listen."""
    return replaced(
        seed_stream(logs, SOURCE_PORT),
        f"listen {PORT};",
        f"listen {PORT} ssl;\n\tssl_certificate {certificate};\n\tssl_certificate_key {key};",
    )


def seed_stream_udp(logs: Path) -> str:
    """The seed's stream file with a UDP server beside its TCP one, to the backends' echo."""
    udp = (
        f"    upstream udp-echo {{ {backend_lines(UDP_PORT, indent=' ')} }}\n"
        f"    server {{ listen {PORT} udp; proxy_pass udp-echo; proxy_responses 1; proxy_timeout 10s; }}\n"
    )
    return replaced(seed_stream(logs, PORT), "    server {", f"{udp}    server {{")


def backend_lines(port: int, indent: str) -> str:
    """The upstream's `server` lines for the two backends; the first takes the seed line's own indent."""
    return "\n".join(f"{indent}server {address}:{port};" for address in BACKEND_ADDRESSES).lstrip()


def nginx_main(directory: Path, modules: str, body: str) -> str:
    return (
        f"{modules}"
        f"worker_processes {CORES};\n"
        f"pid {directory}/lb.pid;\n"
        f"error_log {directory}/lb.error.log;\n"
        f"worker_rlimit_nofile {OPEN_FILES};\n"
        f"events {{ worker_connections {WORKER_CONNECTIONS}; }}\n"
        f"{body}"
    )


def haproxy_config(
    mode: str,
    backend_port: int,
    *,
    sni: bool = False,
    tls: Path | None = None,
    h2: Path | None = None,
    server_close: bool = False,
) -> str:
    """`tls`: the certificate and key (one PEM) the frontend terminates TLS with; `h2`: the same for a
    second frontend, on H2_PORT with HTTP/2; `server_close`: a server connection per request, as nginx
    without `keepalive` (`option http-server-close`)."""
    http = mode == "http"
    h2_lines = [
        "frontend k8sapi-h2",
        f"    bind :{H2_PORT} ssl crt {h2} alpn h2,http/1.1",
        "    default_backend k8s-api",
    ]
    sni_lines = [
        "    tcp-request inspect-delay 5s",
        "    tcp-request content accept if { req_ssl_hello_type 1 }",
        f"    use_backend k8s-api if {{ req_ssl_sni -i {SNI_NAME} }}",
    ]
    lines = [
        "global",
        f"    nbthread {CORES}",
        f"    maxconn {IDLE_CONNECTIONS + 1000}",
        "    no strict-limits",  # it asks for 2 descriptors a connection; the idle ones need one
        "defaults",
        f"    mode {mode}",
        "    timeout connect 60s",
        *(
            ["    timeout client 60s", "    timeout http-keep-alive 75s", "    timeout server 90s"]
            if http
            else ["    timeout client 10m", "    timeout server 10m"]
        ),
        "frontend k8sapi",
        f"    bind :{PORT}" + (f" ssl crt {tls}" if tls is not None else ""),
        *(sni_lines if sni else ["    default_backend k8s-api"]),
        *(h2_lines if h2 is not None else []),
        "backend k8s-api",
        "    balance roundrobin",
        *(["    option http-server-close"] if server_close else []),
        *(
            [
                "    option forwardfor",
                "    http-request set-header X-Real-IP %[src]",
                "    http-request set-header X-Forwarded-Proto https",
            ]
            if http
            else []
        ),
        *(
            f"    server backend{n} {address}:{backend_port}"
            for n, address in enumerate(BACKEND_ADDRESSES, 1)
        ),
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Configs:
    """The files of one test for every load balancer: (nginx/hapair's nginx.conf, haproxy.cfg)."""

    nginx: Path
    haproxy: Path


def write_configs(directory: Path) -> dict[str, Configs]:
    """The L7, L4 and L4-bulk configurations, written under `directory`; by test name."""
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    (directory / "conf.d").mkdir(exist_ok=True)
    (directory / "tcpconf.d").mkdir(exist_ok=True)
    (directory / "conf.d" / "k8sapi.conf").write_text(seed_http_8080(logs))
    (directory / "tcpconf.d" / "k8sapi.conf").write_text(seed_stream(logs, PORT))
    (directory / "tcpconf.d" / "k8sapi-bulk.conf").write_text(seed_stream(logs, SOURCE_PORT))
    (directory / "tcpconf.d" / "k8sapi-sni.conf").write_text(seed_stream_sni(logs))
    certificate, key = self_signed(directory, "lb.example")
    pem = directory / "lb.example.pem"
    pem.write_bytes(certificate.read_bytes() + key.read_bytes())
    (directory / "conf.d" / "k8sapi-h2.conf").write_text(seed_https_h2(logs, certificate, key))
    (directory / "tcpconf.d" / "k8sapi-tls.conf").write_text(seed_stream_tls(logs, certificate, key))
    (directory / "tcpconf.d" / "k8sapi-udp.conf").write_text(seed_stream_udp(logs))
    stream = f"load_module {STREAM_MODULE};\n"
    bodies = {
        "l7": (
            "",
            f"http {{\n{temp_paths(directory / 'temp')}    include {directory}/conf.d/k8sapi.conf;\n}}\n",
            "http",
            PORT,
        ),
        "h2": (
            "",
            f"http {{\n{temp_paths(directory / 'temp')}    include {directory}/conf.d/k8sapi.conf;\n"
            f"    include {directory}/conf.d/k8sapi-h2.conf;\n}}\n",
            "http",
            PORT,
        ),
        "l4": (stream, f"include {directory}/tcpconf.d/k8sapi.conf;\n", "tcp", PORT),
        "l4-bulk": (stream, f"include {directory}/tcpconf.d/k8sapi-bulk.conf;\n", "tcp", SOURCE_PORT),
        "l4-sni": (stream, f"include {directory}/tcpconf.d/k8sapi-sni.conf;\n", "tcp", SOURCE_PORT),
        "l4-tls": (stream, f"include {directory}/tcpconf.d/k8sapi-tls.conf;\n", "tcp", SOURCE_PORT),
        "l4-udp": (stream, f"include {directory}/tcpconf.d/k8sapi-udp.conf;\n", "tcp", PORT),
    }
    configs = {}
    for test, (modules, body, mode, backend_port) in bodies.items():
        nginx = directory / f"nginx-{test}.conf"
        nginx.write_text(nginx_main(directory, modules, body))
        haproxy = directory / f"haproxy-{test}.cfg"
        tls = pem if test == "l4-tls" else None
        h2 = pem if test == "h2" else None
        haproxy.write_text(haproxy_config(mode, backend_port, sni=test == "l4-sni", tls=tls, h2=h2))
        configs[test] = Configs(nginx, haproxy)
    configs["l7-debian"] = Configs(debian_layout(directory, logs), configs["l7"].haproxy)
    configs["l7-keepalive"] = Configs(
        upstream_keepalive(directory, configs["l7"].nginx), configs["l7"].haproxy
    )
    server_close = directory / "haproxy-l7-close.cfg"
    server_close.write_text(haproxy_config("http", PORT, server_close=True))
    configs["l7-close"] = Configs(configs["l7"].nginx, server_close)
    return configs


def upstream_keepalive(directory: Path, l7: Path) -> Path:
    """The L7 configuration with nginx's documented recipe for kept upstream connections: `keepalive 32`
    in the upstream, `proxy_http_version 1.1` and an empty Connection header in the location."""
    seed = directory / "conf.d" / "k8sapi.conf"
    kept = directory / "conf.d" / "k8sapi-keepalive.conf"
    text = replaced(
        seed.read_text(), "upstream k8s-api-8080 {\n", "upstream k8s-api-8080 {\n    keepalive 32;\n"
    )
    location = '      proxy_set_header   Connection        "";\n      proxy_http_version  1.1;\n'
    kept.write_text(replaced(text, "      proxy_pass ", location + "      proxy_pass "))
    nginx = directory / "nginx-l7-keepalive.conf"
    nginx.write_text(replaced(l7.read_text(), str(seed), str(kept)))
    return nginx


def temp_paths(directory: Path) -> str:
    """Temporary files (bodies the proxy buffers to disk) in the run's directory rather than the
    machine's /var/lib/nginx, where each run would leave directories owned by its workers' user."""
    directory.mkdir(parents=True, exist_ok=True)  # nginx makes the last component only
    return "".join(f"    {name}_temp_path {directory}/{name};\n" for name in ("client_body", "proxy"))


def debian_layout(directory: Path, logs: Path) -> Path:
    """Debian's packaged /etc/nginx (nginx.conf, mime.types, modules-enabled, sites-enabled/default) under
    `directory`/debian, with the seed's L7 file in its conf.d; paths moved into the run's directory and
    the temporary paths set there, nothing else changed. Returns its nginx.conf."""
    etc = directory / "debian" / "etc" / "nginx"
    shutil.copytree(DEBIAN_FILES, etc)
    (etc / "conf.d").mkdir()
    (etc / "conf.d" / "k8sapi.conf").write_text(seed_http_8080(logs))
    (etc / "conf.d" / "temp-paths.conf").write_text(temp_paths(directory / "debian" / "temp"))
    (etc / "sites-enabled").mkdir()
    (etc / "sites-enabled" / "default").symlink_to(etc / "sites-available" / "default")
    (etc / "modules-enabled" / "50-mod-stream.conf").write_text(f"load_module {STREAM_MODULE};\n")
    conf = etc / "nginx.conf"
    text = replaced(conf.read_text(), "/etc/nginx/", f"{etc}/")
    text = replaced(text, "/var/log/nginx/", f"{logs}/")
    conf.write_text(replaced(text, "/run/nginx.pid", f"{directory}/lb.pid"))
    return conf


def backend_nginx_config(directory: Path, address: str, www: Path) -> str:
    return (
        f"worker_processes {CORES};\n"
        f"pid {directory}/backend-{address}.pid;\n"
        f"error_log {directory}/backend-{address}.error.log;\n"
        f"events {{ worker_connections {WORKER_CONNECTIONS}; }}\n"
        "http {\n"
        "    access_log off;\n"
        "    sendfile on;\n"
        "    tcp_nopush on;\n"
        "    default_type application/octet-stream;\n"
        "    server {\n"
        f"        listen {address}:{PORT};\n"
        f"        root {www};\n"
        '        location = /ok { default_type text/plain; return 200 "ok\\n"; }\n'
        "    }\n"
        "}\n"
    )


# ----- the LAN and its daemons


def listening(host: Host, port: int) -> bool:
    """Whether a TCP or UDP socket is bound to `port` (listening, for TCP)."""
    return bool(host.run(["ss", "-Hltun", f"sport = :{port}"]).stdout.strip())


def wait_listening(daemon: Daemon, port: int) -> str:
    """An empty reason once `daemon` listens on `port`; why not if it ends or does not get there in time."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            lines = daemon.log().strip().splitlines()
            return f"exited with {daemon.process.returncode}: {lines[-1] if lines else 'no output'}"
        if listening(daemon.host, port):
            return ""
        time.sleep(0.05)
    return f"not listening on :{port} after {STARTUP_TIMEOUT_S:.0f} s"


def stop(daemon: Daemon) -> None:
    daemon.stop(timeout=10)
    daemon.host.kill_leftovers()
    wait_until(lambda: not listening(daemon.host, PORT), 10, f"port {PORT} free on {daemon.host.name}")


@dataclass
class Lab:
    lan: Lan
    directory: Path
    client: Host
    lb: Host
    configs: dict[str, Configs]
    options: argparse.Namespace
    report: Callable[[str], None]


def start_backends(lab: Lab, backends: list[Host]) -> None:
    www = lab.directory / "www"
    www.mkdir()
    (www / "bulk").write_bytes(bytes(BULK_BODY_BYTES))
    for host in backends:
        conf = lab.directory / f"backend-{host.address}.conf"
        conf.write_text(backend_nginx_config(lab.directory, host.address, www))
        nginx = host.start(
            ["/usr/sbin/nginx", "-p", str(lab.directory), "-c", str(conf), "-g", "daemon off;"],
            log_name=f"backend-{host.address}.log",
        )
        source = host.start(
            [sys.executable, str(TCP_HELPER), "source", host.address, str(SOURCE_PORT)],
            log_name=f"source-{host.address}.log",
        )
        host.start(
            [sys.executable, str(TCP_HELPER), "echo", host.address, str(UDP_PORT)],
            log_name=f"echo-{host.address}.log",
        )
        for daemon, port in ((nginx, PORT), (source, SOURCE_PORT)):
            if reason := wait_listening(daemon, port):
                raise RuntimeError(f"backend {host.address}: {daemon.program} {reason}")


def proxy_command(lab: Lab, implementation: str, test: str, *, metrics: bool = False) -> list[str]:
    configs = lab.configs[test]
    prefix = str(lab.directory)
    if implementation == "nginx":
        return ["/usr/sbin/nginx", "-p", prefix, "-c", str(configs.nginx), "-g", "daemon off;"]
    if implementation == "haproxy":
        return ["/usr/sbin/haproxy", "-db", "-f", str(configs.haproxy)]
    if implementation == "floor":
        return floor_command(test)
    command = [HAPAIR, "proxy", "-p", prefix, "-c", str(configs.nginx), "-g", "daemon off;"]
    return [*command, "--metrics", METRICS_ADDRESS] if metrics else command


def floor_command(test: str) -> list[str]:
    """The floor for `test`: udp on the wildcard address, as the UDP server's `listen 8080 udp`."""
    mode, address, port = "l4", LB_ADDRESS, SOURCE_PORT if test.startswith("l4-") else PORT
    if test in ("l7", "l7-close"):
        mode = test
    elif test == "l4-udp":
        mode, address, port = "udp", "0.0.0.0", UDP_PORT
    backends = [f"{backend}:{port}" for backend in BACKEND_ADDRESSES]
    return [sys.executable, str(FLOOR), mode, address, str(PORT), *backends, "--workers", str(CORES)]


@contextlib.contextmanager
def proxy(lab: Lab, implementation: str, test: str, *, metrics: bool = False) -> Iterator[str]:
    """The load balancer running `test`'s configuration (hapair: with --metrics if `metrics`); yields ""
    or why it could not start."""
    command = proxy_command(lab, implementation, test, metrics=metrics)
    log_name = f"{implementation}-{test}{'-metrics' if metrics else ''}.log"
    env = {**os.environ, "HAPAIR_PURE_PYTHON": "1"} if implementation == "hapair-pure" else None
    daemon = lab.lb.start(command, log_name=log_name, env=env)
    try:
        yield wait_listening(daemon, PORT)
    finally:
        stop(daemon)


Starter = Callable[[str], contextlib.AbstractContextManager[str]]


def measure(
    lab: Lab,
    row: Row,
    address: str,
    bulk_port: int,
    start: Starter,
    *,
    connections: bool = True,
    sni: bool = True,
    tls: bool = True,
    udp_port: int | None = PORT,
    h2: bool = True,
) -> None:
    """The columns of --columns into `row`; `sni`, `tls`, `h2` and `udp_port` (None) say which of those
    the row has at all."""
    options = lab.options
    columns = options.columns
    if "l7" in columns and not measure_l7(lab, row, address, lambda: start("l7"), connections=connections):
        return
    if h2 and "h2" in columns:
        with start("h2") as reason:
            if reason:
                row.unavailable = reason
                return
            lab.report(f"{row.name}: h2")
            before = namespace_cpu_s(lab.lb)
            rate, problems = h2load(lab.client, f"https://{address}:{H2_PORT}/ok", options.duration)
            row.h2_requests_per_second = rate
            if address == LB_ADDRESS and rate:
                requests = rate * (options.duration + H2_WARM_UP_S)
                row.h2_cpu_us = (namespace_cpu_s(lab.lb) - before) / requests * 1e6
            note(row, "h2", problems)
    if "l4" in columns and not measure_l4(lab, row, address, start):
        return
    if "l4-bulk" in columns:
        with start("l4-bulk") as reason:
            if reason:
                row.unavailable = reason
                return
            lab.report(f"{row.name}: L4 bulk")
            sink_mb_s(lab.client, address, bulk_port, WARM_UP_BYTES)
            row.l4_bulk_mb_s = sink_mb_s(lab.client, address, bulk_port, options.bulk_bytes)
    if sni and "sni" in columns:
        with start("l4-sni") as reason:
            if reason:
                row.unavailable = reason
                return
            lab.report(f"{row.name}: SNI bulk")
            sink_mb_s(lab.client, address, bulk_port, WARM_UP_BYTES, SNI_NAME)
            row.sni_bulk_mb_s = sink_mb_s(lab.client, address, bulk_port, options.bulk_bytes, SNI_NAME)
    if tls and "tls" in columns:
        with start("l4-tls") as reason:
            if reason:
                row.unavailable = reason
                return
            lab.report(f"{row.name}: TLS bulk")
            tls_sink_mb_s(lab.client, address, PORT, WARM_UP_BYTES)
            row.tls_bulk_mb_s = tls_sink_mb_s(lab.client, address, PORT, options.bulk_bytes)
    if udp_port is not None and "udp" in columns:
        measure_udp(lab, row, address, start, udp_port)


def measure_l4(lab: Lab, row: Row, address: str, start: Starter) -> bool:
    """One run of the L4 small-request test into `row`'s runs (and its figures, their means so far);
    whether the load balancer started."""
    with start("l4") as reason:
        if reason:
            row.unavailable = reason
            return False
        lab.report(f"{row.name}: L4 (run {len(row.l4_runs) + 1})")
        small = f"http://{address}:{PORT}/ok"
        warm_up(lab, small)
        before = namespace_cpu_s(lab.lb)
        run = wrk(lab.client, small, lab.options.connections, lab.options.duration)
        requests = run.requests_per_second * lab.options.duration
        if address == LB_ADDRESS and requests:
            row.l4_cpu_runs.append((namespace_cpu_s(lab.lb) - before) / requests * 1e6)
        row.l4_runs.append(run)
        row.l4 = mean_wrk(row.l4_runs)
        row.l4_cpu_us = mean_of(row.l4_cpu_runs)
        note(row, "L4", run.problems)
    return True


def measure_l4_in_turns(lab: Lab, rows: list[Row]) -> None:
    """The L4 small-request test again for each load balancer's row, `--l4-runs` in all, the load
    balancers in turn and in reverse order every other round (A B C, C B A, A B C...), so that a drift
    of the machine over the bench weighs on each alike."""
    for round_ in range(1, lab.options.l4_runs):
        for row, implementation in rows[:: -1 if round_ % 2 else 1]:
            if not row.unavailable:
                measure_l4(lab, row, LB_ADDRESS, partial(proxy, lab, implementation))
    for row, _ in rows:
        if len(row.l4_runs) > 1:
            rates = ", ".join(f"{run.requests_per_second:,.0f}" for run in row.l4_runs)
            row.notes.append(f"{row.name}: L4 req/s of its runs, in order: {rates}")


def measure_udp(lab: Lab, row: Row, address: str, start: Starter, port: int) -> None:
    """UDP q/s into `row`, and the load balancer's CPU time per answer (lab.lb's, when it runs there)."""
    with start("l4-udp") as reason:
        if reason:
            row.unavailable = reason
            return
        lab.report(f"{row.name}: UDP")
        udp_queries(lab.client, address, port, WARM_UP_S)
        before = namespace_cpu_s(lab.lb)
        answers, seconds = udp_queries(lab.client, address, port, lab.options.duration)
        row.udp_queries_s = answers / seconds
        if address == LB_ADDRESS and answers:
            row.udp_cpu_us = (namespace_cpu_s(lab.lb) - before) / answers * 1e6


def measure_l7(
    lab: Lab,
    row: Row,
    address: str,
    start: Callable[[], contextlib.AbstractContextManager[str]],
    *,
    connections: bool = False,
) -> bool:
    """L7 req/s, p99 and bulk into `row`, and with `connections` new connections/s and idle memory (the
    latter only for a load balancer in lab.lb); False (and why in the row) when the load balancer did not
    start."""
    small, bulk = f"http://{address}:{PORT}/ok", f"http://{address}:{PORT}/bulk"
    with start() as reason:
        if reason:
            row.unavailable = reason
            return False
        lab.report(f"{row.name}: L7")
        warm_up(lab, small)
        before = namespace_cpu_s(lab.lb)
        row.l7 = wrk(lab.client, small, lab.options.connections, lab.options.duration)
        if address == LB_ADDRESS:
            requests = row.l7.requests_per_second * lab.options.duration
            row.l7_cpu_us = (namespace_cpu_s(lab.lb) - before) / requests * 1e6 if requests else None
        bulk_result = wrk(lab.client, bulk, lab.options.bulk_connections, lab.options.duration)
        row.l7_bulk_mb_s = bulk_result.requests_per_second * BULK_BODY_BYTES / MB
        note(row, "L7", row.l7.problems)
        note(row, "L7 bulk", bulk_result.problems)
        if connections:
            lab.report(f"{row.name}: new connections")
            closing = wrk(lab.client, small, lab.options.connections, lab.options.duration, close=True)
            row.new_connections_s = closing.requests_per_second
            note(row, "new connections", closing.problems)
            if address == LB_ADDRESS:
                lab.report(f"{row.name}: {IDLE_CONNECTIONS} idle connections")
                row.idle_mb = idle_memory_mb(lab, address)
    return True


def warm_up(lab: Lab, url: str) -> None:
    wrk(lab.client, url, min(lab.options.connections, 4), WARM_UP_S)


def note(row: Row, test: str, problems: str) -> None:
    if problems:
        row.notes.append(f"{row.name} {test}: {problems}")


@contextlib.contextmanager
def nothing_to_start(test: str) -> Iterator[str]:
    yield ""


def measure_direct(lab: Lab) -> Row:
    row = Row("none (client to backend 1)")
    measure(
        lab, row, BACKEND_ADDRESSES[0], SOURCE_PORT, nothing_to_start, tls=False, udp_port=UDP_PORT, h2=False
    )
    return row


def measure_proxy(lab: Lab, implementation: str) -> list[Row]:
    row = Row(version(implementation))
    # measured just before the row's own L7 test, the two as close in time as they can be
    metrics = implementation == "hapair" and "l7" in lab.options.columns
    with_metrics = (
        measure_l7_again(lab, f"{row.name}, --metrics", lambda: proxy(lab, "hapair", "l7", metrics=True))
        if metrics
        else None
    )
    try:
        proxied = implementation != "floor"  # the floor has no SNI routing, TLS or HTTP/2
        measure(
            lab,
            row,
            LB_ADDRESS,
            PORT,
            partial(proxy, lab, implementation),
            sni=proxied,
            tls=proxied,
            udp_port=None if implementation == "haproxy" else PORT,
            h2=proxied,
        )
    except RuntimeError as error:  # a load balancer that fails a test: its row says why, the others run
        row.unavailable = str(error).splitlines()[0]
    rows = [row]
    if "l7" not in lab.options.columns:
        return rows
    test, what = VARIANTS[implementation]
    rows.append(measure_l7_again(lab, f"{row.name}, {what}", lambda: proxy(lab, implementation, test)))
    if implementation in READ_NGINX_FILES:
        rows += measure_beside_seed(lab, implementation, row.name)
    return rows if with_metrics is None else [*rows, with_metrics]


def measure_beside_seed(lab: Lab, implementation: str, name: str) -> list[Row]:
    """The L7 test on Debian's nginx.conf and again on the seed's file, in the order seed, Debian, Debian,
    seed, so that a drift over the four cancels out: a row for each, the mean of its two runs. (One run
    after the others moved by 5 % either way from one bench run to the next, where alternating gave
    the two files within 1 % of each other: bench/l7_counters.py.)"""
    seed, debian = f"{name}, the seed's file beside Debian's", f"{name}, Debian's nginx.conf"
    runs: dict[str, list[Row]] = {seed: [], debian: []}
    for label, test in ((seed, "l7"), (debian, "l7-debian"), (debian, "l7-debian"), (seed, "l7")):
        runs[label].append(measure_l7_again(lab, label, partial(proxy, lab, implementation, test)))
    return [mean_row(label, measured) for label, measured in runs.items()]


def mean_row(name: str, runs: list[Row]) -> Row:
    """A row whose L7 figures are the means of `runs`' (a run that failed makes the row say why)."""
    row = Row(name, notes=[note for run in runs for note in run.notes])
    failed = [run.unavailable for run in runs if run.unavailable or run.l7 is None]
    if failed:
        row.unavailable = failed[0] or "no L7 figure"
        return row
    row.l7 = mean_wrk([run.l7 for run in runs if run.l7 is not None])
    row.l7_cpu_us = mean_of([run.l7_cpu_us for run in runs])
    row.l7_bulk_mb_s = mean_of([run.l7_bulk_mb_s for run in runs])
    return row


def mean_wrk(tests: list[WrkResult]) -> WrkResult:
    return WrkResult(
        statistics.fmean(test.requests_per_second for test in tests),
        statistics.fmean(test.p99_ms for test in tests),
        "; ".join(test.problems for test in tests if test.problems),
    )


def mean_of(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.fmean(known) if known else None


def measure_l7_again(lab: Lab, name: str, start: Callable[[], contextlib.AbstractContextManager[str]]) -> Row:
    """A row of its own with the L7 test only, run by what `start` starts: hapair with --metrics, a load
    balancer with its upstream connections the other way (VARIANTS), or on Debian's packaged nginx.conf."""
    row = Row(name)
    try:
        measure_l7(lab, row, LB_ADDRESS, start)
    except RuntimeError as error:
        row.unavailable = str(error).splitlines()[0]
    return row


def version(implementation: str) -> str:
    if implementation == "nginx":
        text = subprocess.run(["/usr/sbin/nginx", "-v"], check=True, capture_output=True, text=True).stderr
        return "nginx " + text.strip().rsplit("/", 1)[-1]
    if implementation == "haproxy":
        text = subprocess.run(["/usr/sbin/haproxy", "-v"], check=True, capture_output=True, text=True).stdout
        return "HAProxy " + text.split()[2].split("-")[0]
    if implementation == "floor":
        return "floor: uvloop + httptools"
    pure = ", pure Python" if implementation == "hapair-pure" else ""
    return "hapair " + importlib.metadata.version("hapair") + pure


# ----- output


def table(rows: list[Row]) -> list[str]:
    header = (
        "load balancer",
        "L7 req/s",
        "L7 p99 ms",
        "L7 CPU us/req",
        "L7 bulk MB/s",
        "L4 req/s",
        "L4 p99 ms",
        "L4 CPU us/req",
        "L4 bulk MB/s",
        "SNI bulk MB/s",
        "TLS bulk MB/s",
        "UDP q/s",
        "UDP CPU us/q",
        "h2 req/s",
        "h2 CPU us/req",
        "new conn/s",
        "10k idle MB",
    )
    lines = []
    for row in rows:
        if row.unavailable and row.l7 is None:
            lines.append((row.name, f"not available: {row.unavailable}"))
            continue
        lines.append(
            (
                row.name,
                *wrk_figures(row.l7),
                figure(row.l7_cpu_us, "{:.1f}"),
                figure(row.l7_bulk_mb_s, "{:.0f}"),
                *wrk_figures(row.l4),
                figure(row.l4_cpu_us, "{:.1f}"),
                figure(row.l4_bulk_mb_s, "{:.0f}"),
                figure(row.sni_bulk_mb_s, "{:.0f}"),
                figure(row.tls_bulk_mb_s, "{:.0f}"),
                figure(row.udp_queries_s, "{:.0f}"),
                figure(row.udp_cpu_us, "{:.1f}"),
                figure(row.h2_requests_per_second, "{:.0f}"),
                figure(row.h2_cpu_us, "{:.1f}"),
                figure(row.new_connections_s, "{:.0f}"),
                figure(row.idle_mb, "{:.1f}"),
            )
        )
    name_width = max(len(header[0]), *(len(line[0]) for line in lines))
    widths = [name_width, *(max(10, len(title)) for title in header[1:])]
    out = [render(header, widths)]
    out += [
        render(line, widths) if len(line) > 2 else f"{line[0]:<{name_width}}  {line[1]}" for line in lines
    ]
    for row in rows:
        if row.unavailable and row.l7 is not None:
            out.append(f"{row.name}: stopped: {row.unavailable}")
        out += row.notes
    return out


def wrk_figures(result: WrkResult | None) -> tuple[str, str]:
    if result is None:
        return figure(None, ""), figure(None, "")
    return figure(result.requests_per_second, "{:.0f}"), figure(result.p99_ms, "{:.2f}")


def figure(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def render(cells: Sequence[str], widths: Sequence[int]) -> str:
    first, *rest = cells
    return f"{first:<{widths[0]}}" + "".join(
        f"  {cell:>{width}}" for cell, width in zip(rest, widths[1:], strict=True)
    )


def machine(options: argparse.Namespace) -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return [
        f"machine: {cpu}, {CORES} cores, Linux {platform.release()}",
        f"wrk -t{min(CORES, options.connections)} -c{options.connections} -d{options.duration}s --latency;"
        f" bulk: wrk -c{options.bulk_connections} on a {BULK_BODY_BYTES // MB} MB body,"
        f" L4 {options.bulk_bytes / 1e9:g} GB over one connection; MB = 10^6 bytes;"
        f" h2: h2load -c1 -m{H2_STREAMS} -D{options.duration} over TLS",
    ]


# ----- set-up and clean-up


@contextlib.contextmanager
def run_directory(keep: Path | None) -> Iterator[Path]:
    """Where configurations, logs and files go; readable by nginx's unprivileged workers."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="hapair-proxy-bench-") as scratch:
        os.chmod(scratch, 0o755)
        yield Path(scratch)


def bench(options: argparse.Namespace, report: Callable[[str], None]) -> list[str]:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))  # the daemons inherit it
    load_before = os.getloadavg()[0]
    with run_directory(options.logs) as directory, harness.laboratory(directory) as lan:
        client = lan.host("client", CLIENT_ADDRESS)
        give_the_client_ports(client)
        lb = lan.host("lb", LB_ADDRESS)
        backends = [lan.host(f"backend{n}", address) for n, address in enumerate(BACKEND_ADDRESSES, 1)]
        lab = Lab(lan, directory, client, lb, write_configs(directory), options, report)
        start_backends(lab, backends)
        rows = [measure_direct(lab)]
        main_rows = []
        for implementation in options.only:
            measured = measure_proxy(lab, implementation)
            main_rows.append((measured[0], implementation))
            rows += measured
        if "l4" in options.columns:
            measure_l4_in_turns(lab, main_rows)
    load = f"load average (1 min): {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    return [*machine(options), load, "", *table(rows)]


def give_the_client_ports(client: Host) -> None:
    """wrk closes a `Connection: close` connection as soon as it has read the answer, often before the
    load balancer does, so the client keeps each in TIME_WAIT for 60 s: a new-connections test used up
    the client's ephemeral ports (about 14,000 for connect) and the next load balancer's ran at a few
    connections a second. The client's namespace reuses them safely (timestamps) and has all of them."""
    ran = client.run(
        ["sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65535"]
    )
    if ran.returncode:
        raise RuntimeError(f"sysctl in the client's namespace: {ran.stderr.strip()}")


def missing() -> str | None:
    reason = missing_lab_requirements()
    if reason:
        return reason
    for program in ("ss", "wrk", "h2load", "nginx", "haproxy"):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            return f"needs {program}"
    if not Path(STREAM_MODULE).exists():
        return f"needs nginx's stream module ({STREAM_MODULE})"
    return None


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def implementation_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or any(name not in IMPLEMENTATIONS for name in names):
        raise argparse.ArgumentTypeError(f"among {', '.join(IMPLEMENTATIONS)}")
    return names


def column_list(text: str) -> frozenset[str]:
    names = {name.strip() for name in text.split(",") if name.strip()}
    if not names or not names <= set(COLUMNS):
        raise argparse.ArgumentTypeError(f"among {', '.join(COLUMNS)}")
    return frozenset(names)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests/s, p99 latency and bulk throughput of hapair, nginx and HAProxy, L7 and L4."
    )
    parser.add_argument("--duration", type=positive, default=10, help="seconds per wrk test (10)")
    parser.add_argument("--connections", type=positive, default=50, help="wrk connections (50)")
    parser.add_argument("--bulk-connections", type=positive, default=4, help="wrk connections, L7 bulk (4)")
    parser.add_argument(
        "--bulk-bytes", type=positive, default=2_000_000_000, help="bytes read in the L4 bulk test (2 GB)"
    )
    parser.add_argument(
        "--only",
        type=implementation_list,
        default=list(IMPLEMENTATIONS),
        help="comma-separated load balancers",
    )
    parser.add_argument(
        "--columns",
        type=column_list,
        default=frozenset(COLUMNS),
        help="comma-separated tests to run (all by default): " + ", ".join(COLUMNS),
    )
    parser.add_argument(
        "--l4-runs",
        type=positive,
        default=L4_RUNS,
        help=f"L4 small-request runs per load balancer, in turns; its cells are their means ({L4_RUNS})",
    )
    parser.add_argument("--logs", type=Path, help="keep the configurations and logs in this directory")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    return harness.run("proxy", parse(argv), bench, missing, (AssertionError, RuntimeError))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

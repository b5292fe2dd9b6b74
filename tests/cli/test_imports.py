"""Each command imports only what it uses (issue 15's start-up and memory budgets), checked in fresh
interpreters: `hapair vrrp -t` reads the configuration without netlink (pyroute2), asyncio or the daemon,
and a VRRP-only file without the checker process's keyword tables, model and checks;
the VRRP daemon, run until it is master, has imported neither ssl nor OpenSSL's hashes nor more of
pyroute2 than its message classes; the load balancer's modules leave dnspython and cryptography to the
configurations that use them, HTTP/2 to those listening for it, the L4 data plane to those with a
`stream {}` block, and the master imports them before it forks such a configuration's workers;
pyroute2's lean package still gives every name of pyroute2's own; asyncio without ssl still runs, and ssl
can still be imported after it."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

import pytest

from hapair.config.keepalived.keywords import DEFERRED, all_roots
from tests.certificates import self_signed
from tests.netns import Namespace, missing_requirements, unique_name
from tests.proxy.http.harness import free_port

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60
# at exit, every module the run imported (sys.modules keeps them), then whether the garbage collector runs
# and how many objects it leaves out (frozen), on one line (no json: the daemon must not import it)
MODULES_AT_EXIT = (
    "import atexit, gc, sys; "
    "atexit.register(lambda: print(*sorted(sys.modules), gc.isenabled(), gc.get_freeze_count(), flush=True));"
    " from hapair.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


def modules_and_collector(stdout: str) -> tuple[set[str], bool, int]:
    """MODULES_AT_EXIT's output: the modules, whether the collector is enabled, the frozen objects."""
    *modules, enabled, frozen = stdout.split()
    return set(modules), enabled == "True", int(frozen)


CHECKED = """
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.100/24
    }
}
"""
MASTER = """
vrrp_instance VI_1 {
    state MASTER
    interface va
    virtual_router_id 51
    priority 255
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
"""
# the checker process's keyword tables, model and checks: only for files with virtual servers
CHECKER_PROCESS = {
    "hapair.config.keepalived.keywords.checkers",
    "hapair.config.keepalived.keywords.bfd",
    "hapair.config.keepalived.keywords.track_file",
    "hapair.config.keepalived.model.checkers",
    "hapair.config.keepalived.complete.checkers",
}
NOT_IN_THE_DAEMON = {
    "ssl",
    "_ssl",
    "_hashlib",
    "pyroute2.iproute",
    "pyroute2.ndb",
    "pyroute2.ipdb",
    "pyroute2.netlink.rtnl.iprsocket",
    "pyroute2.netlink.rtnl.ifinfmsg",  # (only for VMACs: net/links.py)
    "unittest",
    "inotify_simple",
    "dns",
    "cryptography",
    "logging.handlers",  # (syslog's; the test runs with -G)
    "encodings.idna",
    "shutil",
    "hapair.vrrp.process_watch",  # (only for vrrp_track_process)
    "hapair.net.processes",
    "multiprocessing",  # (pyroute2.config's: net/pyroute2_package.py)
    "platform",
    "hapair.net.vrrp_socket6",  # (only for IPv6 instances)
    "hapair.net.ndisc",
    "hapair.net.smtp",  # (only when a mail is sent)
    "hapair.vrrp.trackers",  # (only for track_file)
    "hapair.config.keepalived.load",  # (the reader runs in a child process: vrrp/reading.py)
    "hapair.config.keepalived.engine",
    "hapair.config.keepalived.keywords",
    "hapair.config.keepalived.complete",
    "random",  # (only for ${_RANDOM})
    "glob",  # (only for includes with wildcards)
    "json",  # (only for the control socket's clients)
    "ctypes",  # (only for vrrp_no_swap: timers and socket filters go without it)
    "argparse",  # (for help, errors and the rarer forms of the options: cli/vrrp.read_plainly)
    "pickle",  # (the model comes back from the reading child by _pickle's loads: forked.py)
    *CHECKER_PROCESS,
}


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        check=False,
    )


def test_config_test_imports_no_netlink_asyncio_or_daemon(tmp_path: Path) -> None:
    """The interfaces are read all the same: `lo` is known as a loopback."""
    config = tmp_path / "keepalived.conf"
    config.write_text(CHECKED)
    ran = run_python(MODULES_AT_EXIT, "vrrp", "-t", "-f", str(config))
    assert "(VI_1) cannot use a loopback interface (lo) for vrrp - ignoring" in ran.stderr
    modules, _, _ = modules_and_collector(ran.stdout)
    assert "hapair.config.keepalived.load" in modules
    assert not modules & {"asyncio", "ssl", "hapair.vrrp.daemon", "hapair.vrrp.runtime", "argparse"}
    # (`pyroute2` and `pyroute2.config`: the lean packages, none of their code run)
    assert not [name for name in modules if name.startswith("pyroute2.") and name != "pyroute2.config"]
    assert not modules & CHECKER_PROCESS


def test_the_deferred_keyword_tables_are_named_as_their_modules_build_them() -> None:
    """keywords.DEFERRED names each deferred table's root keywords without importing it: the names must be
    those its `roots()` gives, and none may be one of the tables every file reads."""
    eager = {root.keyword.name for root in all_roots()}
    for module, _group, names in DEFERRED:
        built = import_module(f"hapair.config.keepalived.keywords.{module}").roots()
        assert tuple(keyword.name for keyword in built) == names
        assert not eager & set(names)


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    reason = missing_requirements()
    if reason is not None:
        pytest.skip(reason)
    namespace = Namespace.create(unique_name("hlean"))
    try:
        namespace.add_veth("va", "vb", addresses=["192.0.2.1/24"])
        yield namespace
    finally:
        namespace.delete()


def daemon_modules(namespace: Namespace, tmp_path: Path, text: str) -> tuple[set[str], bool, int]:
    """The modules of a VRRP daemon run on `text` until it is master, then whether its collector runs and
    how many objects it froze."""
    config = tmp_path / "keepalived.conf"
    config.write_text(text)
    args = [
        "vrrp",
        "-n",
        "-l",
        "-G",
        "-f",
        str(config),
        "-p",
        str(tmp_path / "vrrp.pid"),
        "--control",  # (a control socket without clients: events are made for followers only)
        str(tmp_path / "vrrp.sock"),
    ]
    daemon = namespace.start([sys.executable, "-c", MODULES_AT_EXIT, *args], cwd=REPO)
    try:
        assert daemon.stderr is not None
        lines = []
        while not any("Entering MASTER STATE" in line for line in lines):
            line = daemon.stderr.readline()
            assert line, f"the daemon ended before it was master:\n{''.join(lines)}"
            lines.append(line)
        daemon.send_signal(signal.SIGTERM)
        stdout, stderr = daemon.communicate(timeout=TIMEOUT)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate(timeout=TIMEOUT)
    assert daemon.returncode == 0, stderr
    return modules_and_collector(stdout)


def test_the_vrrp_daemon_imports_no_tls_nor_all_of_pyroute2(namespace: Namespace, tmp_path: Path) -> None:
    modules, collecting, frozen = daemon_modules(namespace, tmp_path, MASTER)
    assert {"asyncio", "pyroute2.netlink.rtnl.ifaddrmsg", "hapair.vrrp.runtime"} <= modules
    assert not modules & NOT_IN_THE_DAEMON
    assert collecting  # paused while the daemon imported, on again once its modules were frozen
    assert frozen > 10_000


def test_the_vrrp_daemon_imports_pyroute2_s_link_messages_for_a_vmac(
    namespace: Namespace, tmp_path: Path
) -> None:
    modules, _, _ = daemon_modules(
        namespace, tmp_path, MASTER.replace("    interface va\n", "    interface va\n    use_vmac\n")
    )
    assert "pyroute2.netlink.rtnl.ifinfmsg" in modules


FROZEN = """
import gc
from hapair import frozen_imports

gc.disable()
with frozen_imports.frozen():
    pass
stays_off = not gc.isenabled()
gc.enable()
before = gc.get_freeze_count()
with frozen_imports.frozen():
    paused = not gc.isenabled()
    import hapair.config.keepalived.load
print(stays_off, paused, gc.isenabled(), gc.get_freeze_count() - before > 5_000, gc.get_count()[0] < 100)
"""


def test_imports_run_with_the_collector_paused_and_end_frozen() -> None:
    """frozen_imports.frozen(): the collector is off in the block and back as it was after it; what was
    imported is frozen (left out of later collections), and the young generation starts empty."""
    ran = run_python(FROZEN)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["True", "True", "True", "True", "True"]


def test_the_proxy_leaves_dnspython_and_cryptography_to_the_configurations_using_them() -> None:
    """And tempfile with shutil to no one (proxy/http/tempfiles.py)."""
    ran = run_python(
        "import sys, hapair.cli.proxy, hapair.proxy.server, hapair.config.nginx.load\n"
        "print(' '.join(sys.modules))"
    )
    assert ran.returncode == 0, ran.stderr
    modules = set(ran.stdout.split())
    assert {"hapair.proxy.resolver", "hapair.proxy.worker"} <= modules
    assert "hapair.config.nginx.finish.stapling" in modules
    absent = {"dns", "cryptography", "h2", "hapair.proxy.stream", "platform", "tempfile", "shutil"}
    assert not modules & absent


PRELOAD = """
import sys
from hapair.config.nginx.load import load
from hapair.proxy.preload import preload
preload(load(sys.argv[1], sys.argv[2]).config)
MODULES = ("h2", "dns.asyncresolver", "hapair.proxy.stream", "encodings.idna")
print(*(name in sys.modules for name in MODULES))
"""
PLAIN = "http { server { listen 127.0.0.1:8080; } }"
HTTP2 = "http { server { listen 127.0.0.1:8080 http2; } }"
RESOLVER = (
    "http { server { listen 127.0.0.1:8080; location / { resolver 127.0.0.1; proxy_pass http://$host; } } }"
)
STREAM = "stream { server { listen 127.0.0.1:8080; proxy_pass 127.0.0.1:8081; } }"
HTTPS = "http { server { listen 127.0.0.1:8080; location / { proxy_pass https://127.0.0.1:8443; } } }"
VARIABLES = "http { server { listen 127.0.0.1:8080; location / { proxy_pass http://127.0.0.1:$arg_p; } } }"
STREAM_TLS = "stream { server { listen 127.0.0.1:8080; proxy_pass 127.0.0.1:8443; proxy_ssl on; } }"


@pytest.mark.parametrize(
    ("blocks", "loaded"),
    [
        (PLAIN, ["False", "False", "False", "False"]),
        (HTTP2, ["True", "False", "False", "False"]),
        (RESOLVER, ["False", "True", "False", "True"]),
        (STREAM, ["False", "False", "True", "False"]),
        (HTTPS, ["False", "False", "False", "True"]),
        (VARIABLES, ["False", "False", "False", "True"]),
        (STREAM_TLS, ["False", "False", "True", "True"]),
    ],
    ids=["plain", "http2", "resolver", "stream", "https", "variables", "stream-tls"],
)
def test_the_master_imports_what_the_configuration_s_workers_use(
    tmp_path: Path, blocks: str, loaded: list[str]
) -> None:
    """Imported before the workers are forked (shared, and readable by the master): HTTP/2 for `http2`
    listeners, dnspython for a `resolver`, the L4 data plane for a `stream {}` block, the idna codec for
    TLS upstreams (SNI) and names resolved per request (proxy/preload.py)."""
    config = tmp_path / "nginx.conf"
    config.write_text(f"error_log stderr;\nevents {{}}\n{blocks}\n")
    ran = run_python(PRELOAD, str(config), f"{tmp_path}/")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == loaded


PRELOADED = """
import sys
import hapair.cli.main, hapair.cli.proxy, hapair.proxy.server
from hapair.proxy.cycle import Launch
from hapair.proxy.preload import preload
preload(Launch(sys.argv[1], sys.argv[2]).load().config)
"""
MASTER_PRELOAD = (
    PRELOADED
    + """
MODULES = ("hapair.openssl", "hashlib", "ctypes", "json", "random")
print(*(name in sys.modules for name in MODULES))
"""
)


@pytest.mark.parametrize(
    ("blocks", "loaded"),
    [
        (PLAIN, ["False", "False", "False", "False", "False"]),
        ("tls", ["True", "True", "True", "False", "False"]),
        (
            'http { server { listen 127.0.0.1:8080; auth_basic "x"; auth_basic_user_file /dev/null; } }',
            ["False", "True", "True", "False", "False"],
        ),
    ],
    ids=["plain", "tls", "auth_basic"],
)
def test_the_master_leaves_openssl_hashes_and_ctypes_to_the_configurations_using_them(
    tmp_path: Path, blocks: str, loaded: list[str]
) -> None:
    """The configuration read in its child process (as the master reads it), then preloaded: hapair.openssl
    and ctypes for TLS listeners, hashlib for them and for `auth_basic` (with ctypes: crypt_r), and
    neither json nor random for any (compiled.py's guard reads without them): each would be in every
    worker's memory."""
    if blocks == "tls":
        certificate, key = self_signed(tmp_path, "localhost")
        tls = f"ssl_certificate {certificate}; ssl_certificate_key {key};"
        blocks = f"http {{ server {{ listen 127.0.0.1:8443 ssl; {tls} }} }}"
    config = tmp_path / "nginx.conf"
    config.write_text(f"error_log stderr;\nevents {{}}\n{blocks}\n")
    ran = run_python(MASTER_PRELOAD, str(config), f"{tmp_path}/")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == loaded


MASTER_BALANCING = (
    PRELOADED
    + """
METHODS = ("least_conn", "ip_hash", "hash", "random_choice")
print(*(f"hapair.proxy.balancing.{name}" in sys.modules for name in METHODS))
"""
)


@pytest.mark.parametrize(
    ("method", "loaded"),
    [
        ("", ["False", "False", "False", "False"]),
        ("least_conn;", ["True", "False", "False", "False"]),
        ("ip_hash;", ["False", "True", "False", "False"]),
        ("hash $remote_addr consistent;", ["False", "False", "True", "False"]),
        ("random two;", ["False", "False", "False", "True"]),
    ],
    ids=["round robin", "least_conn", "ip_hash", "hash", "random"],
)
def test_the_master_imports_the_balancing_methods_its_upstream_groups_use(
    tmp_path: Path, method: str, loaded: list[str]
) -> None:
    """A balancing method's module is imported by the master (before it forks the workers, which may not
    be able to read it later) when an upstream group uses it, and not otherwise: the seed's round robin
    leaves all four out of every worker's memory."""
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"error_log stderr;\nevents {{}}\nhttp {{ upstream u {{ {method} server 127.0.0.1:9; }}\n"
        "server { listen 127.0.0.1:8080; location / { proxy_pass http://u; } } }\n"
    )
    ran = run_python(MASTER_BALANCING, str(config), f"{tmp_path}/")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == loaded


MASTER_FEATURES = (
    PRELOADED
    + """
import asyncio
from hapair.proxy.cycle import Launch
from hapair.proxy.http.service import serve_http

HTTP, HEALTH = "hapair.proxy.http.", "hapair.proxy.health."
preloaded = {name for name in sys.modules if name.startswith((HTTP, HEALTH))}
config = Launch(sys.argv[1], sys.argv[2]).load().config


async def build() -> None:
    service = await serve_http(config.http, reuse_port=False, thread_pools=config.thread_pools)
    service.close()
    await service.wait_closed()

asyncio.run(build())
built = {name for name in sys.modules if name.startswith((HTTP, HEALTH))}
print(*sorted(name.removeprefix(HTTP) for name in preloaded), "|", *sorted(built - preloaded))
"""
)
# the HTTP feature modules a configuration holds only when it uses their directive or variable, and the
# health checks' (hapair.proxy.health.*)
HEALTH = {"hapair.proxy.health.board", "hapair.proxy.health.core", "hapair.proxy.health.checker"}
FEATURES = {
    *HEALTH,
    "hapair.proxy.health.reader",
    "limit_req",
    "limit_conn",
    "keyindex",
    "auth_basic",
    "auth_request",
    "autoindex",
    "charset",
    "client_certificates",
    "cookies",
    "realip",
    "map",
    "split_clients",
    "try_files",
    "stub_status",
}
LIMIT_REQ = {"limit_req", "keyindex"}  # (limit_conn's keys are limit_req's)
SEED_LOCATION = """location / {
    access_log ACCESS;
    proxy_set_header Host $http_host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto https;
    proxy_pass http://u;
    proxy_read_timeout 90;
}"""


@pytest.mark.parametrize(
    ("http", "server", "used"),
    [
        ("", "", set()),
        (
            "limit_req_zone $binary_remote_addr zone=r:1m rate=1r/s;",
            "limit_req zone=r;",
            LIMIT_REQ,
        ),
        ("limit_conn_zone $binary_remote_addr zone=c:1m;", "limit_conn c 1;", {"limit_conn", *LIMIT_REQ}),
        ("", 'auth_basic "x"; auth_basic_user_file /dev/null;', {"auth_basic"}),
        ("", "location /a { auth_request /auth; proxy_pass http://u; }", {"auth_request"}),
        ("", "location /files { autoindex on; }", {"autoindex"}),
        ("", "charset utf-8;", {"charset"}),
        ("", "location /files { try_files $uri =404; }", {"try_files"}),
        ("", "location /status { stub_status; }", {"stub_status"}),
        ("", "set_real_ip_from 10.0.0.0/8;", {"realip"}),
        ("map $uri $m { default 1; }", "", {"map"}),
        ("split_clients $remote_addr $s { 50% a; * b; }", "", {"split_clients"}),
        ("", "location /c { proxy_cookie_path /a /b; proxy_pass http://u; }", {"cookies"}),
        ("log_format cert '$ssl_client_verify';", "access_log ACCESS cert;", {"client_certificates"}),
        (
            "upstream h { zone h 64k; server 127.0.0.1:11; }",
            "location /h { proxy_pass http://h; health_check; }",
            {*HEALTH, "hapair.proxy.health.reader"},
        ),
    ],
    ids=[
        "seed",
        "limit_req",
        "limit_conn",
        "auth_basic",
        "auth_request",
        "autoindex",
        "charset",
        "try_files",
        "stub_status",
        "realip",
        "map",
        "split_clients",
        "cookies",
        "ssl_client_variable",
        "health_check",
    ],
)
def test_the_master_imports_the_http_feature_modules_its_configuration_uses(
    tmp_path: Path, http: str, server: str, used: set[str]
) -> None:
    """The seed's L7 configuration (as bench/proxy.py writes it) holds none of the HTTP feature modules nor
    the health checks'; a configuration using a directive or variable has the master import its module
    before it forks the workers (proxy/preload.py), and building the workers' service then imports none
    of those modules the master has not (a worker may be unable to read them)."""
    config = tmp_path / "nginx.conf"
    port = free_port()
    access = str(tmp_path / "access.log")
    config.write_text(
        f"error_log stderr;\nevents {{}}\nhttp {{ {http}\n"
        "upstream u { server 127.0.0.1:9; server 127.0.0.1:10; }\n"
        f"server {{ listen 127.0.0.1:{port}; server_name seed.example; {server}\n"
        f"{SEED_LOCATION} }} }}\n".replace("ACCESS", access)
    )
    ran = run_python(MASTER_FEATURES, str(config), f"{tmp_path}/")
    assert ran.returncode == 0, ran.stderr
    preloaded, built = ran.stdout.split("|")
    assert set(preloaded.split()) & FEATURES == used
    assert built.split() == []


MASTER_READING = """
import sys
import hapair.cli.main, hapair.cli.proxy, hapair.proxy.server
from hapair.proxy.cycle import Launch
result = Launch(sys.argv[1], sys.argv[2]).load()
print(result.config is not None, *sorted(sys.modules))
"""
# the configuration's reader (it reads in a child process) and argparse (`hapair proxy` reads nginx's options)
READER = {
    "hapair.config.nginx.load",
    "hapair.config.nginx.directives",
    "hapair.config.nginx.finish",
    "argparse",
}


def test_the_proxy_master_reads_its_configuration_without_importing_the_reader(tmp_path: Path) -> None:
    """A start's or a reload's reading runs in a child process (forked.py): neither the master nor the
    workers it forks hold the reader; nor argparse, which `hapair proxy` does not use (cli/main.py)."""
    config = tmp_path / "nginx.conf"
    config.write_text(f"error_log stderr;\nevents {{}}\n{PLAIN}\n")
    ran = run_python(MASTER_READING, str(config), f"{tmp_path}/")
    assert ran.returncode == 0, ran.stderr
    read, *modules = ran.stdout.split()
    assert read == "True"
    assert "hapair.proxy.worker" in modules
    assert not READER & set(modules)


LEAN_PYROUTE2 = """
import sys
import hapair.net
from hapair.net.pyroute2_package import config_at_import
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
lean = not {"pyroute2.iproute", "pyroute2.ndb", "multiprocessing", "platform"} & set(sys.modules)
import pyroute2
from pyroute2 import IPRoute, NDB, config
from pyroute2.config.version import __version__
preset = {name: getattr(config, name) for name in config_at_import()} == config_at_import()
print(lean, pyroute2.__version__ == __version__, IPRoute.__module__, NDB.__module__, config.__name__)
print(preset, config.kernel == config.parse_kernel_version(config.uname[2]), "multiprocessing" in sys.modules)
"""


def test_lean_pyroute2_still_has_every_name() -> None:
    """Only the message classes are loaded for hapair.net, without pyroute2.config's multiprocessing and
    platform; a name asked of the package (or of its config) runs its `__init__`, which then gives what a
    plain `import pyroute2` gives, and the settings set beforehand have the values it gives them."""
    ran = run_python(LEAN_PYROUTE2)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [
        "True",
        "True",
        "pyroute2.iproute.linux",
        "pyroute2.ndb.main",
        "pyroute2.config",
        "True",
        "True",
        "True",
    ]


WITHOUT_SSL = """
import sys
from hapair.tlsless import import_asyncio_without_ssl
asyncio = import_asyncio_without_ssl()
without = "ssl" not in sys.modules


async def echo():
    server = await asyncio.start_server(lambda r, w: (w.write(b"pong"), w.close()), "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    answer = await reader.read()
    writer.close()
    server.close()
    return answer

answer = asyncio.run(echo())
import ssl
print(without, answer.decode(), ssl.OPENSSL_VERSION.split()[0])
"""


def test_asyncio_without_ssl_runs_and_ssl_stays_importable() -> None:
    ran = run_python(WITHOUT_SSL)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["True", "pong", "OpenSSL"]

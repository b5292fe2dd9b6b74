"""The process model with real processes: `hapair proxy` on 127.0.0.1 in front of backends served by threads
of the test, started in the foreground (`daemon off`) or as nginx's daemon, stopped, reloaded and reopened
by signals or by its own `-s`, its workers run as nginx's run (user, limits, CPUs, environment). The same
steps beside the real nginx: test_process_oracle.py."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hapair.proxy.server import IDLE_WAIT_S
from hapair.proxy.worker import worker_environment
from tests.certificates import Authority
from tests.topology import wait_until

from .processes import (
    TIMEOUT_S,
    Backend,
    Instance,
    answers,
    free_port,
    get,
    open_directory,
    running,
    slow_request,
    status_ids,
)

NOBODY = 65534  # Debian's nobody and nogroup
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the workers' user changes only under root")


@pytest.fixture
def backends() -> Iterator[tuple[Backend, Backend]]:
    pair = Backend("alpha"), Backend("beta")
    yield pair
    for backend in pair:
        backend.close()


@pytest.fixture
def proxy(backends: tuple[Backend, Backend]) -> Iterator[Instance]:
    """In the foreground, as the lab and the tests before `daemon` ran it."""
    instance = Instance("hapair", open_directory(), backends[0])
    instance.start_foreground()
    instance.wait_serving()
    with running(instance) as started:
        yield started


@pytest.fixture
def daemon(backends: tuple[Backend, Backend]) -> Iterator[Instance]:
    instance = Instance("hapair", open_directory(), backends[0])
    with running(instance) as started:
        yield started


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def test_workers_start_and_serve_with_a_pid_file(proxy: Instance) -> None:
    assert get(proxy.port) == (200, "alpha")
    assert len(proxy.worker_pids()) == 2
    assert proxy.master is not None
    assert proxy.pid_file.read_text() == f"{proxy.master.pid}\n"
    assert proxy.error_log().count("start worker process ") == 2


def test_reload_takes_a_new_upstream_while_a_long_request_completes(
    proxy: Instance, backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    alpha, beta = backends
    in_flight = slow_request(proxy.port, alpha, pool)
    old = proxy.worker_pids()
    proxy.write_config(beta)
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: get(proxy.port) == (200, "beta"), TIMEOUT_S, "the new upstream")
    assert not in_flight.done()
    alpha.release.set()
    assert in_flight.result(TIMEOUT_S) == (200, "alpha")
    wait_until(lambda: not old & proxy.worker_pids(), TIMEOUT_S, "the old workers to exit")
    assert "reconfiguring" in proxy.error_log()


def test_reload_with_a_broken_config_keeps_serving(proxy: Instance) -> None:
    workers = proxy.worker_pids()
    proxy.conf.write_text("events {}\nhttp { upstream backend { server; } }\n")
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: "[emerg]" in proxy.error_log(), TIMEOUT_S, "the emerg line")
    assert get(proxy.port) == (200, "alpha")
    assert proxy.worker_pids() == workers
    assert not proxy.gone()


def test_quit_lets_an_in_flight_request_finish(
    proxy: Instance, backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    alpha = backends[0]
    in_flight = slow_request(proxy.port, alpha, pool)
    proxy.signal(signal.SIGQUIT)
    wait_until(lambda: proxy.error_log().count("gracefully shutting down") == 2, TIMEOUT_S, "the workers")
    assert not answers(proxy.port)
    assert not proxy.gone()
    alpha.release.set()
    assert in_flight.result(TIMEOUT_S) == (200, "alpha")
    assert proxy.foreground is not None and proxy.foreground.wait(TIMEOUT_S) == 0
    assert not proxy.pid_file.exists()


def test_a_killed_worker_is_replaced(proxy: Instance) -> None:
    victim = min(proxy.worker_pids())
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: f"worker process {victim} exited on signal 9" in proxy.error_log(), TIMEOUT_S, "alert")
    wait_until(lambda: len(proxy.worker_pids() - {victim}) == 2, TIMEOUT_S, "a new worker")
    assert get(proxy.port) == (200, "alpha")


def test_a_master_stopped_past_its_wait_for_signals_goes_on_once_continued(proxy: Instance) -> None:
    """Stopped longer than its wait for a signal, then continued, the master still handles signals (it
    used to die on the garbage signal number sigtimedwait gave it)."""
    assert proxy.master is not None
    os.kill(proxy.master.pid, signal.SIGSTOP)
    time.sleep(IDLE_WAIT_S * 1.5)  # no event to wait for: the master's wait must time out while stopped
    os.kill(proxy.master.pid, signal.SIGCONT)
    os.kill(proxy.master.pid, signal.SIGHUP)
    wait_until(lambda: "reconfiguring" in proxy.error_log(), TIMEOUT_S, "the reload")
    assert "Traceback" not in proxy.error_log()
    assert get(proxy.port) == (200, "alpha")


def test_sigterm_stops_at_once(
    proxy: Instance, backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    in_flight = slow_request(proxy.port, backends[0], pool)
    proxy.signal(signal.SIGTERM)
    assert proxy.foreground is not None and proxy.foreground.wait(TIMEOUT_S) == 0
    with pytest.raises((OSError, http.client.HTTPException)):
        in_flight.result(TIMEOUT_S)
    assert not proxy.pid_file.exists()


def test_usr1_reopens_the_error_log_and_keeps_the_workers(proxy: Instance) -> None:
    workers = proxy.worker_pids()
    log = proxy.directory / "logs" / "error.log"
    old = log.with_suffix(".old")
    log.rename(old)
    proxy.signal(signal.SIGUSR1)
    # as nginx's, the lines saying so go to the file being closed: two of the master's, one a worker
    wait_until(lambda: old.read_text().count("reopening logs") == 4, TIMEOUT_S, "master and workers")
    wait_until(log.exists, TIMEOUT_S, "the error log opened again")
    assert proxy.worker_pids() == workers
    assert get(proxy.port) == (200, "alpha")


def test_usr1_reopens_the_access_log_after_the_lines_waiting_went_to_the_old_file(proxy: Instance) -> None:
    assert get(proxy.port) == (200, "alpha")
    log = proxy.directory / "logs" / "access.log"
    old = log.with_suffix(".old")
    log.rename(old)
    reopened = proxy.error_log().count("reopening logs") + 2 + proxy.count  # two lines of the master's
    proxy.signal(signal.SIGUSR1)
    wait_until(lambda: proxy.error_log().count("reopening logs") == reopened, TIMEOUT_S, "every worker")
    assert get(proxy.port, "/after") == (200, "alpha")
    wait_until(lambda: "GET /after " in log.read_text(), TIMEOUT_S, "the next request logged in the new file")
    assert "GET / " in old.read_text()
    assert "GET /after " not in old.read_text()


def test_reopened_log_files_are_given_to_the_workers_user(proxy: Instance) -> None:
    log = proxy.directory / "logs" / "access.log"
    log.rename(log.with_suffix(".old"))
    (proxy.directory / "logs" / "error.log").chmod(0o044)
    proxy.signal(signal.SIGUSR1)
    wait_until(lambda: proxy.error_log().count("reopening logs") == 2 + proxy.count, TIMEOUT_S, "the workers")
    assert get(proxy.port, "/after") == (200, "alpha")
    wait_until(lambda: "GET /after " in log.read_text(), TIMEOUT_S, "the request logged by a worker")
    for name in ("access.log", "error.log"):
        info = (proxy.directory / "logs" / name).stat()
        assert (info.st_uid, info.st_mode & (stat.S_IRUSR | stat.S_IWUSR)) == (NOBODY, 0o600)


def test_auto_starts_a_worker_per_cpu(backends: tuple[Backend, Backend]) -> None:
    instance = Instance("hapair", open_directory(), backends[0], workers="auto")
    with running(instance) as started:
        started.start_foreground()
        started.wait_serving()
        assert len(started.worker_pids()) == os.cpu_count()


def test_reload_onto_an_address_in_use_keeps_the_old_workers(
    proxy: Instance, backends: tuple[Backend, Backend]
) -> None:
    workers = proxy.worker_pids()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        proxy.write_config(backends[1], port=taken.getsockname()[1])
        proxy.signal(signal.SIGHUP)
        wait_until(lambda: "still could not bind()" in proxy.error_log(), TIMEOUT_S, "the reload to give up")
    assert proxy.error_log().count(f"bind() to {address} failed (98: Address already in use)") == 5
    assert get(proxy.port) == (200, "alpha")
    assert proxy.worker_pids() == workers


# ----- nginx's daemon, its pid file and its -s


def test_daemon_on_returns_once_serving(daemon: Instance) -> None:
    done = daemon.start()
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=TIMEOUT_S):
        pass
    assert get(daemon.port) == (200, "alpha")
    assert daemon.master is not None
    pid = daemon.master.pid
    assert (os.getsid(pid), os.getpgid(pid)) == (pid, pid)
    assert [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in (0, 1, 2)] == [
        "/dev/null",
        "/dev/null",
        str(daemon.directory / "logs" / "error.log"),
    ]
    assert "Umask:\t0000" in Path(f"/proc/{pid}/status").read_text()
    assert len(daemon.worker_pids()) == 2


def test_the_pid_file_appears_once_the_workers_accept(daemon: Instance) -> None:
    daemon.start_foreground()
    wait_until(daemon.pid_file.exists, TIMEOUT_S, "the pid file", interval=0.001)
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=TIMEOUT_S) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert connection.recv(12) == b"HTTP/1.1 200"


def test_a_start_that_cannot_bind_fails_with_nginx_s_messages(daemon: Instance) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", daemon.port))
        taken.listen()
        done = daemon.start()
    failed = f"nginx: [emerg] bind() to 127.0.0.1:{daemon.port} failed (98: Address already in use)"
    still = "nginx: [emerg] still could not bind()"
    assert (done.returncode, done.stderr.splitlines()) == (1, [failed] * 5 + [still])
    assert not daemon.pid_file.exists()


def test_a_start_whose_workers_cannot_start_fails(
    daemon: Instance, backends: tuple[Backend, Backend]
) -> None:
    daemon.main = "working_directory /nonexistent;"
    daemon.write_config(backends[0])
    done = daemon.start()
    assert (done.returncode, done.stderr.splitlines()[-1]) == (
        1,
        'nginx: [alert] chdir("/nonexistent") failed (2: No such file or directory)',
    )
    assert not daemon.pid_file.exists()


def test_s_stop_stops_and_removes_the_pid_file(daemon: Instance) -> None:
    assert daemon.start().returncode == 0
    assert daemon.command("-s", "stop").returncode == 0
    wait_until(daemon.gone, TIMEOUT_S, "the master to exit")
    assert not daemon.pid_file.exists()


# ----- the workers' user and settings


def test_workers_run_as_nobody_under_a_root_master(proxy: Instance) -> None:
    """The master looked up nobody's groups (worker.look_up_groups): no worker ran the code of glibc's
    NSS modules (on Debian 12, passwd and group go to libnss_systemd as well as the files), which the
    master loaded."""
    for pid in proxy.worker_pids():
        assert status_ids(pid) == {"Uid": [NOBODY] * 4, "Gid": [NOBODY] * 4, "Groups": [NOBODY]}
        assert resident_code_kb(pid, "/libnss_") == 0
    assert proxy.master is not None
    assert status_ids(proxy.master.pid)["Uid"] == [0] * 4


def resident_code_kb(pid: int, library: str) -> int:
    """The resident kB of the executable mappings of files whose path has `library` in the process."""
    total, counting = 0, False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's first line: range, permissions, ...
            counting = "x" in fields[1] and len(fields) > 5 and library in fields[5]
        elif counting and fields[0] == "Rss:":
            total += int(fields[1])
    return total


def test_workers_run_as_the_user_and_still_read_root_s_certificates(
    backends: tuple[Backend, Backend],
) -> None:
    """The default server's certificate and another server's, chosen by SNI, in a directory only root may
    enter. (An upstream's client certificate: tests/system/test_proxy_seed.py.)"""
    directory = open_directory()
    secret = directory / "private"
    secret.mkdir(mode=0o700)
    authority = Authority(secret)
    instance = Instance("hapair", directory, backends[0], main="user www-data;")
    tls_port = free_port()
    for name in ("localhost", "other.test"):
        certificate, key = authority.issue(name)
        tls = f"ssl_certificate {certificate}; ssl_certificate_key {key};"
        instance.add_server(f"listen 127.0.0.1:{tls_port} ssl; server_name {name}; {tls}")
    with running(instance) as started:
        assert started.start().returncode == 0
        www_data = [33] * 4
        for pid in started.worker_pids():
            assert status_ids(pid) == {"Uid": www_data, "Gid": www_data, "Groups": [33]}
        context = ssl.create_default_context(cafile=str(authority.certificate))
        for name in ("localhost", "other.test"):
            raw = socket.create_connection(("127.0.0.1", tls_port), timeout=TIMEOUT_S)
            with context.wrap_socket(raw, server_hostname=name) as connection:
                connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert connection.recv(12) == b"HTTP/1.1 200"


def test_worker_settings_are_applied_in_the_workers(backends: tuple[Backend, Backend]) -> None:
    main = (
        "worker_priority 5;\nworker_rlimit_nofile 2048;\nworker_rlimit_core 1m;\nworker_cpu_affinity 01 10;\n"
        "working_directory /tmp;"
    )
    instance = Instance("hapair", open_directory(), backends[0], main=main)
    with running(instance) as started:
        assert started.start().returncode == 0
        cpus = []
        for pid in started.worker_pids():
            assert os.getpriority(os.PRIO_PROCESS, pid) == 5
            assert _limit(pid, "Max open files") == ["2048", "2048", "files"]
            assert _limit(pid, "Max core file size") == [str(1 << 20), str(1 << 20), "bytes"]
            assert os.readlink(f"/proc/{pid}/cwd") == "/tmp"
            cpus.append(os.sched_getaffinity(pid))
        assert sorted(cpus, key=sorted) == [{0}, {1}]
        assert started.master is not None
        assert os.getpriority(os.PRIO_PROCESS, started.master.pid) == 0


def _limit(pid: int, name: str) -> list[str]:
    """A line of /proc/PID/limits: soft, hard, unit."""
    lines = Path(f"/proc/{pid}/limits").read_text().splitlines()
    return next(line[len(name) :].split() for line in lines if line.startswith(name))


def test_worker_shutdown_timeout_closes_what_is_left(
    backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    instance = Instance("hapair", open_directory(), backends[0], main="worker_shutdown_timeout 200ms;")
    with running(instance) as started:
        started.start_foreground()
        started.wait_serving()
        in_flight = slow_request(started.port, backends[0], pool)
        started.signal(signal.SIGQUIT)
        assert started.foreground is not None and started.foreground.wait(TIMEOUT_S) == 0
        with pytest.raises((OSError, http.client.HTTPException)):
            in_flight.result(TIMEOUT_S)
        assert not backends[0].release.is_set()


def test_master_process_off_serves_in_the_one_process(
    backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    alpha, beta = backends
    instance = Instance("hapair", open_directory(), alpha, main="master_process off;")
    with running(instance) as started:
        assert started.start().returncode == 0
        assert started.master is not None
        assert (get(started.port), started.worker_pids()) == ((200, "alpha"), set())
        assert status_ids(started.master.pid)["Uid"] == [0] * 4
        in_flight = slow_request(started.port, alpha, pool)
        started.write_config(beta)
        assert started.command("-s", "reload").returncode == 0
        wait_until(lambda: get(started.port) == (200, "beta"), TIMEOUT_S, "the new upstream")
        alpha.release.set()
        assert in_flight.result(TIMEOUT_S) == (200, "alpha")
        assert started.command("-s", "quit").returncode == 0
        wait_until(started.gone, TIMEOUT_S, "the process to exit")
        assert not started.pid_file.exists()


def test_workers_keep_only_tz_and_the_variables_env_names() -> None:
    current = {"KEPT": "kept", "DROPPED": "x", "TZ": "UTC", "PATH": "/bin"}
    assert worker_environment(("KEPT", "SET=value", "MISSING", "SET=other"), current) == {
        "KEPT": "kept",
        "SET": "value",
        "TZ": "UTC",
    }
    assert worker_environment(("TZ=Europe/Paris",), current) == {"TZ": "Europe/Paris"}

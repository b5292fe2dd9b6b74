"""The same steps with `hapair proxy` and with the real nginx (Debian's 1.22.1), each on its own
configuration in its own directory under /tmp, with the same assertions: started as a daemon the command
returns serving; the pid file appears once connections are accepted; a start on an address in use fails
with the same messages; `-s reload`, `-s quit` and `-s reopen` do the same; the workers run as the same
user and group, and a log file reopened is given to them."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from hapair.lab.processes import ProcessId
from tests.topology import wait_until

from .processes import (
    NGINX,
    TIMEOUT_S,
    Backend,
    Instance,
    answers,
    get,
    open_directory,
    running,
    slow_request,
    status_ids,
)

NOBODY = 65534
WWW_DATA = 33
MISSING = (
    "nginx is not installed"
    if not os.path.exists(NGINX)
    else "the workers' user changes only under root"
    if os.geteuid() != 0
    else None
)
pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]
PROGRAMS = ["hapair", "nginx"]


@pytest.fixture
def backends() -> Iterator[tuple[Backend, Backend]]:
    pair = Backend("alpha"), Backend("beta")
    yield pair
    for backend in pair:
        backend.close()


@pytest.fixture(params=PROGRAMS)
def instance(request: pytest.FixtureRequest, backends: tuple[Backend, Backend]) -> Iterator[Instance]:
    with running(Instance(request.param, open_directory(), backends[0])) as started:
        yield started


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def test_daemon_start_returns_serving(instance: Instance) -> None:
    done = instance.start()
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    with socket.create_connection(("127.0.0.1", instance.port), timeout=TIMEOUT_S) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert connection.recv(12) == b"HTTP/1.1 200"
    assert instance.master is not None
    pid = instance.master.pid
    assert os.getsid(pid) == pid
    assert [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in (0, 1, 2)] == [
        "/dev/null",
        "/dev/null",
        str(instance.directory / "logs" / "error.log"),
    ]
    wait_until(lambda: len(instance.worker_pids()) == 2, TIMEOUT_S, "both workers")


def test_the_pid_file_appears_once_connections_are_accepted(instance: Instance) -> None:
    instance.start_foreground()
    wait_until(instance.pid_file.exists, TIMEOUT_S, "the pid file", interval=0.001)
    with socket.create_connection(("127.0.0.1", instance.port), timeout=TIMEOUT_S) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert connection.recv(12) == b"HTTP/1.1 200"


def test_a_start_on_an_address_in_use_fails_with_nginx_s_messages(backends: tuple[Backend, Backend]) -> None:
    results = []
    for program in PROGRAMS:
        with running(Instance(program, open_directory(), backends[0])) as instance, socket.socket() as taken:
            taken.bind(("127.0.0.1", instance.port))
            taken.listen()
            done = instance.start()
            text = done.stderr.replace(str(instance.port), "PORT")
            results.append((done.returncode, done.stdout, text, instance.pid_file.exists()))
    assert results[0] == results[1]
    assert results[0][2].count("bind() to 127.0.0.1:PORT failed (98: Address already in use)") == 5


def test_s_reload_applies_an_edit_without_failing_a_request_in_flight(
    instance: Instance, backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    alpha, beta = backends
    assert instance.start().returncode == 0
    in_flight = slow_request(instance.port, alpha, pool)
    instance.write_config(beta)
    done = instance.command("-s", "reload")
    assert (done.returncode, done.stdout) == (0, "")
    wait_until(lambda: get(instance.port) == (200, "beta"), TIMEOUT_S, "the new upstream")
    alpha.release.set()
    assert in_flight.result(TIMEOUT_S) == (200, "alpha")


def test_s_quit_drains_and_exits(
    instance: Instance, backends: tuple[Backend, Backend], pool: ThreadPoolExecutor
) -> None:
    assert instance.start().returncode == 0
    in_flight = slow_request(instance.port, backends[0], pool)
    assert instance.command("-s", "quit").returncode == 0
    wait_until(lambda: not answers(instance.port), TIMEOUT_S, "the listeners to close")
    assert not instance.gone()
    backends[0].release.set()
    assert in_flight.result(TIMEOUT_S) == (200, "alpha")
    wait_until(instance.gone, TIMEOUT_S, "the master to exit")
    assert not instance.pid_file.exists()


def test_s_reopen_gives_the_new_log_file_to_the_workers(instance: Instance) -> None:
    assert instance.start().returncode == 0
    log = instance.directory / "logs" / "access.log"
    log.rename(log.with_suffix(".old"))
    assert instance.command("-s", "reopen").returncode == 0
    wait_until(lambda: instance.error_log().count("reopening logs") == 4, TIMEOUT_S, "master and workers")
    assert get(instance.port, "/after") == (200, "alpha")
    wait_until(lambda: "GET /after " in log.read_text(), TIMEOUT_S, "the request in the new file")
    info = log.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY, 0, 0o644)


@pytest.mark.parametrize(
    ("main", "ids"),
    [
        ("", {"Uid": [NOBODY] * 4, "Gid": [NOBODY] * 4, "Groups": [NOBODY]}),
        ("user www-data;", {"Uid": [WWW_DATA] * 4, "Gid": [WWW_DATA] * 4, "Groups": [WWW_DATA]}),
        ("user www-data nogroup;", {"Uid": [WWW_DATA] * 4, "Gid": [NOBODY] * 4, "Groups": [NOBODY]}),
    ],
)
@pytest.mark.parametrize("program", PROGRAMS)
def test_workers_run_as_the_user(
    backends: tuple[Backend, Backend], program: str, main: str, ids: dict[str, list[int]]
) -> None:
    with running(Instance(program, open_directory(), backends[0], main=main)) as instance:
        assert instance.start().returncode == 0
        # nginx's command returns before its workers have changed user: wait for them
        workers = lambda: [status_ids(pid) for pid in instance.worker_pids()]  # noqa: E731
        wait_until(lambda: workers() == [ids, ids], TIMEOUT_S, "both workers, as the user")
        assert instance.master is not None
        assert status_ids(instance.master.pid)["Uid"] == [0] * 4


def normalized(text: str) -> str:
    """A line's text with numbers of two digits or more (pids) as N, and hapair's version as nginx's."""
    return re.sub(r"\b\d{2,}\b", "N", text.replace("hapair/0.1.0 (nginx/1.22.1)", "nginx/1.22.1"))


def start_reload_quit(instance: Instance) -> tuple[list[str], list[str]]:
    """The lines the command writes before it forks the master, and the master's (without SIGCHLD and
    SIGIO lines: their number depends on how the exits of the workers fall together)."""
    assert instance.start().returncode == 0
    assert instance.master is not None
    first = instance.worker_pids()
    assert instance.command("-s", "reload").returncode == 0
    wait_until(lambda: len(instance.worker_pids() - first) == 2, TIMEOUT_S, "the new workers")
    # the master's own lines, not /proc: a worker may leave /proc's list of children before nginx's master
    # logs its exit (seen in CI), and a SIGQUIT sent in between is then logged first
    exits = lambda: instance.error_log().count("exited with code")  # noqa: E731
    wait_until(lambda: exits() == 2, TIMEOUT_S, "the master to log the old workers' exits")
    assert not instance.worker_pids() & first
    assert instance.command("-s", "quit").returncode == 0
    wait_until(instance.gone, TIMEOUT_S, "the master to exit")
    before: list[str] = []
    master: list[str] = []
    for line in instance.error_log().splitlines():
        head, _, text = line.partition(": ")
        if f" {instance.master.pid}#" in head:
            if not re.match(r"signal (17|29) ", text):
                master.append(normalized(text))
        elif not master:
            before.append(normalized(text))
    return before, master


def test_the_command_and_the_master_log_what_nginx_s_log(backends: tuple[Backend, Backend]) -> None:
    logs = []
    for program in PROGRAMS:
        with running(Instance(program, open_directory(), backends[0])) as instance:
            logs.append(start_reload_quit(instance))
    assert logs[0] == logs[1]
    assert len(logs[0][0]) == 4


def test_the_master_logs_the_sigchld_of_its_workers_only(backends: tuple[Backend, Backend]) -> None:
    """hapair's master reads its configuration in a child process (forked.py) at a reload; nginx's reads
    it itself, so its log has no SIGCHLD line but its workers': neither has hapair's."""
    with running(Instance("hapair", open_directory(), backends[0])) as instance:
        start_reload_quit(instance)
        log = instance.error_log()
    workers = set(re.findall(r"start worker process (\d+)", log))
    senders = set(re.findall(r"signal 17 \(SIGCHLD\) received from (\d+)", log))
    assert len(workers) == 4
    assert senders
    assert senders <= workers


def unix_get(path: str) -> bytes:
    with socket.socket(socket.AF_UNIX) as connection:
        connection.settimeout(TIMEOUT_S)
        connection.connect(path)
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return connection.recv(12)


def test_a_unix_socket_is_shared_by_the_workers_and_removed_at_exit(instance: Instance) -> None:
    path = instance.directory / "http.sock"
    instance.add_server(f"listen unix:{path};")
    assert instance.start().returncode == 0
    assert (unix_get(str(path)), stat.S_IMODE(path.stat().st_mode)) == (b"HTTP/1.1 200", 0o666)
    first = instance.worker_pids()
    assert instance.command("-s", "reload").returncode == 0
    wait_until(lambda: not instance.worker_pids() & first, TIMEOUT_S, "the old workers to exit")
    assert unix_get(str(path)) == b"HTTP/1.1 200"
    assert instance.command("-s", "quit").returncode == 0
    wait_until(instance.gone, TIMEOUT_S, "the master to exit")
    assert not path.exists()


def test_the_steps_of_debian_s_nginx_service(instance: Instance, backends: tuple[Backend, Backend]) -> None:
    """ExecStartPre, ExecStart (Type=forking: the pid file is read once the command returns), ExecReload,
    ExecStop (start-stop-daemon --stop --retry QUIT/5 --pidfile), with the unit's -g."""
    directives = "daemon on; master_process on;"
    checked = instance.command("-t", "-q", "-g", directives)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
    assert instance.command("-g", directives).returncode == 0
    master = int(instance.pid_file.read_text())
    instance.master = ProcessId.of(master)  # the fixture stops it, also when an assertion below fails
    assert get(instance.port) == (200, "alpha")
    instance.write_config(backends[1])
    assert instance.command("-g", directives, "-s", "reload").returncode == 0
    wait_until(lambda: get(instance.port) == (200, "beta"), TIMEOUT_S, "the reload")
    os.kill(master, signal.SIGQUIT)
    wait_until(instance.gone, TIMEOUT_S, "the master to stop")
    assert not instance.pid_file.exists()

"""The real nginx (Debian's 1.22.1) beside `hapair proxy` on the same command lines: options, `-t`, `-q`,
`-T`, `-g`, `-e`, `-s` without a running master, and the main and `events` directives: the same exit
status, the same stdout, the same stderr lines (an error log line's time and pid left out). Where hapair
says other than nginx on purpose (`-v`, `-V`, `-h` name hapair; a pid file naming process 0), the
difference is asserted as such. Every command line names its pid file (`-g 'pid ...;'`) and prefix: the
machine's own /run and /etc are never read or written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .commandline import NGINX, Ran, hapair, nginx

MISSING = (
    "nginx is not installed"
    if not Path(NGINX).exists()
    else "nginx -t needs root to open its default paths"
    if os.geteuid() != 0
    else None
)
pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def both(*args: str) -> tuple[Ran, Ran]:
    return hapair(*args), nginx(*args)


def same(*args: str) -> None:
    ours, theirs = both(*args)
    assert (ours.status, ours.stdout, ours.lines()) == (theirs.status, theirs.stdout, theirs.lines())


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    (tmp_path / "ok.conf").write_text("events {}\n")
    return tmp_path


def base(prefix: Path, conf: str = "ok.conf") -> list[str]:
    return ["-p", f"{prefix}/", "-c", conf, "-g", f"pid {prefix}/nginx.pid;"]


@pytest.mark.parametrize(
    "argv",
    [
        ["-x"],
        ["-tx"],
        ["foo"],
        ["--"],
        [""],
        ["-c"],
        ["-p"],
        ["-e"],
        ["-g"],
        ["-s"],
        ["-s", "restart"],
        ["-shup"],
        ["-t", "-s"],
    ],
)
def test_a_refused_command_line(argv: list[str]) -> None:
    same(*argv)


@pytest.mark.parametrize(
    "flags",
    [["-t"], ["-q", "-t"], ["-tq"], ["-T"], ["-Tq"], ["-t", "-e", "stderr"], ["-t", "-s", "reload"]],
)
def test_a_good_configuration(prefix: Path, flags: list[str]) -> None:
    (prefix / "inc.conf").write_text("worker_priority 0;\n")
    (prefix / "main.conf").write_text("include inc.conf;\nevents {}\ninclude inc.conf;\n# no newline")
    same(*flags, *base(prefix, "main.conf"))


@pytest.mark.parametrize(
    "flags", [["-t"], ["-tq"], ["-T"], ["-t", "-e", "logs/e.log"], ["-t", "-e", "stderr"]]
)
def test_a_bad_configuration(prefix: Path, flags: list[str]) -> None:
    (prefix / "bad.conf").write_text("events {}\nbogus;\n")
    same(*flags, *base(prefix, "bad.conf"))


def test_the_e_file_gets_the_same_lines(prefix: Path) -> None:
    (prefix / "bad.conf").write_text("events {}\nbogus;\n")
    args = ["-t", *base(prefix, "bad.conf"), "-e", "logs/e.log"]
    hapair(*args)
    ours = (prefix / "logs" / "e.log").read_text()
    (prefix / "logs" / "e.log").unlink()
    nginx(*args)
    theirs = (prefix / "logs" / "e.log").read_text()
    assert Ran(0, "", ours).lines() == Ran(0, "", theirs).lines()


def test_an_e_file_that_cannot_be_opened(prefix: Path) -> None:
    same("-t", *base(prefix), "-e", "/nonexistent/e.log")


@pytest.mark.parametrize(
    "directives",
    [
        "daemon off;",
        "daemon off; daemon on;",
        "daemon off",
        "events {}",
        "}",
        "foo;",
        "listen 80;",
        "worker_processes 2; master_process off;",
        "include nosuch.conf;",
        "error_log logs/g.log;",
        '"unterminated',
    ],
)
def test_g_directives(prefix: Path, directives: str) -> None:
    same("-t", *base(prefix), "-g", directives)


def test_g_directives_before_the_file_s(prefix: Path) -> None:
    (prefix / "d.conf").write_text("daemon off;\nevents {}\n")
    same("-t", "-p", f"{prefix}/", "-c", "d.conf", "-g", f"daemon on; pid {prefix}/nginx.pid;")


def test_s_without_a_pid_file(prefix: Path) -> None:
    same("-s", "reload", *base(prefix))
    same("-s", "stop", *base(prefix), "-e", "logs/e.log")


@pytest.mark.parametrize("content", ["", "\n", "12x\n", "\r\n12\n", "abc"])
def test_s_with_a_pid_file_without_a_pid(prefix: Path, content: str) -> None:
    (prefix / "nginx.pid").write_text(content)
    same("-s", "quit", *base(prefix))


def test_s_to_a_pid_that_is_gone(prefix: Path) -> None:
    (prefix / "nginx.pid").write_text("4194304\n")  # above pid_max: no such process can exist
    same("-s", "reopen", *base(prefix))


def test_s_with_a_configuration_that_does_not_read(prefix: Path) -> None:
    (prefix / "bad.conf").write_text("events {}\nbogus;\n")
    same("-s", "reload", *base(prefix, "bad.conf"))


def test_s_refuses_a_pid_file_naming_process_0_where_nginx_would_signal_its_group(prefix: Path) -> None:
    (prefix / "nginx.pid").write_text("0\n")
    ran = hapair("-s", "reopen", *base(prefix))
    assert (ran.status, ran.lines()[-1]) == (1, f'[error] invalid PID number "0" in "{prefix}/nginx.pid"')


METRICS_HELP = "  --metrics addr:port : serve Prometheus metrics there (hapair's own)"


def test_versions_and_help_name_hapair_where_nginx_names_itself() -> None:
    ours, theirs = both("-v")
    assert (ours.status, theirs.status, ours.stdout, theirs.stdout) == (0, 0, "", "")
    assert (ours.stderr, theirs.stderr) == (
        "nginx version: hapair/0.1.0 (nginx/1.22.1)\n",
        "nginx version: nginx/1.22.1\n",
    )
    ours, theirs = both("-h")
    options = ours.stderr.splitlines()[3:]
    options.remove(METRICS_HELP)  # hapair's own option, after nginx's
    assert options == theirs.stderr.splitlines()[3:]  # the options and their defaults
    assert ours.stderr.splitlines()[1] == theirs.stderr.splitlines()[1].replace("nginx", "hapair proxy")
    ours, theirs = both("-V")
    assert [line.split()[:2] for line in ours.stderr.splitlines()] == [
        line.split()[:2] for line in theirs.stderr.splitlines()
    ]
    nginx_arguments = set(theirs.stderr.splitlines()[-1].split())
    assert set(ours.stderr.splitlines()[-1].split()) <= nginx_arguments | {"--prefix=/usr/share/nginx"}


# the main and events directives, with nginx -t
MAIN_CASES = [
    "user nosuchuser;",
    "user nobody nosuchgroup;",
    "user nobody;",
    "user www-data;",
    "user www-data;\nuser www-data;",
    "worker_priority -5;\nworker_priority 3;",
    "worker_priority 0;\nworker_priority 3;",
    "worker_priority x;",
    "worker_priority +-1;",
    "worker_cpu_affinity 0102;",
    "worker_cpu_affinity auto 01 10;",
    "worker_processes 3;\nworker_cpu_affinity 01 10;",
    "worker_processes 2;\nworker_cpu_affinity 01 10;",
    "worker_cpu_affinity auto;",
    "worker_cpu_affinity 01;\nworker_cpu_affinity 10;",
    "worker_rlimit_nofile x;",
    "worker_rlimit_nofile 4096;",
    "worker_rlimit_core 1x;",
    "worker_rlimit_core 10m;",
    "worker_shutdown_timeout 1x;",
    "worker_shutdown_timeout 10s;",
    "env A=b=c;\nenv A;",
    "lock_file a;\nlock_file b;",
    "lock_file logs/x.lock;",
    "working_directory /nonexistent;",
    "pcre_jit maybe;",
    "pcre_jit on;",
    "daemon maybe;",
    "daemon off;\nmaster_process off;",
    "master_process on;\nmaster_process on;",
]
EVENTS_CASES = [
    "use kqueue;",
    "use select;",
    "use epoll;",
    "use epoll; use epoll;",
    "use EPOLL;",
    "multi_accept maybe;",
    "multi_accept on;",
    "accept_mutex off;",
    "accept_mutex_delay 1x;",
    "accept_mutex_delay 100ms;",
    "worker_connections 0;",
    "worker_connections 100000;",
]


@pytest.mark.parametrize("case", MAIN_CASES)
def test_a_main_directive(prefix: Path, case: str) -> None:
    (prefix / "case.conf").write_text(f"{case}\nevents {{}}\n")
    same("-t", *base(prefix, "case.conf"))


@pytest.mark.parametrize("case", EVENTS_CASES)
def test_an_events_directive(prefix: Path, case: str) -> None:
    (prefix / "case.conf").write_text(f"events {{ {case} }}\n")
    same("-t", *base(prefix, "case.conf"))


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("events { multi_accept off; }", 'hapair does not support "off" in the "multi_accept" directive'),
        ("events { accept_mutex on; }", 'hapair does not support "on" in the "accept_mutex" directive'),
        ("events { use event_core; }", 'invalid event type "event_core"'),
        ("timer_resolution 100ms;\nevents {}", 'hapair does not support the "timer_resolution" directive'),
        ("debug_points stop;\nevents {}", 'hapair does not support the "debug_points" directive'),
        ("events { epoll_events 512; }", 'hapair does not support the "epoll_events" directive'),
        ("events { worker_aio_requests 32; }", 'hapair does not support the "worker_aio_requests" directive'),
        ("events { debug_connection ::1; }", 'hapair does not support the "debug_connection" directive'),
    ],
)
def test_what_hapair_refuses_nginx_accepts(prefix: Path, case: str, refusal: str) -> None:
    (prefix / "case.conf").write_text(case + "\n")
    ours, theirs = both("-t", *base(prefix, "case.conf"))
    assert (theirs.status, ours.status, refusal in ours.lines()[0]) == (0, 1, True)

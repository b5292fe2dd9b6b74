"""`hapair proxy`'s command line, as nginx 1.22 reads it: options, `-t`, `-T`, `-q`, `-g`, `-e`, `-v`,
`-V`, `-h`, and `-s` without a running master; messages on stderr and exit statuses as nginx's (the real
nginx beside it: test_commandline_oracle.py)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hapair.cli.proxy import OptionError, Options, parse_options

from .commandline import Ran, hapair, log_lines


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "lb.conf"
    path.write_text("events {}\nstream { server { listen 127.0.0.1:38080; proxy_pass 127.0.0.1:9; } }\n")
    return path


def test_options_are_read_as_nginx_reads_them() -> None:
    options = parse_options(["-tq", "-cfile.conf", "-p", "/srv/", "-g", "daemon off;", "-e", "stderr"])
    assert options == Options(
        test=True, quiet=True, conf_file="file.conf", prefix="/srv/", directives="daemon off;", error_log=""
    )


def test_the_last_of_a_repeated_option_wins_and_a_value_may_look_like_an_option() -> None:
    assert parse_options(["-g", "a;", "-g", "-b;", "-c", "-t"]) == Options(directives="-b;", conf_file="-t")


def test_help_and_versions_set_what_nginx_sets() -> None:
    assert parse_options(["-?"]) == Options(help=True, version=True)
    assert parse_options(["-V"]) == Options(version=True, configure=True)
    assert parse_options(["-T"]) == Options(test=True, dump=True)
    assert parse_options(["-sreload"]) == Options(signal="reload")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-x"], 'invalid option: "x"'),
        (["-tx"], 'invalid option: "x"'),
        (["foo"], 'invalid option: "foo"'),
        (["--"], 'invalid option: "-"'),
        ([""], 'invalid option: ""'),
        (["-c"], 'option "-c" requires file name'),
        (["-p"], 'option "-p" requires directory name'),
        (["-e"], 'option "-e" requires file name'),
        (["-g"], 'option "-g" requires parameter'),
        (["-s"], 'option "-s" requires parameter'),
        (["-s", "restart"], 'invalid option: "-s restart"'),
        (["-shup"], 'invalid option: "-s hup"'),
    ],
)
def test_a_command_line_nginx_refuses_is_refused_with_its_message(argv: list[str], message: str) -> None:
    with pytest.raises(OptionError) as refused:
        parse_options(argv)
    assert str(refused.value) == message
    assert hapair(*argv) == Ran(1, "", f"nginx: {message}\n")


def test_a_lone_dash_is_no_option() -> None:
    assert parse_options(["-"]) == Options()


def test_version_names_hapair_and_the_nginx_it_follows() -> None:
    assert hapair("-v") == Ran(0, "", "nginx version: hapair/0.1.0 (nginx/1.22.1)\n")


def test_v_upper_adds_what_hapair_is_built_with_and_debian_s_paths() -> None:
    lines = hapair("-V").stderr.splitlines()
    assert (lines[0], lines[2]) == ("nginx version: hapair/0.1.0 (nginx/1.22.1)", "TLS SNI support enabled")
    assert re.fullmatch(r"built with OpenSSL .* \(Python 3\.\d+\.\d+, uvloop .*, httptools .*\)", lines[1])
    assert lines[3].startswith("configure arguments: --prefix=/usr/share/nginx ")
    assert {"--conf-path=/etc/nginx/nginx.conf", "--pid-path=/run/nginx.pid"} <= set(lines[3].split())


def test_help_is_nginx_s_usage() -> None:
    lines = hapair("-h").stderr.splitlines()
    assert lines[1:3] == [
        "Usage: hapair proxy [-?hvVtTq] [-s signal] [-p prefix]",
        "             [-e filename] [-c filename] [-g directives]",
    ]
    assert "  -g directives : set global directives out of configuration file" in lines


def test_version_with_t_goes_on_to_the_test(conf: Path) -> None:
    lines = hapair("-v", "-t", "-c", str(conf)).stderr.splitlines()
    assert lines == [
        "nginx version: hapair/0.1.0 (nginx/1.22.1)",
        f"nginx: the configuration file {conf} syntax is ok",
        f"nginx: configuration file {conf} test is successful",
    ]


def test_a_good_configuration_passes_with_nginx_lines(conf: Path, tmp_path: Path) -> None:
    assert hapair("-t", "-c", str(conf), "-p", f"{tmp_path}/") == Ran(
        0,
        "",
        f"nginx: the configuration file {conf} syntax is ok\n"
        f"nginx: configuration file {conf} test is successful\n",
    )


def test_q_leaves_only_errors(conf: Path, tmp_path: Path) -> None:
    assert hapair("-tq", "-c", str(conf)) == Ran(0, "", "")
    conf.write_text("events {}\nbogus;\n")
    assert hapair("-q", "-t", "-c", str(conf)).lines() == [
        f'[emerg] unknown directive "bogus" in {conf}:2',
        f"nginx: configuration file {conf} test failed",
    ]


def test_errors_go_to_stderr_as_error_log_lines_by_default(conf: Path) -> None:
    conf.write_text("events {}\nbogus;\n")
    ran = hapair("-t", "-c", str(conf))
    assert ran.status == 1
    assert re.fullmatch(
        r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[emerg\] \d+#\d+: unknown directive \"bogus\" in .*lb\.conf:2",
        ran.stderr.splitlines()[0],
    )


def test_e_file_takes_the_log_lines_and_stderr_gets_nginx_s_short_form(conf: Path, tmp_path: Path) -> None:
    conf.write_text("events {}\nbogus;\n")
    ran = hapair("-t", "-c", str(conf), "-p", str(tmp_path), "-e", "e.log")
    assert ran.lines() == [
        f'nginx: [emerg] unknown directive "bogus" in {conf}:2',
        f"nginx: configuration file {conf} test failed",
    ]
    assert log_lines(tmp_path / "e.log") == [f'[emerg] unknown directive "bogus" in {conf}:2']


def test_an_e_file_that_cannot_be_opened_is_said_and_stderr_used(conf: Path) -> None:
    assert hapair("-t", "-c", str(conf), "-e", "/nonexistent/e.log").lines() == [
        'nginx: [alert] could not open error log file: open() "/nonexistent/e.log" failed (2: No such file '
        "or directory)",
        f"nginx: the configuration file {conf} syntax is ok",
        '[emerg] open() "/nonexistent/e.log" failed (2: No such file or directory)',
        f"nginx: configuration file {conf} test failed",
    ]


def test_a_bind_failure_goes_to_the_configuration_s_error_log(conf: Path, tmp_path: Path) -> None:
    conf.write_text(
        f"error_log {tmp_path}/main.log;\nevents {{}}\n"
        "stream { server { listen 192.0.2.1:38080; proxy_pass 127.0.0.1:9; } }\n"
    )
    failure = "bind() to 192.0.2.1:38080 failed (99: Cannot assign requested address)"
    assert hapair("-t", "-c", str(conf)).lines() == [
        f"nginx: the configuration file {conf} syntax is ok",
        f"nginx: [emerg] {failure}",
        f"nginx: configuration file {conf} test failed",
    ]
    assert log_lines(tmp_path / "main.log") == [f"[emerg] {failure}"]


def test_g_directives_are_read_before_the_file(conf: Path) -> None:
    conf.write_text("daemon off;\nevents {}\n")
    assert hapair("-t", "-c", str(conf), "-g", "daemon on;").lines() == [
        f'[emerg] "daemon" directive is duplicate in {conf}:1',
        f"nginx: configuration file {conf} test failed",
    ]


@pytest.mark.parametrize(
    ("directives", "message"),
    [
        ("daemon off; daemon on;", '"daemon" directive is duplicate in command line'),
        ("daemon off", 'unexpected end of parameter, expecting ";" in command line'),
        ("events {}", "block directives are not supported in -g option in command line"),
        ("}", 'unexpected "}" in command line'),
        ("foo;", 'unknown directive "foo" in command line'),
        ("listen 80;", '"listen" directive is not allowed here in command line'),
    ],
)
def test_g_errors_are_placed_in_command_line(conf: Path, directives: str, message: str) -> None:
    assert hapair("-t", "-c", str(conf), "-g", directives).lines()[0] == f"[emerg] {message}"


def test_t_upper_dumps_each_file_read_once_in_order(tmp_path: Path) -> None:
    (tmp_path / "main.conf").write_text("include a.conf;\nevents {}\ninclude a.conf;\n# end")
    (tmp_path / "a.conf").write_text("worker_priority 0;\n")
    (tmp_path / "g.conf").write_text("")
    ran = hapair("-T", "-p", str(tmp_path), "-c", "main.conf", "-g", "include g.conf;")
    assert (ran.status, ran.stdout) == (
        0,
        f"# configuration file {tmp_path}/g.conf:\n\n"
        f"# configuration file {tmp_path}/main.conf:\ninclude a.conf;\nevents {{}}\ninclude a.conf;\n# end\n"
        f"# configuration file {tmp_path}/a.conf:\nworker_priority 0;\n\n",
    )


def test_t_upper_dumps_nothing_when_the_test_fails(conf: Path) -> None:
    conf.write_text("events {}\nbogus;\n")
    assert hapair("-T", "-c", str(conf)).stdout == ""


def test_s_without_a_pid_file_says_so_and_fails(conf: Path, tmp_path: Path) -> None:
    ran = hapair("-s", "reload", "-c", str(conf), "-g", f"pid {tmp_path}/none.pid;")
    assert (ran.status, ran.lines()) == (
        1,
        [
            "[notice] signal process started",
            f'[error] open() "{tmp_path}/none.pid" failed (2: No such file or directory)',
        ],
    )


@pytest.mark.parametrize("content", ["", "\n", "12x\n", "0\n", "99999999999\n"])
def test_s_refuses_a_pid_file_without_a_pid(conf: Path, tmp_path: Path, content: str) -> None:
    (tmp_path / "lb.pid").write_text(content)
    ran = hapair("-s", "stop", "-c", str(conf), "-g", f"pid {tmp_path}/lb.pid;", "-e", f"{tmp_path}/e.log")
    refusal = f'nginx: [error] invalid PID number "{content.rstrip()}" in "{tmp_path}/lb.pid"'
    assert (ran.status, ran.lines()) == (1, [refusal])


def test_s_to_a_process_that_is_gone_fails_with_kill_s_error(conf: Path, tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "lb.pid").write_text(f"{gone.pid}\n")
    ran = hapair("-s", "quit", "-c", str(conf), "-g", f"pid {tmp_path}/lb.pid;")
    assert ran.lines()[-1] == f"[alert] kill({gone.pid}, 3) failed (3: No such process)"


def test_s_sends_nginx_s_signal_to_the_pid_in_the_file(conf: Path, tmp_path: Path) -> None:
    wait = "s = {signal.SIGUSR1}; signal.pthread_sigmask(signal.SIG_BLOCK, s); print(0, flush=True); "
    receiver = subprocess.Popen(
        [sys.executable, "-c", f"import signal; {wait} print(signal.sigwait(s), flush=True)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None and receiver.stdout.readline() == "0\n"
        (tmp_path / "lb.pid").write_text(f"{receiver.pid}\n")
        ran = hapair("-s", "reopen", "-c", str(conf), "-g", f"pid {tmp_path}/lb.pid;")
        assert ran.status == 0
        assert receiver.communicate(timeout=10)[0].strip() == str(int(signal.SIGUSR1))
    finally:
        receiver.kill()
        receiver.wait()


def test_s_reads_the_configuration_and_stops_at_its_errors(conf: Path, tmp_path: Path) -> None:
    conf.write_text("events {}\nbogus;\n")
    ran = hapair("-s", "reload", "-c", str(conf), "-g", f"pid {tmp_path}/lb.pid;")
    assert (ran.status, ran.lines()) == (1, [f'[emerg] unknown directive "bogus" in {conf}:2'])


def test_the_configuration_file_is_relative_to_the_prefix(tmp_path: Path) -> None:
    (tmp_path / "lb.conf").write_text("events {}\n")
    ran = hapair("-t", "-c", "lb.conf", "-p", str(tmp_path))
    assert ran.stderr.splitlines()[0] == f"nginx: the configuration file {tmp_path}/lb.conf syntax is ok"


def test_without_t_a_missing_file_stops_the_start_with_nginx_s_emerg_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hapair", "proxy", "-c", str(tmp_path / "lb.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    stamp = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[emerg\] \d+#\d+: "
    line = stamp + r'open\(\) ".*/lb.conf" failed \(2: No such file or directory\)'
    assert (done.returncode, re.fullmatch(line, done.stderr.strip()) is not None) == (1, True)

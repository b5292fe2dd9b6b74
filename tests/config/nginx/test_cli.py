"""`hapair proxy`: `-t` prints what `nginx -t` prints, with its exit status."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hapair.cli.main import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hapair", "proxy", *args], capture_output=True, text=True, check=False
    )


def test_a_good_configuration_passes_with_nginx_lines(tmp_path: Path) -> None:
    conf = tmp_path / "lb.conf"
    conf.write_text("events {}\nstream { server { listen 127.0.0.1:38080; proxy_pass 127.0.0.1:9; } }\n")
    result = run("-t", "-c", str(conf), "-p", f"{tmp_path}/")
    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (
        0,
        "",
        [
            f"nginx: the configuration file {conf} syntax is ok",
            f"nginx: configuration file {conf} test is successful",
        ],
    )


def test_a_bad_configuration_fails_with_the_emerg_line(tmp_path: Path) -> None:
    conf = tmp_path / "lb.conf"
    conf.write_text("events {}\nbogus;\n")
    result = run("-t", "-c", str(conf), "-p", f"{tmp_path}/")
    assert (result.returncode, result.stderr.splitlines()) == (
        1,
        [
            f'nginx: [emerg] unknown directive "bogus" in {conf}:2',
            f"nginx: configuration file {conf} test failed",
        ],
    )


def test_a_failure_after_reading_prints_syntax_is_ok_first(tmp_path: Path) -> None:
    conf = tmp_path / "lb.conf"
    conf.write_text("error_log /nonexistent/dir/e.log;\nevents {}\n")
    result = run("-t", "-c", str(conf))
    assert result.stderr.splitlines() == [
        f"nginx: the configuration file {conf} syntax is ok",
        'nginx: [emerg] open() "/nonexistent/dir/e.log" failed (2: No such file or directory)',
        f"nginx: configuration file {conf} test failed",
    ]


def test_the_configuration_file_is_relative_to_the_prefix(tmp_path: Path) -> None:
    (tmp_path / "lb.conf").write_text("events {}\n")
    result = run("-t", "-c", "lb.conf", "-p", str(tmp_path))
    assert result.stderr.splitlines()[0] == f"nginx: the configuration file {tmp_path}/lb.conf syntax is ok"


def test_without_t_a_missing_file_stops_the_start_with_nginx_s_emerg_line(
    tmp_path: Path, capsys: object
) -> None:
    assert main(["proxy", "-c", str(tmp_path / "lb.conf")]) == 1
    error = capsys.readouterr().err  # type: ignore[attr-defined]
    stamp = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[emerg\] \d+#\d+: "
    line = stamp + r'open\(\) ".*/lb.conf" failed \(2: No such file or directory\)'
    assert re.fullmatch(line, error.strip())

"""`hapair vrrp` reads the plain forms of its options without argparse (cli/vrrp.read_plainly) and leaves
every other command line to argparse: whatever it reads, argparse's parser reads the same way; help,
errors and the rarer forms are argparse's, with its messages and exit status."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hapair.cli.main import build_parser
from hapair.cli.vrrp import FLAGS, OPTIONAL_VALUE, VALUES, read_plainly

PARSER = build_parser("vrrp")
TOKENS = [
    *FLAGS,
    *VALUES,
    *OPTIONAL_VALUE,
    "-nlG",
    "-Dn",
    "-nf",
    "-nx",
    "-fconf",
    "-f=conf",
    "--use-file=conf",
    "--use=conf",
    "--log-console=x",
    "--metrics=127.0.0.1:9100",
    "--metrics=nowhere",
    "127.0.0.1:9100",
    "[::1]:9100",
    "local3",
    "7",
    "foo",
    "conf",
    "",
    "-",
    "--",
    "-5",
    "-a b",
    "-x",
    "--nothing",
]


def argparse_reading(argv: list[str]) -> SimpleNamespace | None:
    """What argparse's parser makes of `argv` (None when it refuses it or prints help)."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return SimpleNamespace(**vars(PARSER.parse_args(["vrrp", *argv])))
        except SystemExit:
            return None


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=6))
def test_what_is_read_plainly_is_what_argparse_reads(argv: list[str]) -> None:
    plainly = read_plainly(argv)
    if plainly is not None:
        assert plainly == argparse_reading(argv)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-n", "-l", "-G", "-f", "/tmp/k.conf", "-p", "/tmp/k.pid", "--control", "none"],
        ["-nlG", "--use-file=/tmp/k.conf", "--pid", "/tmp/k.pid", "-D"],
        ["-t"],
        ["-t", "check.log", "-f", "k.conf"],
        ["-f", "k.conf", "-t"],
        ["--config-test", "-i", "lb1", "-S", "local3", "-g", "/tmp/log"],
        ["--metrics", "127.0.0.1:9100", "--log-facility=7"],
    ],
)
def test_the_daemon_s_and_the_check_s_usual_command_lines_are_read_plainly(argv: list[str]) -> None:
    plainly = read_plainly(argv)
    assert plainly is not None
    assert plainly == argparse_reading(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["-h"],
        ["--help"],
        ["--use", "k.conf"],  # an abbreviation
        ["-fk.conf"],
        ["-f", "-x"],
        ["-f"],
        ["-S", "local9"],
        ["--metrics", "nowhere"],
        ["-n", "--", "x"],
        ["-t", "-5"],
        ["stray"],
    ],
)
def test_the_other_command_lines_are_argparse_s(argv: list[str]) -> None:
    assert read_plainly(argv) is None


def test_help_and_errors_are_argparse_s() -> None:
    def hapair(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hapair", "vrrp", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    helped = hapair("--help")
    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: hapair vrrp [-h] [-f FILE] [-t [LOGFILE]]")
    refused = hapair("-S", "local9")
    assert refused.returncode == 2
    assert "hapair vrrp: error: argument -S/--log-facility: invalid choice: 'local9'" in refused.stderr

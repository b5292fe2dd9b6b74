"""The `hapair` command imports only the sub-command it runs: `hapair vrrp` loads none of the load
balancer's or the lab's modules, `hapair proxy` none of the VRRP engine's (checked in a fresh
interpreter); `hapair --help` still lists every sub-command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

LOADED = """
import sys
from hapair.cli.main import build_parser
build_parser({only!r})
print(" ".join(sorted({{name.split(".")[1] for name in sys.modules if name.startswith("hapair.")}})))
"""


def loaded_packages(only: str | None) -> set[str]:
    ran = subprocess.run(
        [sys.executable, "-c", LOADED.format(only=only)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(ran.stdout.split())


@pytest.mark.parametrize(
    ("command", "absent"),
    [("vrrp", {"proxy", "lab"}), ("proxy", {"vrrp", "lab"}), ("lab", set())],
)
def test_a_sub_command_imports_only_what_it_runs(command: str, absent: set[str]) -> None:
    assert not loaded_packages(command) & absent


def test_help_lists_every_sub_command() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "hapair", "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    for command in ("vrrp", "proxy", "lab"):
        assert f"    {command} " in ran.stdout


WIDTH = """
import argparse, sys
from hapair.cli.main import build_parser
vrrp = build_parser("vrrp")._subparsers._group_actions[0].choices["vrrp"]
ours = vrrp.format_help()
without_shutil = "shutil" not in sys.modules
vrrp.formatter_class = argparse.HelpFormatter
print(without_shutil, ours == vrrp.format_help(), len(ours.splitlines()))
"""


def help_layout(columns: str | None) -> list[str]:
    """WIDTH's output with $COLUMNS set to `columns` (unset: None), standard output not a terminal."""
    environment = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    if columns is not None:
        environment["COLUMNS"] = columns
    ran = subprocess.run(
        [sys.executable, "-c", WIDTH], capture_output=True, text=True, check=True, timeout=60, env=environment
    )
    return ran.stdout.split()


def test_help_is_laid_out_as_argparse_s_own_without_importing_shutil() -> None:
    """hapair's help formatter finds the width as shutil.get_terminal_size() does ($COLUMNS, else the
    terminal, else 80 columns), without importing shutil (and the compression modules it imports)."""
    *narrow, narrow_lines = help_layout("50")
    *default, default_lines = help_layout(None)
    assert narrow == default == ["True", "True"]
    assert int(narrow_lines) > int(default_lines)

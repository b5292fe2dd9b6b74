"""The `hapair` command imports only the sub-command it runs: `hapair vrrp` loads none of the load
balancer's or the lab's modules, `hapair proxy` none of the VRRP engine's (checked in a fresh
interpreter); `hapair --help` still lists every sub-command."""

from __future__ import annotations

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

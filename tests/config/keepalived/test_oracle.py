"""The real keepalived 2.2.7 beside `hapair vrrp -t`, on every sample and configtest_t*.conf, in one network
namespace like the recorded runs' (eth0..eth3 veth, eth0 10.77.0.1/24, lo up): same exit status, and
keepalived's messages are exactly hapair's non-log ones (compared without their place). hapair's other
lines must be exactly the log-only messages that `load()` gives in-process for the same host.
The deliberate differences of test_conformance.py are asserted as such.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from hapair.config.keepalived.host import Interface
from hapair.config.keepalived.load import load
from hapair.net.host import LocalHost
from tests.netns import Namespace, missing_requirements, unique_name

from .test_conformance import CASES, EVIDENCE, NET_NAMESPACE, SAMPLES, UNKNOWN_BLOCK, without_place

REASON = missing_requirements("keepalived")
pytestmark = [
    pytest.mark.netns,
    pytest.mark.oracle,
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
]
KEEPALIVED_KILLED = (-15, 143)  # SIGTERM, as Python or a shell reports it


class NamespaceHost(LocalHost):
    """This machine's users and files, with the interfaces of the test namespace."""

    def __init__(self, namespace: Namespace) -> None:
        super().__init__()
        self._namespace_interfaces = namespace.interfaces()

    def interfaces(self) -> dict[str, Interface]:
        return self._namespace_interfaces


@pytest.fixture(scope="session")
def lab() -> Iterator[Namespace]:
    namespace = Namespace.create(unique_name("hpt"))
    try:
        for index in range(4):
            addresses = ["10.77.0.1/24"] if index == 0 else []
            namespace.add_veth(f"eth{index}", f"p{index}", addresses=addresses)
        yield namespace
    finally:
        namespace.delete()


@dataclass
class Runs:
    keepalived_rc: int
    keepalived: set[str]  # keepalived's messages, without their place
    hapair_rc: int
    printed: set[str]  # hapair's lines, as printed
    log_only: set[str]  # the log-only lines `load()` gives in-process

    @property
    def hapair(self) -> set[str]:
        """hapair's other messages, without their place."""
        return {without_place(line) for line in self.printed - self.log_only}


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, stderr


def run_both(lab: Namespace, host: NamespaceHost, directory: Path, name: str, args: tuple[str, ...]) -> Runs:
    """keepalived and hapair side by side in the namespace, and hapair's `load()` here meanwhile."""
    keepalived = lab.start(["keepalived", "-t", "-f", name, *args], cwd=directory)
    hapair = lab.start([sys.executable, "-m", "hapair", "vrrp", "-t", "-f", name, *args], cwd=directory)
    config_id = args[args.index("-i") + 1] if "-i" in args else None
    result = load(name, host, config_id=config_id, cwd=str(directory))
    keepalived_rc, keepalived_err = finish(keepalived)
    hapair_rc, hapair_err = finish(hapair)
    return Runs(
        keepalived_rc,
        {without_place(line) for line in keepalived_err.splitlines()},
        hapair_rc,
        set(hapair_err.splitlines()),
        {d.render() for d in result.report if d.log},
    )


def recorded_args(file: str) -> tuple[str, ...]:
    if file == IN_NAMESPACE:
        return NET_NAMESPACE.args
    return next((case.args for case in CASES if case.file == file), ())


COMPARED = [
    *(path for path in sorted(SAMPLES.iterdir()) if path.name != NET_NAMESPACE.file),
    *(path for path in sorted(EVIDENCE.glob("configtest_t*.conf")) if path.name != UNKNOWN_BLOCK.file),
]
MISSING = "nonexistent.conf"
SCRIPT_USER = "t7_script_user.conf"
IN_NAMESPACE = "conditional_conf_in_lab_namespace.conf"


@pytest.fixture(scope="session")
def oracle(lab: Namespace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Runs]:
    """Every configuration run both ways (a few at a time: most of the time goes to starting Python)."""
    directory = tmp_path_factory.mktemp("oracle")
    for path in [*COMPARED, EVIDENCE / UNKNOWN_BLOCK.file, SAMPLES / NET_NAMESPACE.file]:
        shutil.copy(path, directory / path.name)
    text = (EVIDENCE / "configtest_t7.conf").read_text()
    (directory / SCRIPT_USER).write_text(
        text.replace("enable_script_security\n", "enable_script_security\n    script_user nobody\n")
    )
    text = (SAMPLES / NET_NAMESPACE.file).read_text()
    (directory / IN_NAMESPACE).write_text(text.replace("net_namespace high", f"net_namespace {lab.name}"))
    names = [path.name for path in COMPARED]
    names += [MISSING, UNKNOWN_BLOCK.file, SCRIPT_USER, NET_NAMESPACE.file, IN_NAMESPACE]
    host = NamespaceHost(lab)
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as pool:
        runs = pool.map(lambda name: run_both(lab, host, directory, name, recorded_args(name)), names)
        return dict(zip(names, runs, strict=True))


def check_log_lines(runs: Runs) -> None:
    """hapair printed every log-only line `load()` gives; its other lines are the non-log messages."""
    assert runs.log_only <= runs.printed


@pytest.mark.parametrize("name", [path.name for path in COMPARED])
def test_same_as_keepalived(oracle: dict[str, Runs], name: str) -> None:
    runs = oracle[name]
    check_log_lines(runs)
    assert runs.hapair == runs.keepalived
    assert runs.hapair_rc == runs.keepalived_rc


# -- deliberate differences ------------------------------------------------------------------------------


def test_missing_configuration_file(oracle: dict[str, Runs]) -> None:
    """keepalived 2.2.7 exits 0 (issue #955); hapair 4, with the same message."""
    runs = oracle[MISSING]
    check_log_lines(runs)
    assert runs.keepalived == {f"Config files missing '{MISSING}'."}
    assert runs.keepalived_rc == 0
    assert runs.hapair == runs.keepalived
    assert runs.hapair_rc == 4


def test_unknown_keyword_block(oracle: dict[str, Runs]) -> None:
    """keepalived 2.2.7 loses its place after the unknown block; hapair skips the block only."""
    runs = oracle[UNKNOWN_BLOCK.file]
    check_log_lines(runs)
    assert runs.keepalived == UNKNOWN_BLOCK.messages
    assert runs.hapair == {"Unknown keyword 'foo_block'"}
    assert runs.keepalived_rc == runs.hapair_rc == 5


def test_script_security_with_a_non_root_script_user(oracle: dict[str, Runs]) -> None:
    """keepalived 2.2.7 -t is killed on configtest_t7.conf plus `script_user nobody` (issue #2587); hapair
    finds it clean."""
    runs = oracle[SCRIPT_USER]
    check_log_lines(runs)
    assert runs.keepalived_rc in KEEPALIVED_KILLED
    assert runs.hapair == set()
    assert runs.hapair_rc == 0


def test_net_namespace_that_does_not_exist(oracle: dict[str, Runs]) -> None:
    """`net_namespace high` with no such namespace: keepalived 2.2.7 -t stops before checking anything and
    exits 0; hapair reports it and exits 4."""
    runs = oracle[NET_NAMESPACE.file]
    check_log_lines(runs)
    assert (runs.keepalived, runs.keepalived_rc) == (set(), 0)
    assert (runs.hapair, runs.hapair_rc) == ({"Unable to set network namespace high - exiting"}, 4)


def test_net_namespace_that_exists(oracle: dict[str, Runs]) -> None:
    """The same sample naming this test's namespace: both check inside it and agree."""
    runs = oracle[IN_NAMESPACE]
    check_log_lines(runs)
    assert runs.keepalived_rc == 5
    assert runs.hapair == runs.keepalived
    assert runs.hapair_rc == runs.keepalived_rc

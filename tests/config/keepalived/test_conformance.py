"""hapair's `-t` against keepalived 2.2.7's recorded `-t` runs (keepalived-evidence/configtest_results.txt and
samples_configtest_2.2.7.txt): same exit status and same set of messages, for every recorded configuration
that is at hand, on a host like the recorded network namespace.

Messages are compared without their place: keepalived writes `(Line N)` for its parent's messages about a
single file and `(file: Line N)` for its children's, hapair always the latter. keepalived prints many
messages once per process; hapair prints each once. hapair's log-only lines are not compared (keepalived's
`-t` does not print them). The deliberate differences are asserted as such at the end of this file.
"""

from __future__ import annotations

import dataclasses
import functools
import grp
import os
import pwd
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from hapair.config.keepalived.host import FileStatus, StaticHost, User
from hapair.config.keepalived.load import LoadResult, load
from tests.reference import EVIDENCE, SAMPLES

from .conftest import lab_host

RECORDINGS = [EVIDENCE / "configtest_results.txt", EVIDENCE / "samples_configtest_2.2.7.txt"]
PLACE = re.compile(r"^\((?:[^()]*: )?Line \d+\) ")


@dataclass(frozen=True)
class Case:
    """One recorded `keepalived -t -f FILE ARGS` run."""

    file: str
    args: tuple[str, ...]
    messages: frozenset[str]
    rc: int

    @property
    def config_id(self) -> str | None:
        return self.args[self.args.index("-i") + 1] if "-i" in self.args else None

    @property
    def path(self) -> Path | None:
        """The configuration at hand (`other/docker/keepalived.conf` is other.docker.keepalived.conf)."""
        name = self.file.lstrip("/").replace("/", ".")
        return next((d / name for d in (SAMPLES, EVIDENCE) if (d / name).is_file()), None)

    def __str__(self) -> str:
        return " ".join([self.file, *self.args])


def without_place(line: str) -> str:
    return PLACE.sub("", line, count=1)


def parse_recordings(paths: list[Path]) -> list[Case]:
    """`### keepalived -t -f FILE [ARGS]`, the messages keepalived printed, then `rc=N`."""
    cases = []
    command: list[str] | None = None
    lines: list[str] = []
    for line in (text for path in paths for text in path.read_text().splitlines()):
        if line.startswith("### "):
            words = line[4:].split()
            command = words[3:] if words[:3] == ["keepalived", "-t", "-f"] else None
            lines = []
        elif command is not None and line.startswith("rc="):
            messages = frozenset(without_place(text) for text in lines)
            cases.append(Case(command[0], tuple(command[1:]), messages, int(line[3:])))
            command = None
        elif command is not None:
            lines.append(line)
    return cases


CASES = parse_recordings(RECORDINGS)
MISSING_FILE = next(case for case in CASES if case.file == "/nonexistent.conf")
UNKNOWN_BLOCK = next(case for case in CASES if case.file == "configtest_t9_unknown_block.conf")
NET_NAMESPACE = next(case for case in CASES if case.file == "keepalived.conf.conditional_conf")
COMPARED = [case for case in CASES if case.path is not None and case not in (UNKNOWN_BLOCK, NET_NAMESPACE)]


def test_recordings_are_all_read() -> None:
    """Every recorded run is either compared, a deliberate difference, or has no configuration at hand."""
    assert len(CASES) == 38
    assert [str(case) for case in CASES if case.path is None] == [
        "/nonexistent.conf",
        "other/etc/keepalived.conf.sample.in",
    ]
    assert len(COMPARED) == 34


SYSTEM_TEXTS = [Path("/etc/iproute2"), Path("/usr/share/iproute2")]


def _record_path(host: StaticHost, path: str) -> None:
    """`path` and every directory above it, as lstat and readlink see them, following symbolic links."""
    seen: set[str] = set()
    pending = [path]
    while pending:
        candidate = os.path.normpath(pending.pop())
        while candidate not in seen:
            seen.add(candidate)
            try:
                st = os.lstat(candidate)
            except OSError:
                pass
            else:
                if stat.S_ISLNK(st.st_mode):
                    target = os.readlink(candidate)
                    host.symlinks[candidate] = target
                    pending.append(os.path.join(os.path.dirname(candidate), target))
                else:
                    host.files[candidate] = FileStatus(st.st_mode, st.st_uid, st.st_gid)
            candidate = os.path.dirname(candidate)


@functools.cache
def recorded_host() -> StaticHost:
    """The recorded namespace (lab_host: lo, eth0..eth3, eth0 10.77.0.1/24) on a machine like the one the
    runs were recorded on (this Debian machine): its users, groups, CPUs and iproute2 tables, and the files,
    directories and symbolic links the configurations name or find on the search path."""
    host = lab_host()
    host.users = {entry.pw_name: User(entry.pw_name, entry.pw_uid, entry.pw_gid) for entry in pwd.getpwall()}
    host.groups = {entry.gr_name: entry.gr_gid for entry in grp.getgrall()}
    host.cpus = os.cpu_count() or 1
    host.texts = {
        str(path): path.read_text(errors="surrogateescape")
        for directory in SYSTEM_TEXTS
        if directory.is_dir()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
    texts = [case.path.read_text() for case in CASES if case.path is not None]
    words = {word for text in texts for word in re.findall(r"[\w.+-]+", text)}
    paths = {path for text in texts for path in re.findall(r"/[\w./+-]+", text)} | {"/bin/true"}
    paths |= {
        os.path.join(directory, word)
        for word in words
        for directory in host.search_path().split(":")
        if os.path.lexists(os.path.join(directory, word))
    }
    host.files["/"] = _status("/")
    for path in sorted(paths):
        _record_path(host, path)
    return host


def _status(path: str) -> FileStatus:
    st = os.lstat(path)
    return FileStatus(st.st_mode, st.st_uid, st.st_gid)


def read(path: Path, config_id: str | None) -> LoadResult:
    return load(path.name, recorded_host(), config_id=config_id, cwd=str(path.parent))


def hapair_messages(result: LoadResult) -> set[str]:
    return {d.message for d in result.report if not d.log}


@pytest.mark.parametrize("case", COMPARED, ids=str)
def test_same_as_keepalived(case: Case) -> None:
    assert case.path is not None
    result = read(case.path, case.config_id)
    assert hapair_messages(result) == case.messages
    assert result.exit_status == case.rc


# -- deliberate differences ------------------------------------------------------------------------------


def test_missing_configuration_file_is_an_error(tmp_path: Path) -> None:
    """keepalived 2.2.7 prints `Config files missing '/nonexistent.conf'.` but exits 0 (issue #955);
    hapair prints the same and exits 4."""
    assert MISSING_FILE.rc == 0
    result = load(str(tmp_path / "nonexistent.conf"), recorded_host(), cwd=str(tmp_path))
    assert hapair_messages(result) == {f"Config files missing '{tmp_path / 'nonexistent.conf'}'."}
    assert {message.replace("/nonexistent.conf", "X") for message in MISSING_FILE.messages} == {
        "Config files missing 'X'."
    }
    assert result.exit_status == 4


def test_unknown_keyword_block_is_skipped() -> None:
    """keepalived 2.2.7 loses its place after an unknown keyword's block (it reports `Unexpected '{'`, the
    block's lines, stray `}`s and then no VIP); hapair skips the block and reads the rest normally."""
    assert "Unknown keyword 'priority'" in UNKNOWN_BLOCK.messages
    assert UNKNOWN_BLOCK.rc == 5
    path = EVIDENCE / UNKNOWN_BLOCK.file
    result = read(path, None)
    assert hapair_messages(result) == {"Unknown keyword 'foo_block'"}
    assert result.exit_status == 5
    (instance,) = result.config.vrrp.instances
    assert instance.base_priority == 150
    assert [str(vip.address) for vip in instance.vips] == ["10.77.0.100/32"]


def test_net_namespace_that_does_not_exist_is_an_error() -> None:
    """conditional_conf with `-i high` sets `net_namespace high`. The recorded run had no namespace `high`:
    keepalived 2.2.7 -t then stops before any check and exits 0 (a real start fails with "Unable to set
    network namespace high - exiting"); hapair says so and exits 4."""
    assert (NET_NAMESPACE.config_id, NET_NAMESPACE.messages, NET_NAMESPACE.rc) == ("high", frozenset(), 0)
    assert NET_NAMESPACE.path is not None
    result = read(NET_NAMESPACE.path, "high")
    assert hapair_messages(result) == {"Unable to set network namespace high - exiting"}
    assert result.exit_status == 4


def test_net_namespace_that_exists_is_where_the_checks_run() -> None:
    """With a namespace `high` holding eth0..eth3, keepalived 2.2.7 -t checks inside it: it printed
    `Disabling track script check_VI_0 since not found/accessible` and exited 5 (run by hand); so does
    hapair."""
    assert NET_NAMESPACE.path is not None
    host = dataclasses.replace(recorded_host(), namespaces={"high": recorded_host()})
    result = load(NET_NAMESPACE.path.name, host, config_id="high", cwd=str(NET_NAMESPACE.path.parent))
    assert hapair_messages(result) == {"Disabling track script check_VI_0 since not found/accessible"}
    assert result.exit_status == 5


def test_script_security_with_a_non_root_script_user(tmp_path: Path) -> None:
    """keepalived 2.2.7 -t is killed (rc 143, issue #2587) on configtest_t7.conf plus `script_user nobody`;
    hapair checks it: user nobody exists and /bin/true is secure, so it is clean."""
    host = recorded_host()
    assert host.user("nobody") is not None
    text = (EVIDENCE / "configtest_t7.conf").read_text()
    text = text.replace("enable_script_security\n", "enable_script_security\n    script_user nobody\n")
    assert "script_user nobody" in text
    (tmp_path / "t7_script_user.conf").write_text(text)
    result = load("t7_script_user.conf", host, cwd=str(tmp_path))
    assert hapair_messages(result) == set()
    assert result.exit_status == 0

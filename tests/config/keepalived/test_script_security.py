"""keepalived's script security check (lib/notify.c `check_script_secure`): PATH search, resolving links,
executability for the script's user, and no non-root-writable part of a path run as root."""

from __future__ import annotations

import stat
from dataclasses import dataclass, field

import pytest

from hapair.config.keepalived.complete.context import Completion
from hapair.config.keepalived.complete.scripts import check_script_secure, script_allowed
from hapair.config.keepalived.diagnostics import Severity
from hapair.config.keepalived.host import FileStatus, StaticHost, User
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.keepalived.model.scripts import (
    SC_EXECABLE,
    SC_EXECUTABLE,
    SC_INHIBIT,
    SC_INSECURE,
    SC_ISSCRIPT,
    SC_NOTFOUND,
    SC_SYSTEM,
    NotifyScript,
)
from hapair.config.keepalived.session import Session

SCRIPT = stat.S_IFREG | 0o755
DIRECTORY = stat.S_IFDIR | 0o755
NOBODY = User("nobody", 65534, 65534)
SECURE = SC_ISSCRIPT | SC_EXECUTABLE


@dataclass
class Checked:
    flags: int
    script: NotifyScript
    logs: list[str] = field(default_factory=list)


def check(
    files: dict[str, FileStatus],
    program: str,
    *,
    uid: int = 0,
    gid: int = 0,
    security: bool = False,
    symlinks: dict[str, str] | None = None,
    path: str = "/usr/local/bin:/usr/bin",
    our_uid: int = 0,
) -> Checked:
    host = StaticHost(files=files, symlinks=symlinks or {}, path=path)
    host.users["nobody"] = NOBODY
    session = Session(KeepalivedConfig(), host, config_test=True, config_id="node1")
    session.script_users.security = security
    session.script_users.our_uid = session.script_users.our_gid = our_uid
    logs: list[str] = []

    def report(severity: Severity, message: str, file: str | None, line: int | None, log: bool) -> None:
        assert log and severity == Severity.OK and file is None and line is None
        logs.append(message)

    script = NotifyScript([program, "arg"], uid, gid)
    flags = check_script_secure(Completion(session, report), script)
    return Checked(flags, script, logs)


# -- secure and insecure paths, script run as root ----------------------------------------------------


def test_a_root_owned_script_in_root_owned_directories_is_secure() -> None:
    checked = check({"/etc/keepalived/check.sh": FileStatus(SCRIPT, 0, 0)}, "/etc/keepalived/check.sh")
    assert checked.flags == SECURE
    assert checked.logs == []
    assert checked.script.args == ["/etc/keepalived/check.sh", "arg"]
    assert checked.script.flags == SC_EXECABLE
    assert script_allowed(checked.flags)


@pytest.mark.parametrize("security", [False, True])
def test_a_world_writable_directory_makes_the_script_insecure(security: bool) -> None:
    files = {
        "/srv/scripts": FileStatus(stat.S_IFDIR | 0o777, 0, 0),
        "/srv/scripts/check.sh": FileStatus(SCRIPT, 0, 0),
    }
    checked = check(files, "/srv/scripts/check.sh", security=security)
    suffix = " - disabling" if security else ""
    assert checked.logs == [f"Unsafe permissions found for script '/srv/scripts/check.sh'{suffix}."]
    assert checked.flags == SECURE | SC_INSECURE | (SC_INHIBIT if security else 0)
    assert script_allowed(checked.flags) is not security


def test_a_sticky_world_writable_directory_is_fine() -> None:
    files = {
        "/tmp": FileStatus(stat.S_IFDIR | stat.S_ISVTX | 0o777, 0, 0),
        "/tmp/x.sh": FileStatus(SCRIPT, 0, 0),
    }
    assert check(files, "/tmp/x.sh").flags == SECURE


@pytest.mark.parametrize(
    ("status", "secure"),
    [
        (FileStatus(SCRIPT, 1000, 0), False),  # not root's
        (FileStatus(SCRIPT | 0o020, 0, 50), False),  # group-writable by a group other than root's
        (FileStatus(SCRIPT | 0o020, 0, 0), True),  # group-writable by root's group
        (FileStatus(SCRIPT | 0o002, 0, 0), False),  # world-writable
    ],
)
def test_the_script_itself_must_be_root_s_and_not_writable_by_others(
    status: FileStatus, secure: bool
) -> None:
    checked = check({"/usr/local/bin/x.sh": status}, "/usr/local/bin/x.sh")
    assert bool(checked.flags & SC_INSECURE) is not secure


def test_a_directory_owned_by_another_user_is_insecure() -> None:
    files = {"/home/bob": FileStatus(DIRECTORY, 1000, 1000), "/home/bob/x.sh": FileStatus(SCRIPT, 0, 0)}
    checked = check(files, "/home/bob/x.sh")
    assert checked.logs == ["Unsafe permissions found for script '/home/bob/x.sh'."]


def test_a_script_run_by_another_user_needs_no_protection() -> None:
    files = {"/srv": FileStatus(stat.S_IFDIR | 0o777, 0, 0), "/srv/x.sh": FileStatus(SCRIPT, 0, 0)}
    checked = check(files, "/srv/x.sh", uid=NOBODY.uid, gid=NOBODY.gid)
    assert (checked.flags, checked.logs) == (SECURE, [])


def test_a_set_uid_root_script_needs_protection_whoever_runs_it() -> None:
    files = {
        "/srv": FileStatus(stat.S_IFDIR | 0o777, 0, 0),
        "/srv/x.sh": FileStatus(SCRIPT | stat.S_ISUID, 0, 0),
    }
    checked = check(files, "/srv/x.sh", uid=NOBODY.uid, gid=NOBODY.gid)
    assert checked.flags == SECURE | SC_INSECURE


# -- executability and existence ----------------------------------------------------------------------


def test_a_script_that_is_not_executable_is_disabled() -> None:
    checked = check(
        {"/etc/keepalived/check.sh": FileStatus(stat.S_IFREG | 0o644, 0, 0)}, "/etc/keepalived/check.sh"
    )
    assert checked.logs == [
        "WARNING - script '/etc/keepalived/check.sh' is not executable for uid:gid 0:0 - disabling."
    ]
    assert checked.flags == SC_ISSCRIPT
    assert not script_allowed(checked.flags)


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "executable"),
    [
        (0o744, 1000, 1000, True),  # owner
        (0o744, 2000, 1000, False),  # group without x
        (0o754, 2000, 1000, True),  # group
        (0o750, 2000, 2000, False),  # other without x
        (0o701, 2000, 2000, True),  # other
        (0o700, 0, 0, True),  # root needs any x bit
    ],
)
def test_executable_for_the_script_user(mode: int, uid: int, gid: int, executable: bool) -> None:
    checked = check({"/opt/x.sh": FileStatus(stat.S_IFREG | mode, 1000, 1000)}, "/opt/x.sh", uid=uid, gid=gid)
    assert bool(checked.flags & SC_EXECUTABLE) is executable


def test_a_missing_script_is_not_found() -> None:
    checked = check({}, "/etc/keepalived/missing.sh")
    assert checked.logs == [
        "Script /etc/keepalived/missing.sh cannot be accessed - No such file or directory"
    ]
    assert checked.flags == SC_NOTFOUND


def test_a_directory_the_script_user_cannot_search_hides_the_script() -> None:
    files = {"/root": FileStatus(stat.S_IFDIR | 0o700, 0, 0), "/root/x.sh": FileStatus(SCRIPT, 0, 0)}
    checked = check(files, "/root/x.sh", uid=NOBODY.uid, gid=NOBODY.gid)
    assert checked.logs == ["Script /root/x.sh cannot be accessed - Permission denied"]
    assert checked.flags == SC_NOTFOUND
    assert check(files, "/root/x.sh").flags == SECURE


def test_a_path_through_a_file_is_not_a_directory() -> None:
    checked = check({"/opt/x.sh": FileStatus(SCRIPT, 0, 0)}, "/opt/x.sh/y")
    assert checked.logs == ["Script /opt/x.sh/y cannot be accessed - Not a directory"]


def test_a_directory_is_the_wrong_file_type() -> None:
    checked = check({"/opt/tools/x.sh": FileStatus(SCRIPT, 0, 0)}, "/opt/tools")
    assert checked.logs == ["Wrong file type found in script path '/opt/tools'."]
    assert checked.flags == SECURE | SC_INHIBIT


def test_a_shell_redirect_is_run_by_the_shell() -> None:
    checked = check({}, "< /dev/tcp/127.0.0.1/80")
    assert (checked.flags, checked.logs) == (SC_SYSTEM, [])


# -- PATH search ----------------------------------------------------------------------------------------


def test_a_bare_name_is_found_in_path_and_replaced_by_its_path() -> None:
    files = {
        "/usr/local/bin/check": FileStatus(stat.S_IFREG | 0o644, 0, 0),  # not executable: keep looking
        "/usr/bin/check": FileStatus(SCRIPT, 0, 0),
    }
    checked = check(files, "check")
    assert checked.logs == [
        "WARNING - script `check` resolved by path search to `/usr/bin/check`. Please specify full path."
    ]
    assert checked.script.args == ["/usr/bin/check", "arg"]
    assert checked.flags == SECURE


def test_a_bare_name_found_only_unexecutable_is_a_permissions_failure() -> None:
    checked = check({"/usr/bin/check": FileStatus(stat.S_IFREG | 0o644, 0, 0)}, "check")
    assert checked.logs == ["Permissions failure for script check in path - disabling"]
    assert checked.flags == SC_NOTFOUND


def test_a_bare_name_not_in_path_cannot_be_found() -> None:
    checked = check({"/opt/check": FileStatus(SCRIPT, 0, 0)}, "check")
    assert checked.logs == ["Cannot find script check in path - disabling"]
    assert checked.flags == SC_NOTFOUND


def test_the_path_search_is_done_as_the_script_user() -> None:
    files = {
        "/usr/local/bin/check": FileStatus(stat.S_IFREG | 0o700, 0, 0),
        "/usr/bin/check": FileStatus(SCRIPT, 0, 0),
    }
    checked = check(files, "check", uid=NOBODY.uid, gid=NOBODY.gid)
    assert checked.script.args[0] == "/usr/bin/check"


# -- links ----------------------------------------------------------------------------------------------


def test_a_linked_directory_is_resolved() -> None:
    checked = check({"/usr/bin/true": FileStatus(SCRIPT, 0, 0)}, "/bin/true", symlinks={"/bin": "usr/bin"})
    assert checked.script.args[0] == "/usr/bin/true"
    assert checked.flags == SECURE


def test_a_link_to_a_differently_named_file_in_the_same_directory_keeps_its_name() -> None:
    files = {"/usr/bin/python3.11": FileStatus(SCRIPT, 0, 0)}
    checked = check(files, "/usr/bin/python3", symlinks={"/usr/bin/python3": "python3.11"})
    assert checked.script.args[0] == "/usr/bin/python3"
    assert checked.flags == SECURE


def test_both_the_link_and_its_target_are_checked() -> None:
    files = {"/usr/bin/tool.real": FileStatus(SCRIPT | 0o002, 0, 0)}
    checked = check(files, "/usr/bin/tool", symlinks={"/usr/bin/tool": "tool.real"})
    assert checked.logs == ["Unsafe permissions found for script '/usr/bin/tool.real'."]
    assert checked.flags == SECURE | SC_INSECURE


def test_a_link_elsewhere_is_replaced_by_its_target() -> None:
    files = {"/opt/app/run.sh": FileStatus(SCRIPT, 0, 0)}
    checked = check(
        files, "/usr/local/bin/app-check", symlinks={"/usr/local/bin/app-check": "/opt/app/run.sh"}
    )
    assert checked.script.args[0] == "/opt/app/run.sh"


def test_a_link_loop_cannot_be_accessed() -> None:
    checked = check({"/opt/x": FileStatus(SCRIPT, 0, 0)}, "/opt/a", symlinks={"/opt/a": "b", "/opt/b": "a"})
    assert checked.logs == ["Script /opt/a cannot be accessed - Too many levels of symbolic links"]


# -- keepalived not running as root ------------------------------------------------------------------


def test_when_not_root_another_user_cannot_be_switched_to() -> None:
    files = {"/opt/x.sh": FileStatus(SCRIPT, 1000, 1000)}
    checked = check(files, "/opt/x.sh", uid=NOBODY.uid, gid=NOBODY.gid, our_uid=1000)
    assert checked.logs == ["Unable to set uid:gid 65534:65534 for script /opt/x.sh - disabling"]
    assert checked.flags == SC_INHIBIT
    own = check(files, "/opt/x.sh", uid=1000, gid=1000, our_uid=1000)
    assert own.flags == SECURE


def test_when_not_root_the_path_search_for_another_user_fails() -> None:
    checked = check({"/usr/bin/x": FileStatus(SCRIPT, 0, 0)}, "x", uid=NOBODY.uid, gid=1000, our_uid=1000)
    assert checked.logs == [
        "Unable to set euid to 65534 (Operation not permitted)",
        "Permissions failure for script x in path - disabling",
    ]

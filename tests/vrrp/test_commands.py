import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.config.keepalived.model.scripts import SC_EXECABLE, NotifyScript
from hapair.config.keepalived.model.vrrp import VrrpScript
from hapair.vrrp import commands
from hapair.vrrp.commands import ScriptRunner
from hapair.vrrp.tracking import ScriptOutcome

NOBODY = 65534
DEADLINE_S = 4.0


def shell(command: str, *args: str, uid: int = 0, gid: int = 0) -> NotifyScript:
    """A command exec'd directly: /bin/sh -c COMMAND $0 $1 ..."""
    return NotifyScript(["/bin/sh", "-c", command, *args], uid, gid, SC_EXECABLE)


def check(script: NotifyScript, timeout_s: float = 3.0) -> VrrpScript:
    return VrrpScript("chk", script=script, timeout_us=int(timeout_s * 1_000_000))


def run(coroutine):
    async def bounded():
        return await asyncio.wait_for(coroutine, DEADLINE_S)

    return asyncio.run(bounded())


async def eventually(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def reaped(pid: int) -> bool:
    """No process, not even a zombie."""
    return not Path(f"/proc/{pid}").exists()


def dead(pid: int) -> bool:
    """Gone or a zombie (an orphan is reaped by whoever is init here)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def runner(lines) -> ScriptRunner:
    return ScriptRunner(lines.append)


@pytest.fixture
def fast_escalation(monkeypatch) -> None:
    monkeypatch.setattr(commands, "TERM_GRACE_S", 0.1)
    monkeypatch.setattr(commands, "SHUTDOWN_GRACE_S", 0.1)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory any user can reach (pytest's own temporary directories are root's only)."""
    path = Path(tempfile.mkdtemp(prefix="hapair-commands-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def test_a_succeeding_command_exits_0(runner) -> None:
    assert run(
        runner.run_check(check(NotifyScript(["/bin/true"], 0, 0, SC_EXECABLE)))
    ) == ScriptOutcome.exited(0)


def test_a_failing_command_reports_its_exit_status(runner) -> None:
    assert run(
        runner.run_check(check(NotifyScript(["/bin/false"], 0, 0, SC_EXECABLE)))
    ) == ScriptOutcome.exited(1)


def test_a_command_killed_by_someone_else_fails_by_that_signal(runner) -> None:
    outcome = run(runner.run_check(check(shell("kill -9 $$"))))
    assert outcome == ScriptOutcome.killed(signal.SIGKILL)


def test_a_command_past_its_timeout_is_terminated_and_timed_out(runner) -> None:
    started = time.monotonic()
    outcome = run(runner.run_check(check(NotifyScript(["/bin/sleep", "30"], 0, 0, SC_EXECABLE), 0.2)))
    assert outcome == ScriptOutcome.killed(signal.SIGTERM, timed_out=True)
    assert time.monotonic() - started < 2


def test_the_timeout_kills_the_whole_process_group(runner, tmp_path) -> None:
    pid_file = tmp_path / "child"
    command = shell('sleep 30 & echo $! > "$0"; wait', str(pid_file))

    async def scenario() -> None:
        await runner.run_check(check(command, 0.3))
        child = int(pid_file.read_text())
        await eventually(lambda: dead(child), "the background child to die")

    run(scenario())


def test_a_command_ignoring_sigterm_gets_sigkill(runner, fast_escalation) -> None:
    outcome = run(runner.run_check(check(shell("trap '' TERM; sleep 30"), 0.1)))
    assert outcome == ScriptOutcome.killed(signal.SIGKILL, timed_out=True)


def test_a_command_exiting_on_sigterm_reports_its_exit_status(runner) -> None:
    command = shell("trap 'exit 3' TERM; while :; do sleep 0.05; done")
    assert run(runner.run_check(check(command, 0.3))) == ScriptOutcome.exited(3)


def test_without_a_timeout_the_interval_bounds_the_run(runner) -> None:
    script = VrrpScript(
        "chk", script=NotifyScript(["/bin/sleep", "30"], 0, 0, SC_EXECABLE), interval_us=100_000
    )
    assert run(runner.run_check(script)).timed_out


def test_a_command_that_cannot_be_exec_d_counts_as_success_and_is_logged(runner, lines) -> None:
    outcome = run(runner.run_check(check(NotifyScript(["/nonexistent/chk"], 0, 0, SC_EXECABLE))))
    assert outcome == ScriptOutcome.exited(0)
    assert lines == ["Error exec-ing command '/nonexistent/chk', error 2: No such file or directory"]


def test_a_redirection_check_goes_through_the_shell(runner, tmp_path) -> None:
    present = NotifyScript([f"<{tmp_path}"], 0, 0)
    missing = NotifyScript([f"<{tmp_path}/missing"], 0, 0)
    assert run(runner.run_check(check(present))) == ScriptOutcome.exited(0)
    assert run(runner.run_check(check(missing))).exit_status not in (0, None)


def test_a_shell_command_not_found_is_logged_and_counts_as_success(runner, lines) -> None:
    outcome = run(runner.run_check(check(NotifyScript(["no-such-command-here"], 0, 0))))
    assert outcome == ScriptOutcome.exited(0)
    assert lines == ["Couldn't find command: 'no-such-command-here'"]


@pytest.fixture
def extra_groups() -> Iterator[None]:
    """Supplementary groups for this process, which a command must not inherit."""
    before = os.getgroups()
    os.setgroups([*before, 4242])
    try:
        yield
    finally:
        os.setgroups(before)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_a_command_runs_as_its_user_with_only_its_group_and_keepalived_s_umask(
    runner, open_dir, extra_groups
) -> None:
    home = open_dir / "nobody"
    home.mkdir(mode=0o700)
    os.chown(home, NOBODY, NOBODY)
    made = home / "made"
    command = shell('id -u > "$0"; id -G >> "$0"', str(made), uid=NOBODY, gid=NOBODY)
    assert run(runner.run_check(check(command))) == ScriptOutcome.exited(0)
    status = made.stat()
    assert (status.st_uid, status.st_gid, status.st_mode & 0o777) == (NOBODY, NOBODY, 0o600)
    assert made.read_text().split() == [str(NOBODY), str(NOBODY)]


def test_a_command_gets_dev_null_as_its_standard_streams(runner, tmp_path) -> None:
    out = tmp_path / "streams"
    # dash redirects its own descriptors while it runs a command: read them before redirecting
    command = shell(
        'links=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2); echo "$links" > "$0"', str(out)
    )
    run(runner.run_check(check(command)))
    assert out.read_text().split() == ["/dev/null"] * 3


def test_a_notify_gets_its_arguments_appended_and_is_reaped(runner, tmp_path) -> None:
    out = tmp_path / "args"
    script = shell('echo "$$ $*" > "$0.tmp"; mv "$0.tmp" "$0"', str(out))

    async def scenario() -> list[str]:
        task = runner.notify(script, ["INSTANCE", "VI_1", "MASTER", "100"])
        await eventually(out.exists, "the notify to write its arguments")
        await task
        pid, *args = out.read_text().split()
        assert reaped(int(pid))
        return args

    assert run(scenario()) == ["INSTANCE", "VI_1", "MASTER", "100"]


def test_a_shell_notify_quotes_every_argument(runner, tmp_path) -> None:
    out = tmp_path / "args"
    script = NotifyScript(["/bin/sh", "-c", 'echo "$0|$1|$2" > ' + str(out), "a b"], 0, 0)

    async def scenario() -> None:
        await runner.notify(script, ["INSTANCE", "VI 1"])

    run(scenario())
    assert out.read_text() == "a b|INSTANCE|VI 1\n"


def test_a_stop_notify_still_running_after_its_limit_is_killed(runner) -> None:
    script = shell("trap '' TERM; sleep 30")

    async def scenario() -> None:
        runner.notify(script, ["INSTANCE", "VI_1", "STOP", "100"], kill_after_s=0.1)
        await runner.wait_all()

    started = time.monotonic()
    run(scenario())
    assert time.monotonic() - started < 2


def test_terminate_all_kills_running_checks(runner) -> None:
    async def scenario() -> ScriptOutcome:
        check_task = asyncio.ensure_future(
            runner.run_check(check(NotifyScript(["/bin/sleep", "30"], 0, 0, SC_EXECABLE), 60))
        )
        await eventually(lambda: runner.running, "the check to start")
        runner.terminate_all()
        await runner.wait_all()
        return await check_task

    assert run(scenario()).signal == signal.SIGTERM


def test_terminate_all_kills_a_check_ignoring_sigterm(runner, fast_escalation, tmp_path) -> None:
    trapped = tmp_path / "trapped"
    script = shell("trap '' TERM; touch \"$0\"; sleep 30", str(trapped))

    async def scenario() -> ScriptOutcome:
        check_task = asyncio.ensure_future(runner.run_check(check(script, 60)))
        await eventually(trapped.exists, "the check to ignore SIGTERM")  # not only to start: to have trapped
        runner.terminate_all()
        await runner.wait_all()
        return await check_task

    assert run(scenario()).signal == signal.SIGKILL


def test_terminate_all_leaves_ordinary_notifies_alone(runner, tmp_path) -> None:
    started, release, done = tmp_path / "started", tmp_path / "release", tmp_path / "done"
    script = shell(
        'touch "$0"; while [ ! -e "$1" ]; do sleep 0.02; done; touch "$2"',
        str(started),
        str(release),
        str(done),
    )

    async def scenario() -> None:
        task = runner.notify(script, [])
        await eventually(started.exists, "the notify to start")
        runner.terminate_all()
        await runner.wait_all()
        assert not task.done()
        release.touch()
        await task

    run(scenario())
    assert done.exists()


@pytest.mark.parametrize("nice", [None, 5])
def test_a_script_gets_the_nice_value_the_daemon_gives_it(lines, tmp_path, nice) -> None:
    """keepalived's script child resets the nice value `vrrp_priority` gave the daemon: the runner starts
    a script with the value it is told (the scheduler's original one), or leaves the daemon's."""
    out = tmp_path / "nice"
    runner = ScriptRunner(lines.append, nice=lambda: nice)
    script = shell(f"cut -d' ' -f19 /proc/$$/stat > {out}")
    assert run(runner.run_check(check(script))) == ScriptOutcome.exited(0)
    expected = os.getpriority(os.PRIO_PROCESS, 0) if nice is None else nice
    assert int(out.read_text()) == expected

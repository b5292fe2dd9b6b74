"""Running commands as keepalived's system_call_script does (lib/notify.c): `vrrp_script` checks with their
timeout, notify commands, and the killing of whatever still runs at shutdown.

Each command runs in a process group of its own, as its script user (groups reset to its group), with
keepalived's umask, standard streams on /dev/null, and keepalived's environment and working directory.
A command that can be exec'd directly is; otherwise `/bin/sh -c` runs its arguments each single-quoted."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import TypeVar

from hapair.config.keepalived.model.scripts import SC_EXECABLE, NotifyScript, script_text
from hapair.config.keepalived.model.vrrp import VrrpScript

from .tracking import ScriptOutcome

DEFAULT_UMASK = 0o177  # keepalived's umask_val (S_IXUSR | S_IRWXG | S_IRWXO) unless `umask` is set
TERM_GRACE_S = 2.0  # after the timeout's SIGTERM, SIGKILL; again 2 s later
KILL_RETRY_S = 10.0  # then SIGKILL every 10 s while the process survives
SHUTDOWN_GRACE_S = 1.0  # after script_killall's SIGTERM, SIGKILL
SHELL_NOT_FOUND = 127
SHELL_NOT_EXECUTABLE = 126

Log = Callable[[str], None]
T = TypeVar("T")


class Run:
    """One started command, and the last signal its group was sent."""

    def __init__(self, process: asyncio.subprocess.Process, through_shell: bool, text: str) -> None:
        self.process = process
        self.through_shell = through_shell
        self.text = text  # how keepalived names the command in its messages
        self.sent: int | None = None
        self.stopping = False  # killed at shutdown: no more timeout handling

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal_group(self, signum: int) -> None:
        self.sent = signum
        with contextlib.suppress(ProcessLookupError):  # all gone: its status is on its way
            os.killpg(self.pid, signum)

    async def ended_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.process.wait(), seconds)
        except TimeoutError:
            return False
        return True


class ScriptRunner:
    """Starts commands and keeps track of those keepalived would kill at shutdown (checks and STOP
    notifies); `log` receives keepalived's messages."""

    def __init__(
        self, log: Log, *, umask: int = DEFAULT_UMASK, nice: Callable[[], int | None] = lambda: None
    ) -> None:
        """`nice`: the nice value a script is started with, None to leave the daemon's."""
        self.log = log
        self.umask = umask
        self._nice = nice
        self._tracked: dict[Run, asyncio.Task[object]] = {}  # what terminate_all kills
        self._awaited: set[asyncio.Task[object]] = set()  # what wait_all waits for
        self._background: set[asyncio.Task[object]] = set()  # other notifies, referenced until done

    @property
    def running(self) -> int:
        """How many checks and STOP notifies are running."""
        return len(self._tracked)

    async def run_check(self, script: VrrpScript) -> ScriptOutcome:
        """Run a vrrp_script once: past its timeout (its interval when none is set) its group gets
        SIGTERM, then SIGKILL. A command that cannot be started counts as exit status 0, as in
        keepalived, whose forked child exits 0 after logging the error."""
        run = await self._start(script.script, [])
        if run is None:
            return ScriptOutcome.exited(0)
        timeout_s = (script.timeout_us or script.interval_us) / 1_000_000
        supervisor = self._track(run, self._supervise_check(script.name, run, timeout_s))
        # shielded: a caller cancelled at shutdown leaves the process to terminate_all
        return await asyncio.shield(supervisor)

    def notify(
        self, script: NotifyScript, extra_args: Sequence[str], *, kill_after_s: float | None = None
    ) -> asyncio.Task[None]:
        """Start a notify command with `extra_args` appended (`INSTANCE VI_1 MASTER 100`) and reap it
        when it ends. With `kill_after_s` (keepalived's STOP notifies: 1 s) the run is tracked and its
        group is SIGKILLed if still running then; other notifies are left to run."""
        task = asyncio.ensure_future(self._run_notify(script, [*extra_args], kill_after_s))
        keep(self._background if kill_after_s is None else self._awaited, task)
        return task

    def run_service(self, script: NotifyScript) -> asyncio.Task[int | None]:
        """Start a command that runs until the daemon stops (a notify FIFO's reader): tracked, so that
        terminate_all ends it with the checks. The task ends with its exit status when it ends on its own
        (0 if it could not be started, as a notify), None when terminate_all ended it."""
        task = asyncio.ensure_future(self._run_service(script))
        keep(self._background, task)
        return task

    async def _run_service(self, script: NotifyScript) -> int | None:
        run = await self._start(script, [])
        if run is None:
            return 0
        returncode = await self._track(run, self._finish(run))
        return None if run.stopping else returncode

    def terminate_all(self) -> None:
        """keepalived's script_killall at shutdown: SIGTERM to every tracked group, SIGKILL to those
        still running a second later."""
        runs = list(self._tracked)
        for run in runs:
            run.stopping = True
            run.signal_group(signal.SIGTERM)
        if runs:
            keep(self._awaited, asyncio.ensure_future(self._kill_survivors(runs)))

    async def wait_all(self) -> None:
        """Wait until every check, STOP notify and the shutdown killing are over."""
        while pending := [*self._tracked.values(), *self._awaited]:
            await asyncio.wait(pending)

    def _track(self, run: Run, supervision: Coroutine[object, object, T]) -> asyncio.Task[T]:
        supervisor = asyncio.ensure_future(supervision)
        self._tracked[run] = supervisor
        supervisor.add_done_callback(lambda _: self._tracked.pop(run, None))
        return supervisor

    async def _kill_survivors(self, runs: list[Run]) -> None:
        supervisors = [self._tracked[run] for run in runs if run in self._tracked]
        if supervisors:
            await asyncio.wait(supervisors, timeout=SHUTDOWN_GRACE_S)
        for run in runs:
            if run.process.returncode is None:
                run.signal_group(signal.SIGKILL)

    async def _run_notify(
        self, script: NotifyScript, extra_args: list[str], kill_after_s: float | None
    ) -> None:
        run = await self._start(script, extra_args)
        if run is None:
            return
        if kill_after_s is None:
            await self._finish(run)
            return
        await self._track(run, self._supervise_notify(run, kill_after_s))

    async def _supervise_notify(self, run: Run, kill_after_s: float) -> None:
        if not await run.ended_within(kill_after_s) and not run.stopping:
            run.signal_group(signal.SIGKILL)
        await self._finish(run)

    async def _supervise_check(self, name: str, run: Run, timeout_s: float) -> ScriptOutcome:
        if not await run.ended_within(timeout_s):
            await self._time_out(name, run)
        returncode = await self._finish(run)
        if returncode >= 0:
            return ScriptOutcome.exited(returncode)
        signum = -returncode
        if run.sent == signal.SIGTERM and signum == signal.SIGTERM and not run.stopping:
            run.signal_group(signal.SIGKILL)  # whatever the script started must go too
        return ScriptOutcome.killed(signum, timed_out=timed_out(run.sent, signum))

    async def _time_out(self, name: str, run: Run) -> None:
        """vrrp_script_child_thread's THREAD_CHILD_TIMEOUT steps."""
        for signum in (signal.SIGTERM, signal.SIGKILL):
            if run.stopping:
                return
            run.signal_group(signum)
            if await run.ended_within(TERM_GRACE_S):
                return
        while not run.stopping:
            self.log(f"Script {name} child (PID {run.pid}) failed to terminate after kill")
            run.signal_group(signal.SIGKILL)
            if await run.ended_within(KILL_RETRY_S):
                return

    async def _finish(self, run: Run) -> int:
        """Reap the process; a shell's "not found"/"cannot execute" is reported as keepalived's child
        reports it: logged, exit status 0."""
        returncode = await run.process.wait()
        if not run.through_shell or returncode not in (SHELL_NOT_FOUND, SHELL_NOT_EXECUTABLE):
            return returncode
        problem = "find" if returncode == SHELL_NOT_FOUND else "execute"
        self.log(f"Couldn't {problem} command: {run.text}")
        return 0

    async def _start(self, script: NotifyScript, extra_args: list[str]) -> Run | None:
        args = [*script.args, *extra_args]
        through_shell = not script.flags & SC_EXECABLE
        text = script_text(NotifyScript(args, script.uid, script.gid))
        argv = ["sh", "-c", text] if through_shell else args
        nice = self._nice()
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                executable="/bin/sh" if through_shell else args[0],
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                process_group=0,
                umask=self.umask,
                # the daemon runs one thread: a function run in the child between fork and exec is safe
                preexec_fn=None
                if nice is None
                else functools.partial(os.setpriority, os.PRIO_PROCESS, 0, nice),
                **identity(script.uid, script.gid),
            )
        except OSError as error:
            self.log(f"Error exec-ing command '{args[0]}', error {error.errno}: {error.strerror}")
            return None
        return Run(process, through_shell, text)


def keep(tasks: set[asyncio.Task[object]], task: asyncio.Task[object]) -> None:
    """Hold a reference to `task` in `tasks` until it is done."""
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def identity(uid: int, gid: int) -> dict[str, object]:
    """Subprocess arguments for keepalived's set_script_env: the group and user when they differ from
    ours, and the supplementary groups cleared to the script's group (only root may)."""
    switch: dict[str, object] = {}
    if gid != os.getgid():
        switch["group"] = gid
    if os.geteuid() == 0:
        switch["extra_groups"] = [gid]
    if uid != os.getuid():
        switch["user"] = uid
    return switch


def timed_out(sent: int | None, signum: int) -> bool:
    """keepalived counts a death by its own SIGTERM, or by SIGKILL/SIGTERM once it forces termination,
    as a timeout; any other signal is a failure."""
    if sent == signal.SIGTERM:
        return signum == signal.SIGTERM
    return sent == signal.SIGKILL and signum in (signal.SIGKILL, signal.SIGTERM)

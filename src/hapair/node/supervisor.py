"""The proxy master as `hapair node`'s child: started in the foreground (`daemon off;`) with argv[0]
`nginx` beside the interpreter (so that `pidof nginx` in an existing check script still finds it), its
exit seen at once from its pidfd, restarted with back-off, reloaded by SIGHUP, stopped gracefully.

A master that dies is started again after `delay`, doubled for each earlier death within `window`
seconds, up to `max_delay`. Every death and every return is logged and handed to `on_master` (the
`proxy` tracker)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .settings import Restart

STOP_GRACE_S = 10.0  # a graceful stop (SIGQUIT) gets this long, then SIGTERM, then SIGKILL
KILL_GRACE_S = 2.0


def proxy_command(conf_file: str, prefix: str | None, directives: str) -> list[str]:
    """The proxy's command line, argv[0] first (see the module's documentation)."""
    argv0 = str(Path(sys.executable).parent / "nginx")
    command = [argv0, "-m", "hapair", "proxy", "-c", conf_file, "-g", f"daemon off; {directives}".strip()]
    if prefix is not None:
        command[4:4] = ["-p", prefix]
    return command


def exit_text(status: int) -> str:
    """How a process ended, from Popen's returncode (negative: the signal that ended it)."""
    if status < 0:
        return f"killed by signal {-status}"
    return f"exited with status {status}"


class ProxySupervisor:
    """Starts and watches one proxy master at a time."""

    def __init__(
        self,
        command: list[str],
        *,
        environment: dict[str, str],
        restart: Restart,
        log: Callable[[str], None],
        on_master: Callable[[bool], None],
        stdout: int | None = None,
    ) -> None:
        self.command = command
        self._environment = environment
        self._restart = restart
        self._log = log
        self._on_master = on_master
        self._stdout = stdout
        self._loop = asyncio.get_running_loop()
        self.process: subprocess.Popen[bytes] | None = None
        self._pidfd: int | None = None
        self._deaths: list[float] = []
        self._pending: asyncio.TimerHandle | None = None
        self._stopping = False
        self._gone = asyncio.Event()
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        self._pending = None
        if self._stopping:
            return
        try:
            process = subprocess.Popen(
                self.command,
                executable=sys.executable,
                env=self._environment,
                stdin=subprocess.DEVNULL,
                stdout=self._stdout,
            )
        except OSError as error:
            self._log(f"Cannot start the proxy: {error.strerror}")
            self._schedule_restart()
            return
        self.process = process
        self.starts += 1
        self._gone.clear()
        self._pidfd = os.pidfd_open(process.pid)
        self._loop.add_reader(self._pidfd, self._exited)
        verb = "started" if self.starts == 1 else "restarted"
        self._log(f"Proxy master {verb} (PID {process.pid})")
        self._on_master(True)

    def _exited(self) -> None:
        process = self.process
        assert process is not None and self._pidfd is not None
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = None
        status = process.wait()
        self.process = None
        self._gone.set()
        self._log(f"Proxy master (PID {process.pid}) {exit_text(status)}")
        self._on_master(False)
        if not self._stopping:
            self._schedule_restart()

    def _schedule_restart(self) -> None:
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < self._restart.window]
        delay = min(self._restart.max_delay, self._restart.delay * 2 ** len(self._deaths))
        self._deaths.append(now)
        self._log(f"Restarting the proxy in {delay:g} s")
        self._pending = self._loop.call_later(delay, self.start)

    def reload(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)

    def resume(self) -> None:
        """Start the proxy again after `stop` (hapair node --bgp's undrain)."""
        if self._stopping and self.process is None:
            self._stopping = False
            self._deaths.clear()
            self.start()

    async def stop(self, grace: float = STOP_GRACE_S) -> signal.Signals | None:
        """Gracefully (SIGQUIT: the workers finish their connections), then harder if that takes longer
        than `grace` seconds; the signal that ended it (None: it was not running). Each escalation is
        logged."""
        self._stopping = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        sent = None
        for signum, patience in ((signal.SIGQUIT, grace), (signal.SIGTERM, KILL_GRACE_S)):
            if self.process is None:
                return sent
            self.process.send_signal(signum)
            sent = signum
            try:
                await asyncio.wait_for(self._gone.wait(), patience)
                return sent
            except TimeoutError:
                self._log(f"Proxy master (PID {self.pid}) still running {patience:g} s after {signum.name}")
        if self.process is not None:
            self.process.kill()
            sent = signal.SIGKILL
            await self._gone.wait()
        return sent

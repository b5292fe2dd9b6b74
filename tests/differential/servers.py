"""The two proxies as subprocesses on the same configuration text: the real nginx 1.22 (`nginx -p DIR -c
FILE -g 'daemon off; pid ...;' -e ...`) and `hapair proxy -c FILE -p DIR`, each in a directory of its own
that is also its prefix, so that relative paths in the text (`access.log`, `error.log`) land there.

How each is kept in the foreground and told where its pid file goes is decided in one place,
`command_line`: nginx takes `-g`, hapair (which has no `-g`) gets the same directives on its first lines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAPAIR = str(Path(sys.executable).with_name("hapair"))
STOP_TIMEOUT_S = 10


def missing_nginx() -> str | None:
    """Why the real nginx cannot run beside hapair here, or None."""
    if not Path(NGINX).exists():
        return "nginx is not installed (the differential tests run Debian's nginx 1.22.1 beside hapair)"
    if os.geteuid() != 0:
        return "nginx needs root to open its temp paths (/var/lib/nginx)"
    return None


@dataclass(frozen=True)
class Implementation:
    name: str  # "nginx" or "hapair"

    def command_line(self, directory: Path, text: str) -> tuple[list[str], str]:
        """The command that runs `text` (written to directory/nginx.conf) in the foreground with its pid
        file in `directory`, and the text as that implementation must be given it."""
        conf = directory / "nginx.conf"
        pid = directory / f"{self.name}.pid"
        program = [NGINX] if self.name == "nginx" else [HAPAIR, "proxy"]
        args = [*program, "-p", f"{directory}/", "-c", str(conf), "-e", str(directory / "error.log")]
        return [*args, "-g", f"daemon off; pid {pid};"], text


IMPLEMENTATIONS = (Implementation("nginx"), Implementation("hapair"))


class Process:
    """One implementation running one configuration in `directory`."""

    def __init__(
        self, implementation: Implementation, directory: Path, text: str, wrapper: Sequence[str] = ()
    ) -> None:
        """`wrapper`: what the command runs under (`ip netns exec NAME`), which must exec it."""
        self.implementation = implementation
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        args, given = implementation.command_line(directory, text)
        args = [*wrapper, *args]
        (directory / "nginx.conf").write_text(given)
        self.console_path = directory / "console.txt"
        with open(self.console_path, "wb") as console:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT
            )

    @property
    def name(self) -> str:
        return self.implementation.name

    def running(self) -> bool:
        return self.process.poll() is None

    def console(self) -> str:
        return self.console_path.read_text(errors="replace") if self.console_path.exists() else ""

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return {int(pid) for pid in children.read_text().split()}
        except OSError:
            return set()

    def _workers(self) -> dict[int, str]:
        """The workers, each with its start time: a PID is killed later only if it is still that process."""
        return {pid: started for pid in self.worker_pids() if (started := _start_time(pid))}

    def stop(self) -> None:
        """SIGTERM, and SIGKILL after a while; then whatever workers are left, by PID."""
        workers = self._workers()
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid, started in workers.items():
            if _start_time(pid) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _start_time(pid: int) -> str:
    """The process's start time (field 22 of /proc/PID/stat), or "" when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]

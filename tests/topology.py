"""A LAN of network namespaces for whole-system tests and benchmarks: a bridge in its own namespace, hosts
joined to it by veth pairs, and daemons started inside the hosts. Nothing touches the root namespace; every
name carries a per-run prefix; `Lan.close` kills what it started (by PID) and deletes the namespaces, also
after a failure.

A host may run a daemon in a private mount and PID namespace (`isolated=True`), where a shell set-up runs
first: that is how each load-balancer node gets the seed's own set-up (user nginx, /etc/keepalived/
check_nginx.sh, an "nginx" process for `pidof nginx` to find) without changing the machine."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .netns import Namespace, missing_requirements, unique_name

HAPAIR = str(Path(sys.executable).with_name("hapair"))


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.02) -> object:
    """Poll `condition` until it returns something true; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Daemon:
    """A process started in a host, its console output going to `log_path`."""

    def __init__(self, host: Host, process: subprocess.Popen[bytes], log_path: Path, program: str) -> None:
        self.host = host
        self.process = process
        self.log_path = log_path
        self.program = program  # the name to find the real process by when it runs in a PID namespace

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def lines(self) -> list[str]:
        """Log lines without keepalived's console time stamp."""
        return [line.split(": ", 1)[-1] for line in self.log().splitlines()]

    def wait_for(self, text: str, timeout: float = 15, after: int = 0) -> int:
        """Wait until a log line (from line index `after` on) contains `text`; its index."""

        def found() -> int | None:
            for index, line in enumerate(self.lines()[after:], start=after):
                if text in line:
                    return index + 1  # +1 so that index 0 counts as found
            return None

        return int(wait_until(found, timeout, f"{text!r} in {self.log_path.name}")) - 1

    @property
    def pid(self) -> int:
        """The daemon's PID as this machine sees it (inside a PID namespace, not the wrapper's)."""
        if self.process.poll() is not None:
            raise AssertionError(f"{self.log_path.name}: the process has ended\n{self.log()}")
        return self.host.pid_of(self.program, below=self.process.pid) or self.process.pid

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, wait for the end (SIGKILL after `timeout`); the exit status."""
        if self.process.poll() is None:
            with contextlib.suppress(AssertionError, ProcessLookupError):
                self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class Host:
    """A namespace on the LAN, with `eth0` at `address`/24; its bridge port is `port` in the bridge's
    namespace, so that `cut` takes its carrier away as pulling a cable would."""

    def __init__(self, lan: Lan, name: str, address: str, namespace: Namespace) -> None:
        self.lan = lan
        self.name = name
        self.address = address
        self.namespace = namespace
        namespace.make()
        self.port = f"p{name}"[:15]
        lan.bridge.add_veth(
            self.port, "eth0", peer_namespace=self.namespace, peer_addresses=[f"{address}/24"]
        )
        lan.bridge.ip("link", "set", self.port, "master", "br0")

    def kill_leftovers(self) -> None:
        """SIGKILL, by PID, whatever still runs in the host's namespace (a worker its master left behind)."""
        self.namespace.kill_processes()

    def cut(self) -> None:
        self.lan.bridge.ip("link", "set", self.port, "down")

    def restore(self) -> None:
        self.lan.bridge.ip("link", "set", self.port, "up")

    def mac(self) -> str:
        return self.namespace.interfaces()["eth0"].mac

    def addresses(self) -> list[str]:
        """eth0's IPv4 addresses, without prefix."""
        return [a.split("/")[0] for a in self.namespace.interfaces()["eth0"].ipv4]

    def link_local(self) -> str | None:
        """eth0's IPv6 link-local address, without prefix (None before the kernel has made it)."""
        addresses = (a.split("/")[0] for a in self.namespace.interfaces()["eth0"].ipv6)
        return next((a for a in addresses if a.startswith("fe80:")), None)

    def neighbour_mac(self, address: str) -> str | None:
        """The MAC this host's ARP table has for `address` (None if none or incomplete)."""
        entries = json.loads(self.namespace.ip("-j", "neigh", "show", "dev", "eth0").stdout or "[]")
        for entry in entries:
            if entry.get("dst") == address and "lladdr" in entry:
                return str(entry["lladdr"])
        return None

    def run(self, args: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return self.namespace.run(args, timeout=timeout)

    def start(
        self,
        args: Sequence[str],
        *,
        log_name: str,
        isolated: bool = False,
        setup: str = "",
        env: dict[str, str] | None = None,
    ) -> Daemon:
        """Start `args` in this host. `isolated`: in a private mount and PID namespace, with /etc overlaid
        by a private copy, after the shell `setup` has run there."""
        log_path = self.lan.directory / log_name
        command = list(args)
        if isolated:
            command = self._isolated(command, setup)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace.name, *command],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        daemon = Daemon(self, process, log_path, Path(args[0]).name)
        self.lan.daemons.append(daemon)
        return daemon

    def _isolated(self, command: list[str], setup: str) -> list[str]:
        overlay = self.lan.directory / f"etc-{self.name}"
        for part in ("upper", "work"):
            (overlay / part).mkdir(parents=True, exist_ok=True)
        script = (
            "set -e\n"
            "mount -t overlay overlay"
            f" -o lowerdir=/etc,upperdir={overlay}/upper,workdir={overlay}/work /etc\n"
            f"{setup}\n"
            'exec "$@"\n'
        )
        # --kill-child: should the wrapper die first (a stop during the set-up), the namespace goes with it
        return ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
                "--mount-proc", "sh", "-c", script, "sh", *command]  # fmt: skip

    def pid_of(self, program: str, *, below: int) -> int | None:
        """The PID of the process named `program` that is `below` or descends from it (for daemons started
        in a PID namespace, whose wrapper is not the daemon; `ip netns exec` alone execs the daemon, whose
        own children, such as keepalived's VRRP process, may carry the same name)."""
        children: dict[int, list[int]] = {}
        programs: dict[int, set[str]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                argv = (entry / "cmdline").read_bytes().split(b"\0")[:2]
            except OSError:
                continue
            pid = int(entry.name)
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(pid)
            # argv[0] for a binary, argv[1] for a script run by its interpreter
            programs[pid] = {Path(part.decode(errors="replace")).name for part in argv}
        pending = [below]
        while pending:
            pid = pending.pop(0)  # breadth first: the outermost process of that name
            if program in programs.get(pid, set()):
                return pid
            pending += children.get(pid, [])
        return None


class Lan:
    """The bridge namespace and its hosts; use as a context manager."""

    def __init__(self, directory: Path, prefix: str | None = None) -> None:
        self.prefix = prefix or unique_name("hl")
        self.directory = directory
        self._namespaces: list[Namespace] = []
        self.hosts: list[Host] = []
        self.daemons: list[Daemon] = []
        self.bridge = self._namespace("br")
        self.bridge.make()
        self.bridge.ip("link", "add", "br0", "type", "bridge")
        self.bridge.ip("link", "set", "br0", "up")

    def _namespace(self, name: str) -> Namespace:
        """A namespace of this LAN, known before it is made: `close` deletes it even if its making, or its
        host's, was cut short."""
        namespace = Namespace(f"{self.prefix}{name}")
        self._namespaces.append(namespace)
        return namespace

    def host(self, name: str, address: str) -> Host:
        host = Host(self, name, address, self._namespace(name))
        self.hosts.append(host)
        return host

    def close(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop(timeout=5)
        for host in self.hosts:
            host.kill_leftovers()
        for namespace in self._namespaces:
            namespace.delete()

    def __enter__(self) -> Lan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def missing_lab_requirements() -> str | None:
    """Why whole-system tests cannot run here, or None."""
    return missing_requirements("unshare")

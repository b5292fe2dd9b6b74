"""Network namespaces for tests: create one, give it veth interfaces and addresses, run commands inside it,
read its interfaces back, and always delete it. Needs root and iproute2 (`missing_requirements` says why
not, for a skip)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hapair.config.keepalived.host import Interface

_names = itertools.count()


def missing_requirements(*programs: str) -> str | None:
    """Why namespaces cannot be used here (not root, `ip` or another program missing), or None."""
    if os.geteuid() != 0:
        return "needs root to build network namespaces"
    for program in ("ip", *programs):
        if shutil.which(program) is None:
            return f"needs {program}"
    return None


def unique_name(prefix: str = "hpt") -> str:
    """A namespace name no other test run uses: the prefix, this process's id and a counter."""
    return f"{prefix}{os.getpid()}_{next(_names)}"


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


class Namespace:
    """One network namespace, with its loopback up."""

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def create(cls, name: str | None = None) -> Namespace:
        namespace = cls(name or unique_name())
        namespace.make()
        return namespace

    def make(self) -> None:
        """Add the namespace, with its loopback up (deleted again if that fails)."""
        ip("netns", "add", self.name)
        try:
            self.ip("link", "set", "lo", "up")
        except subprocess.CalledProcessError:
            self.delete()
            raise

    def delete(self) -> None:
        """Delete the namespace (its veth ends go with it); nothing happens if it is already gone."""
        subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True, timeout=30)

    def kill_processes(self) -> None:
        """SIGKILL, by PID, whatever still runs in the namespace (a daemon's children left behind):
        deleting a namespace does not end its processes."""
        listing = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False
        )
        for pid in listing.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)

    def ip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return ip("-n", self.name, *args)

    def add_veth(
        self,
        name: str,
        peer: str,
        *,
        addresses: Sequence[str] = (),
        peer_namespace: Namespace | None = None,
        peer_addresses: Sequence[str] = (),
    ) -> None:
        """A veth pair `name` (here) - `peer` (in `peer_namespace`, or here too), both up, with addresses."""
        other = peer_namespace or self
        self.ip("link", "add", name, "type", "veth", "peer", "name", peer, "netns", other.name)
        for namespace, interface, assigned in ((self, name, addresses), (other, peer, peer_addresses)):
            for address in assigned:
                namespace.ip("addr", "add", address, "dev", interface)
            namespace.ip("link", "set", interface, "up")

    def start(
        self, args: Sequence[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """Start a command inside the namespace; its output is captured as text (use `communicate`)."""
        return subprocess.Popen(
            ["ip", "netns", "exec", self.name, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="surrogateescape",
        )

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace and wait for it."""
        with self.start(args, cwd=cwd, env=env) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def interfaces(self) -> dict[str, Interface]:
        """The namespace's interfaces and addresses, as hapair's Host describes them."""
        links = json.loads(self.ip("-j", "addr", "show").stdout)
        interfaces = {}
        for link in links:
            addresses = link.get("addr_info", [])
            interfaces[link["ifname"]] = Interface(
                name=link["ifname"],
                index=link["ifindex"],
                loopback="LOOPBACK" in link.get("flags", []),
                up="UP" in link.get("flags", []),
                mtu=link.get("mtu", 1500),
                mac=link.get("address", "00:00:00:00:00:00"),
                ipv4=tuple(f"{a['local']}/{a['prefixlen']}" for a in addresses if a["family"] == "inet"),
                ipv6=tuple(f"{a['local']}/{a['prefixlen']}" for a in addresses if a["family"] == "inet6"),
            )
        return interfaces


@contextmanager
def namespace(name: str | None = None) -> Iterator[Namespace]:
    """A namespace for the duration of the block, deleted however the block ends."""
    created = Namespace.create(name)
    try:
        yield created
    finally:
        created.delete()

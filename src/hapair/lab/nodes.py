"""A load-balancer node's processes. Each node has its own network namespace and, inside it, a private
mount and PID namespace held open by `unshare` (`holder`), whose PID 1 (`inner`) did the seed's set-up
of the node in a private overlay of /etc: user `nginx`, `/etc/keepalived/check_nginx.sh` owned by it
(mode 700), the keepalived.conf, the certificates at the seed's paths. The VRRP daemon and the proxy are
started into those namespaces with `nsenter`, so the seed's `pidof nginx` sees that node's proxy only.

`hapair proxy` answers to `pidof nginx` because it runs with argv[0] `<python's directory>/nginx`:
Debian's pidof (sysvinit's) matches argv[0]'s base name, not the kernel's process name. Python finds its
installation (and its virtual environment) from that directory, so the interpreter starts as usual."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import configs, cpu
from .errors import LabError
from .layout import node_role
from .processes import (
    POLL_S,
    ProcessId,
    children,
    family,
    identified,
    poll,
    signals_deferred,
    stop,
    wait_for_child,
    wait_gone,
)
from .state import LabState, NodeState

READY_TIMEOUT_S = 15
START_TIMEOUT_S = 5
STOP_TIMEOUT_S = 5
# Runs a program with a chosen argv[0]: python -c EXEC_AS PROGRAM ARGV0 ARGS...
# BIRD ahead of the rest of a loaded machine: its BFD at 100 ms x 3 drops healthy sessions when BIRD waits
# 300 ms for a CPU (seen at a load average of 8 on 2 cores, every few seconds), as a router's would
BIRD_PRIORITY = ("nice", "-n", "-15")
EXEC_AS = "import os, sys; os.execv(sys.argv[1], sys.argv[2:])"


class Node:
    """Node `number` of `state`: prepares its files and starts and stops its processes, recording them."""

    def __init__(self, state: LabState, number: int) -> None:
        self.state = state
        self.number = number
        self.directory = state.node_directory(number)
        self.namespace = state.layout.namespace(node_role(number))

    @property
    def record(self) -> NodeState:
        return self.state.node(self.number)

    @property
    def logs(self) -> Path:
        return self.directory / "log"

    @property
    def keepalived_conf(self) -> Path:
        return self.directory / "keepalived.conf"

    @property
    def nginx_conf(self) -> Path:
        return self.directory / "nginx" / "nginx.conf"

    # ----- files

    def write_files(self, certificates: dict[str, tuple[Path, Path]]) -> None:
        include = self.directory / "nginx" / configs.NGINX_DIRECTORY[self.state.layer]
        for part in ("log", "tmp", "etc/upper", "etc/work"):
            (self.directory / part).mkdir(parents=True, exist_ok=True)
        include.mkdir(parents=True, exist_ok=True)
        config_dir = self.state.config_dir
        if self.state.mode == "pair":
            self.keepalived_conf.write_text(
                configs.config_text(config_dir, f"{node_role(self.number)}/keepalived.conf")
            )
        (self.directory / "check_nginx.sh").write_text(configs.config_text(config_dir, "check_nginx.sh"))
        for name, text in configs.nginx_files(config_dir, self.state.layer, self.logs).items():
            (include / name).write_text(text)
        self.nginx_conf.write_text(
            configs.nginx_main(
                include_dir=include,
                layer=self.state.layer,
                node_dir=self.directory,
                real_nginx=self.record.proxy_program == "nginx",
            )
        )
        (self.directory / "setup.sh").write_text(self._setup_script(certificates))

    def _setup_script(self, certificates: dict[str, tuple[Path, Path]]) -> str:
        """The seed's set-up of the node, run as PID 1 of its namespaces, which then waits forever."""
        d = self.directory
        q = shlex.quote
        lines = [
            "set -e",
            f"mount -t overlay overlay -o lowerdir=/etc,upperdir={q(str(d / 'etc/upper'))},"
            f"workdir={q(str(d / 'etc/work'))} /etc",
            "id nginx >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin nginx",
            "mkdir -p /etc/keepalived /etc/ssl/certs /etc/ssl/private",
            f"cp {q(str(d / 'check_nginx.sh'))} /etc/keepalived/check_nginx.sh",
            "chown nginx:nginx /etc/keepalived/check_nginx.sh",
            "chmod 700 /etc/keepalived/check_nginx.sh",
        ]
        if self.state.mode == "pair":
            lines.append(f"cp {q(str(self.keepalived_conf))} /etc/keepalived/keepalived.conf")
        for name, (cert, key) in certificates.items():
            lines += [
                f"cp {q(str(cert))} /etc/ssl/certs/{name}.crt",
                f"cp {q(str(key))} /etc/ssl/private/{name}.key",
            ]
        lines += [f"touch {q(str(d / 'ready'))}", "exec sleep infinity"]
        return "\n".join(lines) + "\n"

    # ----- the node's namespaces

    def start_holder(self) -> None:
        command = [
            "nsenter",
            f"--net=/run/netns/{self.namespace}",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            str(self.directory / "setup.sh"),
        ]
        with signals_deferred():
            process = self._spawn(command, self.logs / "setup.log")
            self.record.holder = ProcessId.of(process.pid)
            self.state.save()
        self._wait_ready(process)
        self.record.inner = wait_for_child(process.pid, START_TIMEOUT_S)
        self.state.save()

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not (self.directory / "ready").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                output = (self.logs / "setup.log").read_text(errors="replace").strip().splitlines()
                raise LabError(
                    f"node {self.number}: its set-up failed: {output[-1] if output else 'no output'}"
                )
            time.sleep(POLL_S)

    # ----- daemons

    def start_vrrp(self) -> None:
        if self.record.native:
            self.record.vrrp = self._start_inside(self._node_command(), self.logs / "vrrp.log", "hapair node")
            self.state.save()
            return
        if self.record.vrrp_program == "keepalived":
            pids = {flag: self.directory / f"keepalived-{flag}.pid" for flag in "prcb"}
            command = ["keepalived", "-n", "-l", "-G", "-P", "-f", str(self.keepalived_conf)]
            for flag, path in pids.items():
                command += [f"-{flag}", str(path)]
        else:
            command = [
                sys.executable,
                "-m",
                "hapair",
                "vrrp",
                "-n",
                "-l",
                "-G",
                "-f",
                str(self.keepalived_conf),
                "-p",
                str(self.directory / "vrrp.pid"),
            ]
        self.record.vrrp = self._start_inside(command, self.logs / "vrrp.log", "the VRRP daemon")
        self.state.save()

    def _node_command(self) -> list[str]:
        """`hapair node`: the proxy is its child, with argv[0] nginx (check_nginx.sh still finds it); in
        the BGP lab, `hapair node --bgp` on the node's hapair bgp file, in place of VRRP."""
        if self.state.mode == "bgp":
            vips = ["--bgp", str(self.directory / "bgp.conf")]
        else:
            vips = ["-f", str(self.keepalived_conf)]
        return [
            sys.executable,
            "-m",
            "hapair",
            "node",
            "-n",
            "-l",
            "-G",
            *vips,
            "-c",
            str(self.nginx_conf),
            "--prefix",
            f"{self.nginx_conf.parent}/",
            "--pid",
            str(self.directory / "vrrp.pid"),
        ]

    def proxy_processes(self) -> list[ProcessId]:
        """The proxy's master and workers (under `hapair node`: its child that runs the proxy)."""
        if self.record.native:
            node = self.record.vrrp
            if node is None or not node.running():
                return []
            masters = [p for p in identified(children(node.pid)) if _runs_proxy(p.pid)]
            return [member for master in masters for member in family(master)]
        return family(self.record.proxy) if self.record.proxy is not None else []

    def start_proxy(self) -> None:
        if self.record.native:
            return  # `hapair node` starts it
        if self.record.proxy_program == "nginx":
            # nginx's own prefix: Debian's load_module lines are relative to it (the lab's paths are absolute)
            command = [
                "nginx",
                "-c",
                str(self.nginx_conf),
                "-e",
                str(self.logs / "error.log"),
                "-g",
                "daemon off;",
            ]
        else:
            argv0 = str(Path(sys.executable).parent / "nginx")
            command = [
                sys.executable,
                "-c",
                EXEC_AS,
                sys.executable,
                argv0,
                "-m",
                "hapair",
                "proxy",
                "-p",
                f"{self.nginx_conf.parent}/",
                "-c",
                str(self.nginx_conf),
                "-g",
                "daemon off;",  # the lab supervises the master itself, as it does nginx's
            ]
        self.pid_file.unlink(missing_ok=True)  # a killed proxy's: the new one's says it is listening
        self.record.proxy = self._start_inside(command, self.logs / "proxy.log", "the proxy")
        self.state.save()
        self._wait_listening(self.record.proxy)

    @property
    def pid_file(self) -> Path:
        return self.directory / configs.PID_FILE

    def _wait_listening(self, proxy: ProcessId) -> None:
        """Until the proxy has written its pid file, which nginx and hapair both do once their listening
        sockets are bound: "started" then means a client's connection is accepted."""
        pid_file = self.pid_file
        poll(lambda: _has_text(pid_file) or not proxy.running(), READY_TIMEOUT_S, meanwhile=lambda: None)
        if not _has_text(pid_file):
            last = _last_line(self.logs / "proxy.log")
            raise LabError(f"node {self.number}: the proxy is not listening{last}")

    def start_bird(self) -> None:
        """The BGP lab's speaker on this node: BIRD, on the file lab/bgp.py wrote."""
        d = self.directory
        command = [
            *BIRD_PRIORITY,
            "bird",
            "-f",
            "-c",
            str(d / "bird.conf"),
            "-s",
            str(d / "bird.ctl"),
            "-P",
            str(d / "bird.pid"),
        ]
        self.record.bird = self._start_inside(command, self.logs / "bird.log", "BIRD")
        self.state.save()

    def start_announcer(self) -> None:
        """`hapair bgp` on this node, following its proxy (`hapair node --bgp` under native health)."""
        if self.record.native:
            self.start_vrrp()
            return
        command = [sys.executable, "-m", "hapair", "bgp", "-c", str(self.directory / "bgp.conf")]
        self.record.announcer = self._start_inside(command, self.logs / "bgp.log", "hapair bgp")
        self.state.save()

    @property
    def announcer(self) -> ProcessId | None:
        """The BGP lab's process that decides the announcement: hapair bgp, or hapair node --bgp."""
        return self.record.vrrp if self.record.native else self.record.announcer

    @property
    def announcer_name(self) -> str:
        return "hapair node --bgp" if self.record.native else "hapair bgp"

    def stop_announcer(self) -> None:
        """SIGTERM: it withdraws the VIP before it exits (hapair node then stops its proxy gracefully)."""
        if self.record.native:
            self.stop_vrrp()
        elif self.record.announcer is not None:
            stop(self.record.announcer, STOP_TIMEOUT_S)
            self.record.announcer = None
            self.state.save()

    def kill_bird(self) -> None:
        """SIGKILL the node's BIRD: a crash of its BGP speaker."""
        if self.record.bird is not None:
            self.record.bird.signal(signal.SIGKILL)
            wait_gone([self.record.bird], STOP_TIMEOUT_S)
            self.record.bird = None
            self.state.save()

    def kill_proxy(self) -> None:
        """SIGKILL the proxy and its workers: a crash, no graceful end of its connections."""
        proxy = self.record.proxy
        if proxy is not None:
            for process in family(proxy):
                process.signal(signal.SIGKILL)
        self.record.proxy = None
        self.state.save()

    def stop_vrrp(self) -> None:
        if self.record.vrrp is not None:
            stop(self.record.vrrp, STOP_TIMEOUT_S)
            self.record.vrrp = None
            self.state.save()

    def kill_vrrp(self) -> None:
        """SIGKILL the VRRP daemon and everything it started: a crash, no hand-over advert."""
        vrrp = self.record.vrrp
        if vrrp is not None:
            for process in family(vrrp):
                process.signal(signal.SIGKILL)
        self.record.vrrp = None
        self.state.save()

    def stop_proxy(self) -> None:
        if self.record.proxy is not None:
            stop(self.record.proxy, STOP_TIMEOUT_S)
            self.record.proxy = None
            self.state.save()

    def stop_all(self) -> None:
        """The daemons by SIGTERM (a master hands over), then the namespaces' holder by SIGKILL: its
        --kill-child takes PID 1 of the node's namespace, and the kernel every process left in it."""
        self.stop_vrrp()
        self.stop_proxy()
        held = [p for p in (self.record.holder, self.record.inner) if p is not None]
        for process in held:
            process.signal(signal.SIGKILL)
        if not wait_gone(held, STOP_TIMEOUT_S):
            raise LabError(f"node {self.number}: its namespace holder (PID {held[0].pid}) would not end")
        self.record.inner = self.record.holder = None
        self.state.save()

    def _start_inside(self, command: list[str], log: Path, what: str) -> ProcessId:
        inner = self.record.inner
        if inner is None or not inner.running():
            raise LabError(f"node {self.number}: its namespaces are gone; hapair lab down, then up")
        wrapper = self._spawn(["nsenter", "-t", str(inner.pid), "-m", "-p", "-n", "--", *command], log)
        started = wait_for_child(wrapper.pid, START_TIMEOUT_S)
        if started is None:
            raise LabError(f"node {self.number}: {what} did not start{_last_line(log)}")
        return started

    def _spawn(self, command: list[str], log: Path) -> subprocess.Popen[bytes]:
        if self.state.node_cpu is not None:
            command = cpu.joined(
                cpu.create(self.state.node_cgroup(self.number), self.state.node_cpu), command
            )
        with open(log, "ab") as output:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=_environment(self.directory / "tmp"),
                start_new_session=True,  # a Ctrl-C at the terminal reaches the lab, which stops these itself
            )


def _last_line(log: Path) -> str:
    """`: ` and the log's last line, to end a message with (nothing for an empty log)."""
    lines = log.read_text(errors="replace").strip().splitlines()
    return f": {lines[-1]}" if lines else ""


def _has_text(path: Path) -> bool:
    try:
        return path.read_text().strip() != ""
    except FileNotFoundError:
        return False


def _runs_proxy(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"proxy" in argv


def _environment(tmp: Path) -> dict[str, str]:
    """The daemons' environment: TMPDIR is where the VRRP daemon writes keepalived.json on SIGRTMIN+2."""
    return {**os.environ, "TMPDIR": str(tmp)}


def missing_program(name: str) -> str | None:
    """Why the real `name` (keepalived or nginx) cannot be used, or None."""
    if shutil.which(name) is None:
        return f"--with-{name} needs {name} installed (apt-get install {name})"
    return None

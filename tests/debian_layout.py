"""A Debian 12 node's nginx layout, without touching the machine's own files: Debian's packaged nginx files
(tests/data/debian-nginx) with the seed's files added, laid out in a directory and bind-mounted over
/etc/nginx, /var/www/html, /var/log/nginx, /var/lib/nginx and /run in a private mount namespace, with the
seed's certificates added to /etc/ssl by an overlay; commands run there inside a network namespace
(tests/netns.py), so that `nginx` or `hapair proxy` run exactly as on a real node.

Each command gets a mount namespace of its own (`unshare --mount`, `mount --make-rprivate /`, then the
mounts); all of them see the same directories, so a daemon started by one command and `-s reload` sent by
the next share /run/nginx.pid. The seed's L7 file goes to conf.d/k8sapi.conf; its L4 file to
tcpconf.d/k8sapi.conf.bak, as the seed's "Convert to Layer 7" leaves it (both listen on 8080), with the
seed's `include /etc/nginx/tcpconf.d/*.conf;` line added to nginx.conf after the modules' include.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .netns import Namespace
from .reference import REPO

DEBIAN_FILES = REPO / "tests" / "data" / "debian-nginx"
SEED_NGINX = REPO / "src" / "hapair" / "lab" / "seed" / "nginx"
BOUND = ("/etc/nginx", "/var/www/html", "/var/log/nginx", "/var/lib/nginx", "/run")
TCPCONF_INCLUDE = "include /etc/nginx/tcpconf.d/*.conf;"
MODULES_INCLUDE = "include /etc/nginx/modules-enabled/*.conf;"
# the seed's certificate paths (conf.d/k8sapi.conf), under /etc/ssl
SEED_CERTIFICATES = {
    "server": ("certs/k8sapiserver.crt", "private/k8sapiserver.key"),
    "client": ("certs/k8sapiclient.crt", "private/k8sapiclient.key"),
}


def missing_layout_requirements() -> str | None:
    """Why the layout cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root for mount and network namespaces"
    for program in ("ip", "unshare", "mount"):
        if shutil.which(program) is None:
            return f"needs {program}"
    for mount_point in (*BOUND, "/etc/ssl"):
        if not Path(mount_point).is_dir():
            return f"needs {mount_point} to exist, to mount over it"
    return None


class DebianNode:
    """The layout in `directory` (root/etc/nginx, root/var/www/html, ...), used from `namespace`."""

    def __init__(
        self, directory: Path, namespace: Namespace, certificates: dict[str, tuple[Path, Path]]
    ) -> None:
        self.directory = directory
        self.namespace = namespace
        self.root = directory / "root"
        self._lay_out(certificates)

    def path(self, inside: str) -> Path:
        """Where a path of the node (/etc/nginx/..., /run/...) is in the test's directory."""
        for bound in BOUND:
            if inside == bound or inside.startswith(bound + "/"):
                return self.root / inside.lstrip("/")
        raise ValueError(f"{inside} is not in the node's own directories")

    def _lay_out(self, certificates: dict[str, tuple[Path, Path]]) -> None:
        shutil.copytree(DEBIAN_FILES / "etc", self.root / "etc")
        shutil.copytree(DEBIAN_FILES / "var", self.root / "var")
        for bound in BOUND:
            self.path(bound).mkdir(parents=True, exist_ok=True)
        etc = self.path("/etc/nginx")
        for directory in ("conf.d", "tcpconf.d", "sites-enabled"):
            (etc / directory).mkdir(exist_ok=True)
        (etc / "sites-enabled" / "default").symlink_to("/etc/nginx/sites-available/default")
        nginx_conf = etc / "nginx.conf"
        text = nginx_conf.read_text()
        nginx_conf.write_text(text.replace(MODULES_INCLUDE, f"{MODULES_INCLUDE}\n{TCPCONF_INCLUDE}", 1))
        shutil.copy(SEED_NGINX / "conf.d" / "k8sapi.conf", etc / "conf.d" / "k8sapi.conf")
        shutil.copy(SEED_NGINX / "tcpconf.d" / "k8sapi.conf", etc / "tcpconf.d" / "k8sapi.conf.bak")
        ssl = self.directory / "ssl-upper"
        for role, (certificate, key) in SEED_CERTIFICATES.items():
            source_certificate, source_key = certificates[role]
            for source, target in ((source_certificate, certificate), (source_key, key)):
                (ssl / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, ssl / target)
        (self.directory / "ssl-work").mkdir()
        # the workers (user www-data) read the page and traverse the directories
        for path in (self.directory, self.root, *self.root.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)

    def command(self, args: Sequence[str]) -> list[str]:
        """`args` as run on the node: in the network namespace and a private mount namespace."""
        mounts = ["mount --make-rprivate /"]
        mounts += [f"mount --bind {shlex.quote(str(self.path(bound)))} {bound}" for bound in BOUND]
        upper, work = self.directory / "ssl-upper", self.directory / "ssl-work"
        mounts.append(
            f"mount -t overlay overlay -o lowerdir=/etc/ssl,upperdir={upper},workdir={work} /etc/ssl"
        )
        script = "set -e\n" + "\n".join(mounts) + '\nexec "$@"\n'
        return [
            "ip",
            "netns",
            "exec",
            self.namespace.name,
            "unshare",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            *args,
        ]

    def run(self, args: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command on the node and wait for it; its output goes to a file, not a pipe, so that a
        daemon it leaves behind does not hold the call."""
        output = self.directory / "command.txt"
        with open(output, "wb") as file:
            result = subprocess.run(
                self.command(args),
                check=False,
                stdin=subprocess.DEVNULL,
                stdout=file,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        return subprocess.CompletedProcess(result.args, result.returncode, output.read_text(errors="replace"))

    def kill_leftovers(self) -> None:
        """SIGKILL, by PID, whatever still runs in the node's network namespace."""
        self.namespace.kill_processes()

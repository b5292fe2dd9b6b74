"""The files each node runs: the seed's (shipped in `hapair/lab/seed/`) or the user's (`--config-dir`, same
layout), written into the node's state directory.

Layout of a configuration directory (`hapair lab export DIR` writes the seed's):
    node1/keepalived.conf, node2/keepalived.conf   each node's VRRP configuration
    check_nginx.sh                                 installed as /etc/keepalived/check_nginx.sh on each node
    nginx/conf.d/k8sapi.conf                       the seed's L7 load balancer (inside `http {}`)
    nginx/tcpconf.d/k8sapi.conf                    the seed's L4 load balancer (a `stream {}` block)

The seed's nginx files are the seed's text with the backend moved to the lab's subnet (10.101.1.104); the
lab only points their `/var/log/nginx/` at the node's log directory. Their certificates keep the seed's
paths: each node's private /etc gets them."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

from .errors import LabError

SEED_FILES = (
    "node1/keepalived.conf",
    "node2/keepalived.conf",
    "check_nginx.sh",
    "nginx/conf.d/k8sapi.conf",
    "nginx/tcpconf.d/k8sapi.conf",
)
NGINX_DIRECTORY = {7: "conf.d", 4: "tcpconf.d"}
CERTIFICATE_NAMES = ("k8sapiserver", "k8sapiclient")
CERTIFICATE_SUBJECT = "/CN=k8sapi-vrrp.kloud.lan"
OPENSSL_TIMEOUT_S = 30
DEBIAN_MODULES = "/etc/nginx/modules-enabled"


def seed_file(relative: str) -> str:
    return resources.files("hapair.lab").joinpath("seed", relative).read_text()


def config_text(config_dir: str | None, relative: str) -> str:
    """A file of the configuration directory, or the seed's when there is none."""
    if config_dir is None:
        return seed_file(relative)
    path = Path(config_dir) / relative
    try:
        return path.read_text()
    except OSError as error:
        raise LabError(f"--config-dir: cannot read {path}: {error.strerror}") from None


def export_seed(target: Path) -> list[Path]:
    """Write the seed's files under `target` (for editing, then `up --config-dir`); refuses to overwrite."""
    paths = [target / relative for relative in SEED_FILES]
    taken = [str(p) for p in paths if p.exists()]
    if taken:
        raise LabError(f"will not overwrite {', '.join(taken)}")
    for relative, path in zip(SEED_FILES, paths, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(seed_file(relative))
    return paths


def nginx_files(config_dir: str | None, layer: int, logs: Path) -> dict[str, str]:
    """The node's nginx include files for `layer` (file name -> text), logs pointed at `logs`."""
    directory = NGINX_DIRECTORY[layer]
    if config_dir is None:
        texts = {"k8sapi.conf": seed_file(f"nginx/{directory}/k8sapi.conf")}
    else:
        found = sorted((Path(config_dir) / "nginx" / directory).glob("*.conf"))
        if not found:
            raise LabError(f"--config-dir: no nginx/{directory}/*.conf in {config_dir}")
        texts = {path.name: path.read_text() for path in found}
    return {name: text.replace("/var/log/nginx/", f"{logs}/") for name, text in texts.items()}


PID_FILE = "nginx.pid"  # in the node's state directory


def nginx_main(*, include_dir: Path, layer: int, node_dir: Path, real_nginx: bool) -> str:
    """The node's nginx.conf: its pid file and error log in its state directory, the includes where the
    seed's Debian nginx.conf has them (conf.d inside `http {}`, tcpconf.d at the top); for the real nginx,
    Debian's dynamic modules too (the stream module is one)."""
    include = f"include {include_dir}/*.conf;"
    body = f"http {{\n    {include}\n}}" if layer == 7 else include
    modules = f"include {DEBIAN_MODULES}/*.conf;\n" if real_nginx and Path(DEBIAN_MODULES).is_dir() else ""
    return modules + f"pid {node_dir / PID_FILE};\nerror_log {node_dir}/log/error.log;\nevents {{}}\n{body}\n"


def make_certificates(directory: Path) -> dict[str, tuple[Path, Path]]:
    """Self-signed pairs for the seed's 8443 server: name -> (certificate, key), made with openssl."""
    if shutil.which("openssl") is None:
        raise LabError(
            "needs openssl, to make the certificates of the seed's 8443 server (apt-get install openssl)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    pairs = {}
    for name in CERTIFICATE_NAMES:
        cert, key = directory / f"{name}.crt", directory / f"{name}.key"
        command = [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
            "-subj",
            CERTIFICATE_SUBJECT,
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=OPENSSL_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise LabError(f"openssl could not make a certificate: {result.stderr.strip().splitlines()[-1:]}")
        pairs[name] = (cert, key)
    return pairs

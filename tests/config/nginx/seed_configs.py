"""The seed's two nginx files, verbatim (../shared/seed, "Nginx Configuration"; read from the lab's copies,
src/hapair/lab/seed/nginx, whose only change is the backend's address): conf.d/k8sapi.conf, which Debian's
nginx.conf includes inside `http {}` (L7 on 8080 and 8443), and tcpconf.d/k8sapi.conf, a `stream {}` block
(L4 on 8080); and their adaptation to a test directory."""

from __future__ import annotations

from pathlib import Path

from hapair.lab.configs import seed_file

SEED_BACKEND = "192.168.13.104"
LAB_BACKEND = "10.101.1.104"  # the lab's copies have the backend on the lab's subnet
SEED_HTTP = seed_file("nginx/conf.d/k8sapi.conf").replace(LAB_BACKEND, SEED_BACKEND)
SEED_STREAM = seed_file("nginx/tcpconf.d/k8sapi.conf").replace(LAB_BACKEND, SEED_BACKEND)


def adapted(text: str, logs: Path, server: tuple[Path, Path], client: tuple[Path, Path], backend: str) -> str:
    """The seed file with its log directory, certificates and backend address replaced."""
    replacements = {
        "/var/log/nginx/": f"{logs}/",
        "/etc/ssl/certs/k8sapiserver.crt": str(server[0]),
        "/etc/ssl/private/k8sapiserver.key": str(server[1]),
        "/etc/ssl/certs/k8sapiclient.crt": str(client[0]),
        "/etc/ssl/private/k8sapiclient.key": str(client[1]),
        SEED_BACKEND: backend,
    }
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text

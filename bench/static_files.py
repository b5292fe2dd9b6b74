"""Static files: hapair and nginx serving the same file on loopback, with sendfile on and off, and what a
worker holds in memory while many slow clients download a big file.

    sudo .venv/bin/python bench/static_files.py [--size-mb 256] [--downloads 5] [--slow-clients 40]
                                                [--only nginx,hapair]

Each server runs one worker (`worker_processes 1`, `daemon off`, workers as nobody) in a directory of its
own under /tmp, on one configuration: `root` a directory with the file, `access_log off`, a location with
`sendfile on` and one with `sendfile off` (both with `tcp_nopush on`). Tests:
- MB/s: curl downloads the file --downloads times, one after the other, from each location; the median
  of curl's `speed_download` (MB = 10^6 bytes), and the worker's CPU time per GB sent (utime + stime of
  /proc/PID/stat over the downloads);
- slow clients: --slow-clients curls at once, each limited to 1 MB/s, on the sendfile location, then on the
  sendfile-off one; after 5 s, the worker's resident memory (VmRSS) against its resident memory idle.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from bench.harness import run  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAPAIR = str(Path(sys.executable).with_name("hapair"))
PORTS = {"nginx": 18081, "hapair": 18082}
TICKS = os.sysconf("SC_CLK_TCK")


def _config(port: int, root: Path) -> str:
    return f"""worker_processes 1;
error_log error.log;
events {{}}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /on/ {{ alias {root}/; sendfile on; tcp_nopush on; }}
        location /off/ {{ alias {root}/; sendfile off; tcp_nopush on; }}
    }}
}}
"""


class Server:
    def __init__(self, name: str, directory: Path, root: Path) -> None:
        self.name = name
        self.port = PORTS[name]
        directory.mkdir()
        (directory / "nginx.conf").write_text(_config(self.port, root))
        program = [NGINX] if name == "nginx" else [HAPAIR, "proxy"]
        args = [*program, "-p", f"{directory}/", "-c", str(directory / "nginx.conf")]
        args += ["-g", f"daemon off; pid {directory}/pid;"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not self.worker():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.1)
        while subprocess.run(self._curl("/on/file", "-r", "0-0"), check=False).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} does not answer")
            time.sleep(0.1)

    def worker(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            pids = children.read_text().split()
        except OSError:
            return 0
        return int(pids[0]) if pids else 0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.worker()}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def resident_mb(self) -> float:
        for line in Path(f"/proc/{self.worker()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _curl(self, path: str, *options: str) -> list[str]:
        return ["curl", "-s", "-o", "/dev/null", *options, f"http://127.0.0.1:{self.port}{path}"]

    def download_speed(self, path: str) -> float:
        out = subprocess.run(
            self._curl(path, "-w", "%{speed_download}"), check=True, capture_output=True, text=True
        )
        return float(out.stdout) / 1e6

    def slow_clients(self, path: str, count: int) -> float:
        clients = [subprocess.Popen(self._curl(path, "--limit-rate", "1M")) for _ in range(count)]
        try:
            time.sleep(5)
            return self.resident_mb()
        finally:
            for client in clients:
                client.send_signal(signal.SIGTERM)
                client.wait()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT if self.name == "nginx" else signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def bench(options: argparse.Namespace, report: Callable[[str], None]) -> list[str]:
    base = Path(tempfile.mkdtemp(prefix="static-bench-"))
    base.chmod(0o755)
    root = base / "www"
    root.mkdir()
    root.chmod(0o755)
    size = options.size_mb * 1024 * 1024
    with open(root / "file", "wb") as file:
        for _ in range(options.size_mb):
            file.write(os.urandom(1024 * 1024))
    (root / "file").chmod(0o644)
    lines = [
        f"{options.size_mb} MiB file on loopback, one worker; MB/s = 10^6 bytes/s (median of "
        f"{options.downloads}), CPU = worker's s per GB sent",
        f"{'server':8} {'sendfile':9} {'MB/s':>8} {'CPU s/GB':>9} {'RSS idle':>9} "
        f"{'RSS, ' + str(options.slow_clients) + ' slow clients':>24}",
    ]
    try:
        for name in options.only.split(","):
            server = Server(name, base / name, root)
            try:
                idle = server.resident_mb()
                for mode in ("on", "off"):
                    report(f"{name}, sendfile {mode}")
                    before = server.cpu_seconds()
                    speeds = [server.download_speed(f"/{mode}/file") for _ in range(options.downloads)]
                    cpu = (server.cpu_seconds() - before) / (size * options.downloads / 1e9)
                    busy = server.slow_clients(f"/{mode}/file", options.slow_clients)
                    lines.append(
                        f"{name:8} {mode:9} {statistics.median(speeds):8.0f} {cpu:9.2f} "
                        f"{idle:8.1f}M {busy:23.1f}M"
                    )
            finally:
                server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return lines


def missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (the workers run as nobody, as nginx's)"
    if not Path(NGINX).exists() or shutil.which("curl") is None:
        return "needs nginx and curl"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--downloads", type=int, default=5)
    parser.add_argument("--slow-clients", type=int, default=40)
    parser.add_argument("--only", default="nginx,hapair")
    return run("static_files", parser.parse_args(), bench, missing, (RuntimeError, OSError))


if __name__ == "__main__":
    sys.exit(main())

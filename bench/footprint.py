"""What hapair costs to start and to keep running, beside keepalived 2.2.7 and nginx 1.22 in one run
(issue 15's budget: `hapair vrrp` from exec to its first advert or to a `-t` verdict in 150 ms, its RSS
at most 20 MB on the seed's file; a proxy worker at most 25 MB idle).

    .venv/bin/python bench/footprint.py [--runs 5] [--logs DIR]

On a LAN of network namespaces (tests/topology.py), for each implementation:
- `-t` on the seed's node 1 keepalived.conf (and on the load balancer's seed configuration for the
  proxies): the wall time from exec to exit, the median of the runs;
- exec to the first advert on the wire: node 1's file with priority 255 (an address owner becomes master
  at once, so no protocol wait is counted), a host beside it sniffing VRRP (tests/system/vrrp_sniffer.py);
  the median of the runs;
- the resident memory of every process of the daemon once it has run 3 s: keepalived's parent
  and VRRP child, hapair's one process; for the proxies the master and each worker, idle, with the seed's
  L7 configuration as bench/proxy.py writes it (2 workers). RSS (VmRSS, what the budget counts) counts
  every page a process has in memory, also those it shares (a worker with its master, both with the
  libraries' other users); PSS (smaps_rollup's Pss) divides each shared page among its sharers; USS (its
  Private_Clean + Private_Dirty) is what the process alone holds, what stopping it would free.
hapair's bytecode is compiled first (into src/**/__pycache__), as a wheel's installation compiles it: with
PYTHONDONTWRITEBYTECODE set and no cache, every start would compile the sources again; and the code of its
dataclasses' methods, as a first start writes it (`python -m hapair.dataclass_code`).
Everything the bench starts is stopped by PID and the namespaces removed, also after Ctrl-C.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import harness  # noqa: E402  (bench/, the script's own directory)
from tests.seed import seed_config, seed_setup  # noqa: E402
from tests.topology import HAPAIR, Daemon, Host, Lan, missing_lab_requirements, wait_until  # noqa: E402

from proxy import write_configs  # noqa: E402

SNIFFER = REPO / "tests" / "system" / "vrrp_sniffer.py"
NODE_ADDRESS, SNIFFER_ADDRESS = "10.101.1.11", "10.101.1.100"
SETTLE_S = 3.0
ADVERT_TIMEOUT_S = 20.0
MB = 1024 * 1024


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def timed(host: Host, args: list[str]) -> float:
    started = time.monotonic()
    host.run(args, timeout=60)
    return time.monotonic() - started


def check_command(program: str, path: Path) -> list[str]:
    if program == "keepalived":
        return ["keepalived", "-t", "-f", str(path)]
    return [program, "vrrp", "-t", "-f", str(path)]


def daemon_command(program: str, path: Path, directory: Path) -> list[str]:
    if program == "keepalived":
        pids = [arg for flag in "prcb" for arg in (f"-{flag}", str(directory / f"k{flag}.pid"))]
        return ["keepalived", "-n", "-l", "-G", "-f", str(path), *pids]
    return [program, "vrrp", "-n", "-l", "-G", "-f", str(path), "-p", str(directory / "h.pid")]


def log_stem(implementation: str) -> str:
    """A row's label as a log file's name: `hapair, Python 3.11.2` -> `hapair-3.11.2`."""
    return implementation.replace(", Python ", "-")


def hapair_under(python: str, directory: Path) -> tuple[str, str]:
    """A `hapair` command run by another interpreter (Debian's /usr/bin/python3.11, what `./run` makes the
    virtual environment with on a fresh Debian 12, where this machine's PATH finds pyenv's first): a bare
    virtual environment whose site-packages reach the repository's sources and the project's
    environment's packages; its label and path."""
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    venv = directory / f"python-{version}"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    packages = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    reached = [str(REPO / "src"), *(p for p in sys.path if p.endswith("site-packages"))]
    (Path(packages) / "hapair-bench.pth").write_text("".join(f"{path}\n" for path in reached))
    command = venv / "bin" / "hapair"  # named so, as a console script is: its processes' name is hapair
    command.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom hapair.cli.main import main\nsys.exit(main())\n"
    )
    command.chmod(0o755)
    subprocess.run([python, "-m", "compileall", "-q", str(REPO / "src")], check=True)
    return f"hapair, Python {version}", str(command)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        found += descendants(int(child))
    return found


def resident(daemon: Daemon, names: tuple[str, ...]) -> list[harness.Memory]:
    """The memory of each process named in `names` below the daemon's process, in PID order."""
    sizes = []
    for pid in sorted(descendants(daemon.process.pid)):
        found = harness.memory_of(pid)
        if found is not None and found[0] in names:
            sizes.append(found[1])
    return sizes


def megabytes(sizes: list[harness.Memory]) -> str:
    """RSS, then PSS / USS, of each process: `38.1 (20.0 / 18.2) + ...` MB."""
    return " + ".join(f"{m.rss / MB:.1f} ({m.pss / MB:.1f} / {m.uss / MB:.1f})" for m in sizes) + " MB"


@contextmanager
def sniffer(host: Host, directory: Path) -> Iterator[Callable[[], list[float]]]:
    """Adverts seen on `host`'s eth0: a function giving their times so far (monotonic seconds)."""
    log = directory / "adverts.txt"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["ip", "netns", "exec", host.namespace.name, sys.executable, str(SNIFFER), "eth0"],
            stdout=output,
            stderr=subprocess.DEVNULL,
        )
    try:
        yield lambda: [float(line.split()[0]) for line in log.read_text().splitlines() if line]
    finally:
        process.kill()
        process.wait()


def owner_config() -> str:
    """The seed's node 1 file, its priority raised to 255: master at once."""
    text = seed_config(1)
    lines = text.splitlines()
    return (
        "\n".join("    priority 255" if line.strip().startswith("priority ") else line for line in lines)
        + "\n"
    )


def vrrp_rows(
    lan: Lan, runs: int, report: Callable[[str], None], hapairs: list[tuple[str, str]]
) -> list[str]:
    node, watcher = lan.host("node1", NODE_ADDRESS), lan.host("watcher", SNIFFER_ADDRESS)
    directory = lan.directory
    seed, owner = directory / "seed.conf", directory / "owner.conf"
    seed.write_text(seed_config(1))
    owner.write_text(owner_config())
    rows = []
    with sniffer(watcher, directory) as adverts:
        for implementation, program in [("keepalived", "keepalived"), *hapairs]:
            checks = [timed(node, check_command(program, seed)) for _ in range(runs)]
            firsts = []
            for _ in range(runs):
                before = len(adverts())
                started = time.monotonic()
                daemon = node.start(
                    daemon_command(program, owner, directory),
                    log_name=f"{log_stem(implementation)}.log",
                    isolated=True,
                    setup=seed_setup(directory),
                )
                seen = wait_until(lambda skip=before: adverts()[skip:], ADVERT_TIMEOUT_S, "the first advert")
                firsts.append(seen[0] - started)  # type: ignore[index]
                daemon.stop()
            daemon = node.start(
                daemon_command(program, seed, directory),
                log_name=f"{log_stem(implementation)}-rss.log",
                isolated=True,
                setup=seed_setup(directory),
            )
            time.sleep(SETTLE_S)  # the steady state after start-up is what is measured, not an event
            sizes = resident(daemon, ("keepalived", "hapair"))
            daemon.stop()
            row = f"| {implementation} | {median_ms(checks)} | {median_ms(firsts)} | {megabytes(sizes)} |"
            report(row)
            rows.append(row)
    return rows


def proxy_rows(
    lan: Lan, runs: int, report: Callable[[str], None], hapairs: list[tuple[str, str]]
) -> list[str]:
    node = lan.host("lb", "10.101.1.12")
    directory = lan.directory / "proxy"
    directory.mkdir()
    config = write_configs(directory)["l7"].nginx
    rows = []
    for implementation, command in [
        ("nginx", ["nginx"]),
        *((label, [path, "proxy"]) for label, path in hapairs),
    ]:
        prefix = ["-p", f"{directory}/", "-c", str(config)]
        checks = [timed(node, [*command, *prefix, "-t", "-q"]) for _ in range(runs)]
        daemon = node.start(
            [*command, *prefix, "-g", "daemon off;"],
            log_name=f"{log_stem(implementation)}-proxy.log",
        )
        time.sleep(SETTLE_S)  # idle workers, as measured
        names = ("nginx",) if implementation == "nginx" else ("hapair",)
        master, *workers = resident(daemon, names)
        daemon.stop()
        row = f"| {implementation} | {median_ms(checks)} | {megabytes([master])} | {megabytes(workers)} |"
        report(row)
        rows.append(row)
    return rows


def bench(options: argparse.Namespace, report: Callable[[str], None]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="hapair-footprint-") as temporary:
        directory = Path(options.logs or temporary)
        directory.mkdir(parents=True, exist_ok=True)
        with harness.laboratory(directory) as lan:
            hapairs = [("hapair", HAPAIR), *(hapair_under(python, directory) for python in options.python)]
            vrrp = vrrp_rows(lan, options.runs, report, hapairs)
            proxies = proxy_rows(lan, options.runs, report, hapairs)
    return [
        "| VRRP | -t on the seed's file | exec to first advert | RSS (PSS / USS) of each process |",
        "|---|---|---|---|",
        *vrrp,
        "",
        "| proxy | -t on the seed's L7 file | master RSS (PSS / USS) | idle workers' RSS (PSS / USS) |",
        "|---|---|---|---|",
        *proxies,
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--logs", type=Path, default=None, help="keep the configurations and logs here")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="PATH",
        help="also run hapair with this interpreter (e.g. Debian's /usr/bin/python3.11); may be repeated",
    )
    options = parser.parse_args(argv)
    compileall.compile_dir(REPO / "src", quiet=1)
    subprocess.run(
        [sys.executable, "-m", "hapair.dataclass_code"],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return harness.run("footprint", options, bench, missing_lab_requirements, (AssertionError, OSError))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What the benchmarks share: their LAN, closed however a run ends, and a main() that refuses to start
without what the bench needs, turns SIGINT and SIGTERM into the bench's own clean-up, and prints the table
on stdout and progress on stderr; and the resident memory of a process."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.topology import Lan

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # /proc/PID/stat's unit of CPU time


@contextlib.contextmanager
def laboratory(directory: Path) -> Iterator[Lan]:
    """The LAN, closed however the block ends; a second Ctrl-C does not cut the clean-up short."""
    lan = Lan(directory)
    try:
        yield lan
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        lan.close()


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(
    name: str,
    options: argparse.Namespace,
    bench: Callable[[argparse.Namespace, Callable[[str], None]], list[str]],
    missing: Callable[[], str | None],
    failures: tuple[type[Exception], ...],
) -> int:
    """Run `bench(options, report)` and print the lines it returns; the exit status."""
    reason = missing()
    if reason:
        print(f"{name}: {reason}", file=sys.stderr)
        return 1

    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    for signum in (signal.SIGINT, signal.SIGTERM):  # both end the bench through its clean-up
        signal.signal(signum, interrupt)
    try:
        lines = bench(options, report)
    except KeyboardInterrupt:
        print(f"{name}: interrupted; everything it started is gone", file=sys.stderr)
        return 130
    except failures as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


@dataclass(frozen=True)
class Memory:
    """A process's resident memory in bytes: RSS (VmRSS), PSS (smaps_rollup's Pss) and USS (its private
    pages, clean and dirty)."""

    rss: int
    pss: int
    uss: int


def _kilobytes(text: str) -> dict[str, int]:
    """The `Name: N kB` lines of a /proc file, in bytes."""
    fields = (line.split(":", 1) for line in text.splitlines() if line.endswith(" kB"))
    return {name: int(value.split()[0]) * 1024 for name, value in fields}


def cpu_time_s(pid: int) -> float | None:
    """The process's user and system CPU time so far, in seconds; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_of(pid: int) -> tuple[str, Memory] | None:
    """The process's name and resident memory; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rollup = _kilobytes(Path(f"/proc/{pid}/smaps_rollup").read_text())
    except OSError:
        return None
    name = next(line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Name:"))
    rss = _kilobytes(status).get("VmRSS")
    if rss is None:
        return None
    return name, Memory(rss, rollup["Pss"], rollup["Private_Clean"] + rollup["Private_Dirty"])

"""What the benchmarks share: their LAN, closed however a run ends, and a main() that refuses to start
without what the bench needs, turns SIGINT and SIGTERM into the bench's own clean-up, and prints the table
on stdout and progress on stderr."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.topology import Lan


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

"""A real-time CPU hog for bench/chaos.py:

    rt_hog.py CPU PRIORITY SECONDS

It pins itself to CPU, takes SCHED_RR at PRIORITY and spins for SECONDS, never blocking: every process of
lower priority on that CPU, the SCHED_OTHER ones included, runs only in what the kernel's real-time
throttling leaves (sched_rt_runtime_us, 50 ms a second by default), and one of the same priority in turn
with it (100 ms time slices). It ends by itself after SECONDS."""

from __future__ import annotations

import os
import sys
import time


def hog(cpu: int, priority: int, seconds: float) -> None:
    os.sched_setaffinity(0, {cpu})
    os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(priority))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


if __name__ == "__main__":
    hog(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))

"""The VRRP process's scheduling settings, applied at start as keepalived's set_process_priorities and
set_process_cpu_affinity apply them (`vrrp_priority`, `vrrp_no_swap`, `vrrp_cpu_affinity`), and its
watch for timers running late (`min_auto_priority_delay`). Failures are logged in keepalived's words and
the daemon goes on.

Real-time scheduling (`vrrp_rt_priority`, and `max_auto_priority` raising it when timers run late) is
not applied, and the daemon says so at start: keepalived pairs it with RLIMIT_RTTIME (`vrrp_rlimit_rttime`,
10 ms by default), past which the kernel kills a real-time process that has not blocked, and a reload's
reading of even the seed's small configuration takes 3.5 to 16 ms of Python."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

from ..config.keepalived.model.global_defs import GlobalDefs

MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
SECOND_US = 1_000_000


class ProcessScheduler:
    """Applies the VRRP process's settings and reports timers that ran late."""

    def __init__(self, defs: GlobalDefs, log: Callable[[str], None]) -> None:
        self.defs = defs
        self.log = log

    def apply(self) -> None:
        settings = self.defs.vrrp_process
        if settings.realtime_priority or self.defs.max_auto_priority > 0:
            self.log("Real-time scheduling (vrrp_rt_priority, max_auto_priority) is not applied by hapair")
        if settings.priority:
            self._set_nice(settings.priority)
        if settings.no_swap:
            self._lock_memory()
        if settings.cpu_affinity:
            self._set_affinity(settings.cpu_affinity)

    def timer_late(self, late_us: int) -> None:
        """A timer fired `late_us` after its time: beyond `min_auto_priority_delay`, keepalived says so."""
        if late_us > self.defs.min_auto_priority_delay_us:
            self.log(f"A thread timer expired {late_us // SECOND_US}.{late_us % SECOND_US:06d} seconds ago")

    def _set_nice(self, priority: int) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, priority)
        except OSError as error:
            self.log(f"Unable to set process priority to {priority} - {error.strerror}")

    def _lock_memory(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0:
            self.log(f"Unable to lock process in memory - {os.strerror(ctypes.get_errno())}")

    def _set_affinity(self, cpus: list[int]) -> None:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError as error:
            self.log(f"unable to set cpu affinity to vrrp process ({error.strerror})")

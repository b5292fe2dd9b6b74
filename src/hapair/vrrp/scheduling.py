"""The VRRP process's scheduling, as keepalived's lib/process.c sets it (set_process_priorities,
reset_process_priorities, increment_process_priority) and vrrp_daemon.c applies it: `vrrp_rt_priority`
(SCHED_RR at that priority, not inherited by scripts, under RLIMIT_RTTIME `vrrp_rlimit_rttime`: the soft
limit half of it for a SIGXCPU warning, the hard one where the kernel kills the process), otherwise
`vrrp_priority` (nice); `vrrp_no_swap`, `vrrp_cpu_affinity`; `max_auto_priority`, which turns SCHED_RR on
(priority 1, then one more each time) whenever a timer runs more than `min_auto_priority_delay` late.
Failures are logged in keepalived's words and the daemon goes on. One process-wide instance lives as long
as the daemon.

RLIMIT_RTTIME counts the CPU time a real-time process uses without blocking, in scheduler ticks (4 ms at
Debian's 250 Hz), and Python needs more of it than keepalived's C at two points, which hapair answers
differently (docs/keepalived-differences.md):
- A reload's reading: 3.5 to 16 ms of CPU for the seed's small configuration, 50 ms for 2,000 lines. As
  keepalived's reload does ("Use standard scheduling while reloading"), the daemon leaves real-time
  scheduling (`reset`) before it reads the configuration again and applies the new one's afterwards.
- Code that runs for the first time or after a pause: on the development machine, a backup's first
  rehearsal of its take-over after start (a few hundred microseconds of work when warm) took 5 to 31 ms,
  and the kernel killed 3 of 8 daemons started on a 2,000-line configuration at keepalived's default
  10 ms (0 of 8 at 20 ms, one SIGXCPU warning in 8 at 40 ms). So the hard limit hapair sets is never
  below MIN_RLIMIT_RTTIME_US, three times the longest burst measured; a runaway loop is still stopped,
  after 100 ms rather than 10. (At 250 Hz and keepalived's 10 ms, the kernel kills before it warns: it
  looks at the limits only once the soft one's ticks have passed, by when the hard one has too.)"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
from collections.abc import Callable

from ..config.keepalived.model.global_defs import GlobalDefs

MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
SECOND_US = 1_000_000
SCHED_RR_MIN = os.sched_get_priority_min(os.SCHED_RR)
MIN_RLIMIT_RTTIME_US = 100_000


class ProcessScheduler:
    """Applies the VRRP process's settings, leaves them for a reload, and raises the real-time priority
    when timers run late."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.realtime_priority = 0  # keepalived's cur_rt_priority: 0 while not real-time
        self.max_realtime_priority = 0
        self.min_late_us = 0  # min_auto_priority_delay
        self.rlimit_rttime_us = 0  # keepalived's cur_rlimit_rttime: the hard limit set, 0 until one is
        self.default_rlimit_rttime_us = 0  # the limit to set with real-time scheduling turned on later
        self._original_nice: int | None = None
        self._nice: int | None = None
        self._locked = False

    # ----- keepalived's set_process_priorities and set_process_cpu_affinity

    def apply(self, defs: GlobalDefs) -> None:
        """At start and after a reload's reading: the configuration's settings."""
        settings = defs.vrrp_process
        if defs.max_auto_priority != -1:  # -1 only silences keepalived's start-up notice
            self.max_realtime_priority = defs.max_auto_priority
        if settings.realtime_priority:
            if self._go_realtime(settings.realtime_priority, settings.rlimit_rttime_us):
                self.realtime_priority = settings.realtime_priority
        else:
            if settings.priority:
                self._set_nice(settings.priority)
            self.default_rlimit_rttime_us = settings.rlimit_rttime_us
        self.min_late_us = defs.min_auto_priority_delay_us
        if settings.no_swap:
            self._lock_memory()
        if settings.cpu_affinity:
            self._set_affinity(settings.cpu_affinity)

    def reset(self) -> None:
        """Before a reload's reading (keepalived's reset_process_priorities): standard scheduling, the
        original nice value, memory no longer locked. RLIMIT_RTTIME stays as it is, counted as unset so
        that real-time scheduling sets it again: it binds only a real-time process, and putting the
        original (unlimited) value back needs CAP_SYS_RESOURCE, which a root process may lack (keepalived
        2.2.7 puts back a saved value it never fills: 0)."""
        if self.realtime_priority:
            try:
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            except OSError:
                self.log("child process: cannot reset realtime scheduling")
            else:
                self.realtime_priority = 0
                self.rlimit_rttime_us = 0
        if self._nice is not None and self._original_nice is not None and self._nice != self._original_nice:
            self._reset_nice(self._original_nice)
        if self._locked:
            import ctypes  # noqa: PLC0415  (as in _lock_memory)

            ctypes.CDLL(None, use_errno=True).munlockall()
            self._locked = False

    @property
    def script_nice(self) -> int | None:
        """The nice value a script started now gets back, keepalived's reset_process_priorities in its
        child: the original one while `vrrp_priority` has the process at another; None otherwise."""
        if self._nice is not None and self._original_nice is not None and self._nice != self._original_nice:
            return self._original_nice
        return None

    def timer_late(self, late_us: int) -> None:
        """A timer fired `late_us` after its time: beyond `min_auto_priority_delay`, keepalived says so and
        raises the process's real-time priority (increment_process_priority)."""
        if not self.min_late_us or late_us <= self.min_late_us:
            return
        self.log(f"A thread timer expired {late_us // SECOND_US}.{late_us % SECOND_US:06d} seconds ago")
        if not self.max_realtime_priority:
            return
        if self.realtime_priority:
            if self.realtime_priority >= self.max_realtime_priority:
                return
            priority = self.realtime_priority + 1
        else:
            priority = SCHED_RR_MIN
        self.realtime_priority = priority  # even if refused, as keepalived counts it
        self._go_realtime(priority, 0 if self.rlimit_rttime_us else self.default_rlimit_rttime_us)
        self.log(f"Set realtime priority {priority}")

    # ----- the system calls

    def _go_realtime(self, priority: int, rlimit_rttime_us: int) -> bool:
        """SCHED_RR at `priority` (scripts and notify commands run with standard scheduling), then the
        RLIMIT_RTTIME limits for `rlimit_rttime_us`, unless it is 0. Whether the process is real-time now."""
        try:
            os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
        except OSError:
            self.log("child process: cannot raise priority")
            return False
        if rlimit_rttime_us:
            self._limit_realtime(rlimit_rttime_us)
        return True

    def _limit_realtime(self, rlimit_rttime_us: int) -> None:
        """The soft limit (SIGXCPU) half the hard one (SIGKILL), as keepalived sets them; the hard one at
        least MIN_RLIMIT_RTTIME_US."""
        asyncio.get_running_loop().add_signal_handler(signal.SIGXCPU, self._too_much_cpu)
        hard = max(rlimit_rttime_us, MIN_RLIMIT_RTTIME_US)
        try:
            resource.setrlimit(resource.RLIMIT_RTTIME, (hard // 2, hard))
        except (OSError, ValueError):
            self.log("child process cannot set realtime rlimit")
        else:
            self.rlimit_rttime_us = hard

    def _too_much_cpu(self) -> None:
        self.log("VRRP process has used too much CPU time, vrrp_rlimit_rttime may need to be increased")

    def _set_nice(self, priority: int) -> None:
        if self._original_nice is None:
            self._original_nice = os.getpriority(os.PRIO_PROCESS, 0)
        try:
            os.setpriority(os.PRIO_PROCESS, 0, priority)
        except OSError as error:
            self.log(f"Unable to set process priority to {priority} - {error.strerror}")
            return
        self._nice = priority

    def _reset_nice(self, priority: int) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, priority)
        except OSError as error:
            self.log(f"Unable to reset process priority - {error.strerror}")
            return
        self._nice = priority

    def _lock_memory(self) -> None:
        import ctypes  # noqa: PLC0415  (for `vrrp_no_swap` only: 0.4 MB of the daemon's memory otherwise)

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0:
            self.log(f"Unable to lock process in memory - {os.strerror(ctypes.get_errno())}")
        else:
            self._locked = True

    def _set_affinity(self, cpus: list[int]) -> None:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError as error:
            self.log(f"unable to set cpu affinity to vrrp process ({error.strerror})")

"""The edge of `vrrp_track_process` for a running configuration: processes seen through the kernel's proc
connector where it works, or else through pidfds and a scan of /proc. What they find goes to the pure core
(track_process.py), and what changes to the runtime's callback. Imported only by configurations that
track processes (issue 15's start-up budget: net/processes.py is 3 ms of imports)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from ..config.keepalived.model.global_defs import GlobalDefs
from ..config.keepalived.model.vrrp import TrackProcess
from ..net.processes import (
    Acknowledged,
    Executed,
    Overrun,
    PidWatcher,
    ProcConnector,
    ProcessEvent,
    ProcessInfo,
    process_ids,
    read_process,
)
from .track_process import ProcessTable, QuorumChange, scan_events

SECOND_US = 1_000_000
SCAN_INTERVAL_S = 0.1  # how often the fallback looks for new processes in /proc
ACK_WAIT_S = 0.1  # keepalived's wait for the kernel's confirmation of the subscription
RESCAN_DELAY_S = 1.0  # after lost events, keepalived counts the processes again a second later


QuorumChanged = Callable[[list[QuorumChange]], None]


class ProcessWatch:
    """The tracked processes: counted at start from /proc, then followed through the kernel's process
    events, or, where the kernel sends none (another network namespace, a container), through a pidfd
    per counted process and a scan of /proc every SCAN_INTERVAL_S for new ones. The log says which."""

    def __init__(
        self,
        configs: Sequence[TrackProcess],
        defs: GlobalDefs,
        max_name_len: int,
        *,
        log: Callable[[str], None],
        detail: bool,
        changed: QuorumChanged,
    ) -> None:
        self.table = ProcessTable(configs)
        self._defs = defs
        self._cmdline_size = max_name_len + 2 if self.table.use_cmdline else 0
        self._log = log
        self._detail = detail
        self._changed = changed
        self._loop = asyncio.get_running_loop()
        self._connector: ProcConnector | None = None
        self._pidfds: PidWatcher | None = None
        self._seen: set[int] = set()
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._acknowledged = False

    def now(self) -> int:
        return int(self._loop.time() * SECOND_US)

    def start(self) -> None:
        """Subscribe to the kernel's process events (or set up the fallback), then count the processes
        running now. The quorums are then the starting ones."""
        try:
            self._connector = ProcConnector.open(
                self._defs.process_monitor_rcv_bufs, force=self._defs.process_monitor_rcv_bufs_force
            )
        except OSError as error:
            self._log(
                f"Process events not available (errno {error.errno} - {error.strerror}): tracking processes "
                f"with pidfds and a scan of /proc every {SCAN_INTERVAL_S * 1000:.0f} ms"
            )
            self._pidfds = PidWatcher(self._loop, self._exited)
        else:
            self._log("Tracking processes with the kernel's process events (proc connector)")
            self._loop.add_reader(self._connector.fileno(), self._events)
            self._handles["ack"] = self._loop.call_later(ACK_WAIT_S, self._check_acknowledged)
        self.table.load(self._snapshot().values())
        if self._pidfds is not None:
            self._watch_counted()
            self._handles["scan"] = self._loop.call_later(SCAN_INTERVAL_S, self._scan)

    def _snapshot(self) -> dict[int, ProcessInfo]:
        processes: dict[int, ProcessInfo] = {}
        for pid in process_ids():
            info = read_process(pid, cmdline_size=self._cmdline_size)
            if info is not None:
                processes[pid] = info
        self._seen = set(processes)
        return processes

    # ----- the proc connector

    def _events(self) -> None:
        assert self._connector is not None
        for event in self._connector.receive():
            self._handle(event)

    def _handle(self, event: ProcessEvent) -> None:
        if isinstance(event, Acknowledged):
            self._acknowledged = True
            if self._detail:
                self._log("proc_events has confirmed it is configured")
            return
        if isinstance(event, Overrun):
            self._schedule("rescan", RESCAN_DELAY_S, self._rescan)
            return
        info = None
        if isinstance(event, Executed):
            info = read_process(event.pid, cmdline_size=self._cmdline_size)
        self._report(self.table.handle(event, info, self.now()))

    def _check_acknowledged(self) -> None:
        if not self._acknowledged:
            self._log("WARNING - the kernel does not support proc events - track_process will not work")

    def _rescan(self) -> None:
        """Events were lost: count the processes again (keepalived's reinitialise_track_processes)."""
        before = {name: tracker.count for name, tracker in self.table.trackers.items()}
        self.table = _recounted(self.table, self._snapshot().values())
        for name, tracker in self.table.trackers.items():
            if self._detail and tracker.count != before[name]:
                changed = f"from {before[name]} to {tracker.count}"
                self._log(f"Process {name}, number of current processes changed {changed}")
        self._report([change for t in self.table.trackers.values() if (change := t.settle()) is not None])

    # ----- the fallback: pidfds and /proc scans

    def _exited(self, pid: int) -> None:
        self._seen.discard(pid)
        self._report(self.table.exited(pid, self.now()))

    def _scan(self) -> None:
        self._handles.pop("scan", None)
        pids = process_ids()
        looked_at = {pid for pid in pids if pid not in self._seen or pid in self.table.pids}
        processes = {
            pid: info
            for pid in looked_at
            if (info := read_process(pid, cmdline_size=self._cmdline_size)) is not None
        }
        events = scan_events(self.table, self._seen, processes)
        self._seen = set(pids)
        now = self.now()
        for event, info in events:
            self._report(self.table.handle(event, info, now))
        self._watch_counted()
        self._handles["scan"] = self._loop.call_later(SCAN_INTERVAL_S, self._scan)

    def _watch_counted(self) -> None:
        """A pidfd for each counted process (and none for the others); one already gone has exited."""
        assert self._pidfds is not None
        for pid in self._pidfds.watching - self.table.pids.keys():
            self._pidfds.unwatch(pid)
        for pid in list(self.table.pids):
            if not self._pidfds.watch(pid):
                self._exited(pid)

    # ----- what changed

    def _report(self, changes: list[QuorumChange]) -> None:
        if changes:
            self._changed(changes)
        self._arm()

    def _arm(self) -> None:
        deadline = self.table.deadline()
        handle = self._handles.pop("delay", None)
        if handle is not None:
            handle.cancel()
        if deadline is not None:
            self._handles["delay"] = self._loop.call_at(deadline / SECOND_US, self._expire)

    def _expire(self) -> None:
        self._handles.pop("delay", None)
        self._report(self.table.expire(self.now()))

    def _schedule(self, key: str, delay_s: float, callback: Callable[[], None]) -> None:
        old = self._handles.pop(key, None)
        if old is not None:
            old.cancel()
        self._handles[key] = self._loop.call_later(delay_s, callback)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        if self._connector is not None:
            self._loop.remove_reader(self._connector.fileno())
            self._connector.close()
            self._connector = None
        if self._pidfds is not None:
            self._pidfds.close()
            self._pidfds = None


def _recounted(table: ProcessTable, processes: Iterable[ProcessInfo]) -> ProcessTable:
    """A table with the same trackers and quorums, its counts made again from `processes`."""
    fresh = ProcessTable(tracker.config for tracker in table.trackers.values())
    quorums = table.quorums
    fresh.load(processes)
    for name, tracker in fresh.trackers.items():
        tracker.have_quorum = quorums[name]
    return fresh

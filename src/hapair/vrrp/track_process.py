"""`vrrp_track_process`, keepalived 2.2.7's way (core/track_process.c, vrrp_track.c): how many processes
of each tracked kind run, and whether that is a quorum. Pure: the events of processes come in (a fork, an
exec, a change of name, an exit), with the time; quorum changes and the next deadline go out.

- A process counts for a tracker when its name matches: its `comm` (the kernel's 15-character name), or,
  with `full_command` (or parameters), the first word of its command line; the parameters then match
  exactly, as the first ones (`partial`) or with the last one a prefix (`initial`).
- A tracker has its quorum while quorum <= count <= quorum_max. A fork of a counted process counts the
  child at once (keepalived does not look at a child's name: it is its parent's image until it execs);
  a change of quorum due to a fork waits `fork_delay`, one due to an exit `terminate_delay`, each
  cancelled if the count crosses back first (the status then is what the count says). An exec or a
  change of name counts or stops counting the process at once.
- An exec of a process already counted counts it once more, as keepalived does (each count is undone by
  its exit), so that counts and quorum changes stay keepalived's.

The fallback for places without the proc connector sees the processes by scanning /proc: `scan_events`
turns two scans into the events the connector would have sent, as far as they can be told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..config.keepalived.model.vrrp import ParamMatch, TrackProcess
from ..net.processes import Executed, Exited, Forked, ProcessEvent, ProcessInfo, Renamed


@dataclass(frozen=True)
class QuorumChange:
    name: str
    up: bool

    @property
    def log(self) -> str:
        return f"Quorum {'gained' if self.up else 'lost'} for tracked process {self.name}"


def params_match(config: TrackProcess, params: bytes) -> bool:
    """keepalived's check_params: `params` is the command line after the program's name."""
    wanted = b"".join(param.encode() + b"\0" for param in config.params)
    if config.param_match == ParamMatch.EXACT:
        return params == wanted
    if len(params) < len(wanted):
        return False
    if not wanted:
        return True
    if config.param_match == ParamMatch.PARTIAL:
        return params.startswith(wanted)
    return len(wanted) == 1 or params.startswith(wanted[:-1])


def name_matches(config: TrackProcess, info: ProcessInfo) -> bool:
    """Whether `info` is a process `config` counts (by comm, or by its command line)."""
    if config.full_command:
        name, _nul, params = info.cmdline.partition(b"\0")
        if name != (config.path or "").encode():
            return False
        return config.param_match == ParamMatch.NONE or params_match(config, params)
    return info.comm == config.path


class Tracker:
    """One `vrrp_track_process`: its count, its quorum, and its pending delay (deadline in µs)."""

    def __init__(self, config: TrackProcess) -> None:
        self.config = config
        self.name = config.name
        self.count = 0
        self.have_quorum = False
        self.fork_deadline: int | None = None
        self.terminate_deadline: int | None = None

    def in_quorum(self) -> bool:
        return self.config.quorum <= self.count <= self.config.quorum_max

    def crossed(self, before: int) -> bool:
        """Whether going from `before` to the current count moved it into or out of the quorum range."""
        quorum, quorum_max = self.config.quorum, self.config.quorum_max
        return (quorum <= before <= quorum_max) != self.in_quorum()

    def settle(self) -> QuorumChange | None:
        """keepalived's update_process_status: the quorum is what the count says now."""
        up = self.in_quorum()
        if up == self.have_quorum:
            return None
        self.have_quorum = up
        return QuorumChange(self.name, up)


class ProcessTable:
    """The tracked processes by PID (each with the trackers counting it, a tracker as often as counted)
    and the trackers, in configuration order."""

    def __init__(self, configs: Iterable[TrackProcess]) -> None:
        self.trackers = {config.name: Tracker(config) for config in configs}
        self.pids: dict[int, list[str]] = {}
        self.use_cmdline = any(tracker.config.full_command for tracker in self.trackers.values())
        self.use_comm = any(not tracker.config.full_command for tracker in self.trackers.values())

    @property
    def quorums(self) -> Mapping[str, bool]:
        return {name: tracker.have_quorum for name, tracker in self.trackers.items()}

    # ----- start

    def load(self, processes: Iterable[ProcessInfo]) -> None:
        """The processes running at start (keepalived's read_procs, zombies left out); each tracker's
        quorum is then what its count says, with no change reported (the instances start with it)."""
        for info in processes:
            if info.zombie and self.use_comm:
                continue
            for tracker in self.trackers.values():
                if name_matches(tracker.config, info):
                    self._add(info.pid, tracker)
        for tracker in self.trackers.values():
            tracker.have_quorum = tracker.in_quorum()

    # ----- events

    def handle(self, event: ProcessEvent, info: ProcessInfo | None, now: int) -> list[QuorumChange]:
        """One event. `info` is what /proc said of the process after an exec (None if it was gone: the
        exec is then ignored, as keepalived ignores it)."""
        match event:
            case Forked(parent, child):
                return self.forked(parent, child, now)
            case Executed(pid) if info is not None:
                return self.executed(pid, info)
            case Renamed(pid, comm):
                return self.renamed(pid, comm)
            case Exited(pid):
                return self.exited(pid, now)
        return []

    def forked(self, parent: int, child: int, now: int) -> list[QuorumChange]:
        names = self.pids.get(parent)
        if names is None:
            return []
        changes: list[QuorumChange] = []
        for name in list(names):
            tracker = self.trackers[name]
            before = tracker.count
            self._add(child, tracker)
            if not tracker.crossed(before):
                continue
            if tracker.terminate_deadline is not None:
                tracker.terminate_deadline = None
            elif tracker.config.fork_delay_us:
                tracker.fork_deadline = now + tracker.config.fork_delay_us
                continue
            changes += _some(tracker.settle())
        return changes

    def exited(self, pid: int, now: int) -> list[QuorumChange]:
        names = self.pids.pop(pid, None)
        if names is None:
            return []
        changes: list[QuorumChange] = []
        for name in names:
            tracker = self.trackers[name]
            before = tracker.count
            tracker.count -= 1
            if not tracker.crossed(before):
                continue
            if tracker.fork_deadline is not None:
                tracker.fork_deadline = None
            elif tracker.config.terminate_delay_us:
                tracker.terminate_deadline = now + tracker.config.terminate_delay_us
                continue
            changes += _some(tracker.settle())
        return changes

    def executed(self, pid: int, info: ProcessInfo) -> list[QuorumChange]:
        """keepalived's check_process after an exec: every tracker looks at the process again."""
        had_process = pid in self.pids
        changes: list[QuorumChange] = []
        for tracker in self.trackers.values():
            if name_matches(tracker.config, info):
                before = tracker.count
                self._add(pid, tracker)
                if tracker.crossed(before):
                    tracker.terminate_deadline = None
                    changes += _some(tracker.settle())
            elif had_process:
                changes += self._remove(pid, tracker)
        return changes

    def renamed(self, pid: int, comm: str) -> list[QuorumChange]:
        """keepalived's check_process_comm_change: the trackers counting the process by name let it go
        (unless the name is theirs still), then those matching the new name count it."""
        changes: list[QuorumChange] = []
        for name in list(self.pids.get(pid, ())):
            tracker = self.trackers[name]
            if tracker.config.full_command:
                continue
            if comm == tracker.config.path:
                return changes
            changes += self._remove(pid, tracker)
        renamed = ProcessInfo(pid, comm)
        for tracker in self.trackers.values():
            if tracker.config.full_command or not name_matches(tracker.config, renamed):
                continue
            before = tracker.count
            self._add(pid, tracker)
            if tracker.crossed(before):
                tracker.terminate_deadline = None
                changes += _some(tracker.settle())
        return changes

    # ----- time

    def deadline(self) -> int | None:
        deadlines = [
            at
            for tracker in self.trackers.values()
            for at in (tracker.fork_deadline, tracker.terminate_deadline)
            if at is not None
        ]
        return min(deadlines, default=None)

    def expire(self, now: int) -> list[QuorumChange]:
        """The delays that have run out by `now`: each tracker's quorum is then what its count says."""
        changes: list[QuorumChange] = []
        for tracker in self.trackers.values():
            due = [at for at in (tracker.fork_deadline, tracker.terminate_deadline) if at is not None]
            if due and min(due) <= now:
                tracker.fork_deadline = tracker.terminate_deadline = None
                changes += _some(tracker.settle())
        return changes

    # ----- counting

    def _add(self, pid: int, tracker: Tracker) -> None:
        self.pids.setdefault(pid, []).append(tracker.name)
        tracker.count += 1

    def _remove(self, pid: int, tracker: Tracker) -> list[QuorumChange]:
        """Stop counting `pid` once for `tracker` (keepalived's remove_process_from_track): a change of
        quorum is reported at once, a pending fork delay cancelled."""
        names = self.pids.get(pid)
        if names is None or tracker.name not in names:
            return []
        names.remove(tracker.name)
        if not names:
            del self.pids[pid]
        before = tracker.count
        tracker.count -= 1
        if not tracker.crossed(before):
            return []
        tracker.fork_deadline = None
        return _some(tracker.settle())


def _some(change: QuorumChange | None) -> list[QuorumChange]:
    return [] if change is None else [change]


def scan_events(
    table: ProcessTable, seen: set[int], processes: Mapping[int, ProcessInfo]
) -> list[tuple[ProcessEvent, ProcessInfo]]:
    """What the connector would have told between two scans of /proc, as far as a scan can tell: `seen`
    holds the PIDs of the scan before, `processes` the processes now (exits come from pidfds). A new
    process whose parent is counted and which still runs its parent's program is a fork; any other new
    process, or a counted one whose name changed, an exec."""
    events: list[tuple[ProcessEvent, ProcessInfo]] = []
    for pid, info in processes.items():
        if pid in seen:
            names = table.pids.get(pid)
            if names and not all(name_matches(table.trackers[name].config, info) for name in names):
                events.append((Executed(pid), info))
            continue
        parent = table.pids.get(info.ppid)
        if parent and all(name_matches(table.trackers[name].config, info) for name in parent):
            events.append((Forked(info.ppid, pid), info))
        elif any(name_matches(tracker.config, info) for tracker in table.trackers.values()):
            events.append((Executed(pid), info))
    return events

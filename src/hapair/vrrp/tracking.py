"""What trackers do to an instance: the rise/fall bookkeeping of `vrrp_script` results (keepalived's
vrrp_script_child_thread and vrrp_init_script) and, from the states of the scripts, interfaces, files and
processes an instance tracks, its fault reasons and total priority (vrrp_track.c). Pure: no I/O, no
clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from hapair.config.keepalived.model.vrrp import NOT_TRACK_IF, VrrpData, VrrpInstance, VrrpScript

from .actions import Action, Log
from .track_file import FileLink, LinkChange

if TYPE_CHECKING:
    from .router import VirtualRouter


@dataclass(frozen=True)
class ScriptOutcome:
    """How one run of a script ended: it exited with `exit_status`, or was killed by `signal`;
    `timed_out` when that signal was the one its timeout sent."""

    exit_status: int | None = None
    signal: int | None = None
    timed_out: bool = False

    @classmethod
    def exited(cls, status: int) -> ScriptOutcome:
        return cls(exit_status=status)

    @classmethod
    def killed(cls, signal: int, *, timed_out: bool = False) -> ScriptOutcome:
        return cls(signal=signal, timed_out=timed_out)


class InitState(Enum):
    """keepalived's script init_state."""

    INIT = "INIT"  # no result yet: one success is enough and the first failure counts
    FAILED = "INIT/FAILED"  # `init_fail`: failed until it succeeds `rise` times
    DONE = "DONE"  # it has reported at least once


@dataclass(frozen=True)
class ScriptReport:
    """What one run changed: `became_ok` is the script's new status when it flipped (None: no change),
    `log` the lines keepalived writes for the run."""

    became_ok: bool | None
    log: tuple[str, ...]


class ScriptState:
    """The result counter of one `vrrp_script`: `result` counts from 0 (failed) up to rise + fall - 1
    (fully good); the script is good from `rise` on."""

    def __init__(self, script: VrrpScript) -> None:
        self.name = script.name
        self.rise = script.rise
        self.fall = script.fall
        self.init_state = InitState.FAILED if script.init_fail else InitState.INIT
        self.result = 0 if script.init_fail else script.rise - 1
        self.last_status = 0  # keepalived's zeroed allocation: a first exit 0 is no change

    @property
    def ok(self) -> bool | None:
        """Whether the script counts as succeeding; None until it first reports (without init_fail)."""
        if self.init_state is InitState.INIT:
            return None
        return self.result >= self.rise

    def record(self, outcome: ScriptOutcome) -> ScriptReport:
        log: list[str] = []
        if outcome.exit_status is not None:
            status = outcome.exit_status
            if status != self.last_status:
                log.append(f"Script `{self.name}` now returning {status}")
            self.last_status = status
            success = status == 0
            verdict = "succeeded" if success else f"failed (exited with status {status})"
        elif outcome.timed_out:
            success, verdict = False, "timed_out"
        else:
            success, verdict = False, f"failed (due to signal {outcome.signal})"
        flipped = self.count_success() if success else self.count_failure()
        self.init_state = InitState.DONE
        if not flipped:
            return ScriptReport(None, tuple(log))
        log.append(f"VRRP_Script({self.name}) {verdict}")
        return ScriptReport(success, tuple(log))

    def carry_over(self, old: ScriptState) -> str | None:
        """Continue `old`, this script before a reload (keepalived's clear_diff_script): its status is kept,
        its result counter rescaled to this rise and fall; the line keepalived logs, if any."""
        if old.init_state is InitState.INIT:
            self.init_state = InitState.INIT
            self.result = self.rise - 1
            return None
        full = self.rise + self.fall - 1
        if old.result < old.rise:
            self.result = 0 if old.result == 0 else max(0, self.rise - (old.rise - old.result))
            verdict = "unsuccessful"
        else:
            at_full = old.result == old.rise + old.fall - 1
            self.result = full if at_full else min(full, self.rise + old.result - old.rise)
            verdict = "successful"
        self.last_status = old.last_status
        self.init_state = InitState.DONE
        return f"VRRP_Script({self.name}) considered {verdict} on reload"

    def count_success(self) -> bool:
        """Count a success; True when the script has just become good."""
        if self.result < self.rise - 1:
            self.result += 1
            return False
        full = self.rise + self.fall - 1
        if self.result == full:
            return False
        became_good = self.result < self.rise
        self.result = full
        return became_good

    def count_failure(self) -> bool:
        """Count a failure; True when the script has just become bad (or first failed at start-up)."""
        if self.result > self.rise:
            self.result -= 1
            return False
        became_bad = self.result == self.rise or self.init_state is InitState.INIT
        self.result = 0
        return became_bad


@dataclass(frozen=True)
class TrackerLink:
    """One tracked object as an instance sees it (keepalived's tracking_obj_t)."""

    name: str
    weight: int
    reverse: bool = False

    def contribution(self, ok: bool) -> int:
        """Priority added while the object is `ok` (up) or not: a positive weight counts while ok, a
        negative one while not; `reverse` turns the sign."""
        sign = -1 if self.reverse else 1
        if self.weight > 0:
            return self.weight * sign if ok else 0
        return 0 if ok else self.weight * sign

    def puts_down(self, ok: bool) -> bool:
        """An unweighted link takes the instance down while not ok (while ok if reversed)."""
        return self.weight == 0 and ok == self.reverse


class FaultKind(Enum):
    SCRIPT = "script"
    INTERFACE = "interface"
    FILE = "file"
    PROCESS = "process"
    NATIVE = "native"  # one of `hapair node`'s own trackers (hapair.node.tracking): no keepalived keyword


@dataclass(frozen=True)
class Fault:
    """Why an instance is in FAULT: an unweighted script or interface that is down, a tracked file whose
    status is FAULT (`status`: the value times the weight, as keepalived logs it at start), or a tracked
    process without its quorum."""

    kind: FaultKind
    name: str
    status: int = field(default=0, compare=False)

    @property
    def reason(self) -> str:
        """keepalived's words for it after `entering FAULT state` (also how a router names the fault)."""
        if self.kind is FaultKind.SCRIPT:
            return f"due to script {self.name}"
        if self.kind is FaultKind.FILE:
            return f"(tracked file {self.name})"
        if self.kind is FaultKind.PROCESS:
            return f"(tracked process {self.name} quorum not achieved)"
        if self.kind is FaultKind.NATIVE:
            return f"due to hapair tracker {self.name}"
        return f"(interface {self.name} down)"

    def startup_log(self, instance: str) -> str:
        """The line keepalived writes when it finds this fault while starting the instance."""
        if self.kind is FaultKind.FILE:
            return f"({instance}): entering FAULT state (tracked file {self.name} has status {self.status})"
        if self.kind is FaultKind.PROCESS:
            return f"({instance}) entering FAULT state {self.reason}"
        return f"({instance}): entering FAULT state {self.reason}"


@dataclass(frozen=True)
class TrackingResult:
    """`faults`: interfaces first, then scripts; `waiting`: unweighted scripts with no result yet, which
    keep the instance from leaving INIT."""

    total_priority: int
    faults: tuple[Fault, ...]
    waiting: tuple[str, ...]


class InstanceTracking:
    """The scripts, interfaces, files and processes one instance tracks, with the weights of its links to
    them (those of its sync group included, as the configuration completion linked them); `natives`:
    `hapair node`'s trackers of the proxy the instance fronts, which no keepalived.conf names."""

    def __init__(self, instance: VrrpInstance, data: VrrpData, natives: Sequence[TrackerLink] = ()) -> None:
        self.base_priority = instance.base_priority
        self.natives = tuple(natives)
        self.scripts = tuple(script_links(instance, data))
        self.interfaces = tuple(
            TrackerLink(interface, entry.weight, entry.reverse)
            for interface, entries in data.interface_tracking.items()
            for entry in entries
            if entry.instance == instance.name and entry.weight != NOT_TRACK_IF
        )
        self.files = {
            file.name: FileLink(obj.instance, obj.weight, obj.reverse)
            for file in data.track_files
            for obj in file.tracking
            if obj.instance == instance.name
        }
        self.processes = tuple(
            TrackerLink(process.name, obj.weight, obj.reverse)
            for process in data.track_processes
            for obj in process.tracking
            if obj.instance == instance.name
        )

    def evaluate(
        self,
        scripts_ok: Mapping[str, bool | None],
        interfaces_up: Mapping[str, bool],
        *,
        files: Mapping[str, int] | None = None,
        quorums: Mapping[str, bool] | None = None,
        natives_ok: Mapping[str, bool] | None = None,
    ) -> TrackingResult:
        """Total priority and faults for these script statuses (None or absent: no result yet), link
        states (absent: the interface does not exist, so it is down), track file values and process
        quorums (a file or process absent is not tracked: keepalived dropped it) and native tracker
        states (absent: up)."""
        total = self.base_priority
        faults: list[Fault] = []
        for link in self.interfaces:
            up = interfaces_up.get(link.name, False)
            total += link.contribution(up)
            if link.puts_down(up):
                faults.append(Fault(FaultKind.INTERFACE, link.name))
        for name, file_link in self.files.items():
            if files is None or name not in files:
                continue
            if file_link.faulty(files[name]):
                faults.append(Fault(FaultKind.FILE, name, file_link.product(files[name])))
            else:
                total += file_link.status(files[name])
        for link in self.processes:
            if quorums is None or link.name not in quorums:
                continue
            total += link.contribution(quorums[link.name])
            if link.puts_down(quorums[link.name]):
                faults.append(Fault(FaultKind.PROCESS, link.name))
        waiting: list[str] = []
        for link in self.scripts:
            ok = scripts_ok.get(link.name)
            if ok is None:
                if link.weight == 0:
                    waiting.append(link.name)
                continue
            total += link.contribution(ok)
            if link.puts_down(ok):
                faults.append(Fault(FaultKind.SCRIPT, link.name))
        for link in self.natives:
            ok = (natives_ok or {}).get(link.name, True)
            total += link.contribution(ok)
            if link.puts_down(ok):
                faults.append(Fault(FaultKind.NATIVE, link.name))
        return TrackingResult(total, tuple(faults), tuple(waiting))


def script_links(instance: VrrpInstance, data: VrrpData) -> list[TrackerLink]:
    """The instance's scripts in keepalived's order (its own `track_script`, then its sync group's), each
    once, with the weight its link got."""
    group = data.sync_group(instance.sync_group) if instance.sync_group else None
    tracked = [*instance.track.scripts, *(group.track.scripts if group else [])]
    links: dict[str, TrackerLink] = {}
    for entry in tracked:
        script = entry.script
        link = next((obj for obj in script.tracking if obj.instance == instance.name), None)
        if link is not None and script.name not in links:
            links[script.name] = TrackerLink(script.name, link.weight, link.reverse)
    return list(links.values())


def apply_file_change(router: VirtualRouter, name: str, change: LinkChange, now: int) -> list[Action]:
    """What a moved link does to its instance (keepalived's process_update_vrrp_track_file_status). Into
    FAULT, a weighted link's share leaves the total priority but the effective priority is left as it
    was; out of FAULT, the effective priority is set from the total without the usual `Changing
    effective priority` line."""
    reason = Fault(FaultKind.FILE, name).reason
    weighted = change.link.weight != 0
    if change.enters_fault:
        log = Log(f"({router.name}): tracked file {name} now FAULT state", detail=True)
        if weighted:
            router.total_priority -= change.before
        return [log, *router.tracker_down(now, reason)]
    if change.leaves_fault:
        if weighted:
            router.assume_total_priority(router.total_priority + change.after)
        logs = [Log(f"({router.name}): tracked file {name} leaving FAULT state", detail=True)]
        if weighted and change.after:
            priority = router.effective_priority
            logs.append(Log(f"({router.name}) Setting effective priority to {priority}", detail=True))
        return [*logs, *router.tracker_up(now, reason)]
    return router.set_total_priority(now, router.total_priority + change.after - change.before)

import pytest

from hapair.config.keepalived.model.vrrp import ParamMatch, TrackProcess
from hapair.net.processes import Executed, Exited, Forked, ProcessInfo, Renamed
from hapair.vrrp.track_process import ProcessTable, QuorumChange, name_matches, scan_events

MS = 1000


def table(**options: object) -> ProcessTable:
    return ProcessTable([TrackProcess("p", path="nginx", **options)])  # type: ignore[arg-type]


def nginx(pid: int, ppid: int = 1) -> ProcessInfo:
    return ProcessInfo(pid, "nginx", b"nginx\0-g\0daemon off;\0", ppid)


def test_the_start_count_sets_the_quorum_without_a_change() -> None:
    tracked = table(quorum=2)
    tracked.load([nginx(10), nginx(11), ProcessInfo(12, "sshd")])
    assert tracked.trackers["p"].count == 2
    assert tracked.quorums == {"p": True}


def test_zombies_are_not_counted_at_start() -> None:
    tracked = table()
    tracked.load([ProcessInfo(10, "nginx", zombie=True)])
    assert tracked.quorums == {"p": False}


def test_an_exec_gains_the_quorum_at_once_and_an_exit_loses_it() -> None:
    tracked = table()
    tracked.load([])
    assert tracked.handle(Executed(10), nginx(10), 0) == [QuorumChange("p", True)]
    assert tracked.handle(Exited(10), None, 0) == [QuorumChange("p", False)]
    assert QuorumChange("p", False).log == "Quorum lost for tracked process p"


def test_an_exec_of_another_program_is_not_counted_and_an_unknown_exit_is_ignored() -> None:
    tracked = table()
    tracked.load([])
    assert tracked.handle(Executed(10), ProcessInfo(10, "bash"), 0) == []
    assert tracked.handle(Exited(99), None, 0) == []


def test_a_fork_waits_fork_delay_and_an_exit_terminate_delay() -> None:
    tracked = table(fork_delay_us=500 * MS, terminate_delay_us=300 * MS)
    tracked.load([nginx(10)])
    assert tracked.handle(Exited(10), None, 0) == []
    assert tracked.deadline() == 300 * MS
    assert tracked.expire(299 * MS) == []
    assert tracked.expire(300 * MS) == [QuorumChange("p", False)]
    tracked.handle(Executed(11), nginx(11), 400 * MS)
    assert tracked.handle(Forked(11, 12), None, 500 * MS) == []  # 2: no crossing
    assert tracked.handle(Exited(11), None, 600 * MS) == []
    assert tracked.handle(Exited(12), None, 700 * MS) == []
    assert tracked.deadline() == 1000 * MS
    assert tracked.handle(Forked(1, 13), None, 800 * MS) == []  # parent not counted: ignored


def test_a_fork_back_into_the_quorum_cancels_the_terminate_delay() -> None:
    tracked = table(terminate_delay_us=300 * MS, fork_delay_us=100 * MS)
    tracked.load([nginx(10), nginx(11)])
    tracked.handle(Exited(11), None, 0)
    tracked.handle(Exited(10), None, 0)
    assert tracked.deadline() == 300 * MS
    assert tracked.handle(Forked(10, 12), None, 100 * MS) == []  # 10 is gone: not counted
    tracked.handle(Executed(13), nginx(13), 100 * MS)
    assert tracked.deadline() is None
    assert tracked.quorums == {"p": True}


def test_going_above_quorum_max_loses_the_quorum() -> None:
    tracked = table(quorum_max=2)
    tracked.load([nginx(10), nginx(11)])
    assert tracked.handle(Executed(12), nginx(12), 0) == [QuorumChange("p", False)]
    assert tracked.handle(Exited(12), None, 0) == [QuorumChange("p", True)]


def test_quorum_max_0_wants_the_process_absent() -> None:
    tracked = table(quorum=0, quorum_max=0)
    tracked.load([])
    assert tracked.quorums == {"p": True}
    assert tracked.handle(Executed(10), nginx(10), 0) == [QuorumChange("p", False)]


def test_an_exec_into_another_program_stops_the_count_at_once() -> None:
    tracked = table(terminate_delay_us=300 * MS)
    tracked.load([nginx(10)])
    assert tracked.handle(Executed(10), ProcessInfo(10, "sh"), 0) == [QuorumChange("p", False)]


def test_an_exec_of_a_counted_process_counts_it_again_as_keepalived_does() -> None:
    tracked = table(quorum=2)
    tracked.load([nginx(10)])
    assert tracked.handle(Executed(10), nginx(10), 0) == [QuorumChange("p", True)]
    assert tracked.handle(Exited(10), None, 0) == [QuorumChange("p", False)]
    assert tracked.trackers["p"].count == 0


def test_a_change_of_name_moves_the_process_between_trackers() -> None:
    tracked = ProcessTable([TrackProcess("a", path="old"), TrackProcess("b", path="new")])
    tracked.load([ProcessInfo(10, "old")])
    assert tracked.handle(Renamed(10, "new"), None, 0) == [QuorumChange("a", False), QuorumChange("b", True)]
    assert tracked.handle(Renamed(10, "new"), None, 0) == []


@pytest.mark.parametrize(
    ("params", "match", "cmdline", "matches"),
    [
        (["-g", "daemon off;"], ParamMatch.EXACT, b"nginx\0-g\0daemon off;\0", True),
        (["-g"], ParamMatch.EXACT, b"nginx\0-g\0daemon off;\0", False),
        (["-g"], ParamMatch.PARTIAL, b"nginx\0-g\0daemon off;\0", True),
        (["-g", "daemon"], ParamMatch.PARTIAL, b"nginx\0-g\0daemon off;\0", False),
        (["-g", "daemon"], ParamMatch.INITIAL, b"nginx\0-g\0daemon off;\0", True),
        ([], ParamMatch.EXACT, b"nginx\0", True),
        ([], ParamMatch.EXACT, b"nginx\0-t\0", False),
        ([], ParamMatch.NONE, b"nginx\0-t\0", True),
        ([], ParamMatch.NONE, b"/usr/sbin/nginx\0", False),
    ],
)
def test_full_command_and_parameters(
    params: list[str], match: ParamMatch, cmdline: bytes, matches: bool
) -> None:
    config = TrackProcess("p", path="nginx", params=params, param_match=match, full_command=True)
    assert name_matches(config, ProcessInfo(10, "whatever", cmdline)) is matches


def test_scans_tell_forks_execs_and_changes() -> None:
    tracked = table()
    tracked.load([nginx(10)])
    processes = {
        10: ProcessInfo(10, "bash"),  # counted, now another program
        11: nginx(11, ppid=10),  # a child of a counted process, still nginx
        12: nginx(12, ppid=1),  # started anew
        13: ProcessInfo(13, "sh", ppid=10),  # a child that became something else
        14: nginx(14),  # seen before
    }
    events = [event for event, _info in scan_events(tracked, {10, 14}, processes)]
    assert events == [Executed(10), Forked(10, 11), Executed(12)]

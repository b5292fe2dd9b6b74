import pytest

from hapair.config.keepalived.model.vrrp import TrackFile, TrackingObj, TrackProcess, VrrpData, VrrpInstance
from hapair.vrrp.track_file import FAULT_STATUS, FileLink, FileState, Reading, read_value
from hapair.vrrp.tracking import FaultKind, InstanceTracking


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"12\n", 12),
        (b"  -7 trailing", -7),
        (b"0x1f", 31),
        (b"010", 8),
        (b"0x", 0),
        (b"junk", 0),
        (b"", 0),
        (None, 0),
        (b"2147483648", 2**31),  # INT32_MAX + 1 is still taken
        (b"5\x009", 5),
    ],
)
def test_a_value_is_read_as_strtol_with_base_0_reads_it(data: bytes | None, value: int) -> None:
    assert read_value(data, "/f") == Reading(value)


@pytest.mark.parametrize("text", [b"2147483649", b"-2147483649", b"99999999999999999999999"])
def test_a_value_outside_32_bits_is_ignored_with_keepalived_s_line(text: bytes) -> None:
    reading = read_value(text, "/run/f")
    assert reading.value is None
    assert reading.invalid is not None and reading.invalid.endswith(" read from /run/f - ignoring")


def test_only_the_first_127_bytes_count() -> None:
    assert read_value(b" " * 126 + b"42", "/f") == Reading(4)


@pytest.mark.parametrize(
    ("weight", "reverse", "value", "status"),
    [
        (-10, False, 3, -30),
        (10, True, 3, -30),
        (10, False, 100, 253),
        (-10, False, 26, FAULT_STATUS),
        (-10, False, 25, -250),
        (0, False, 0, 0),
        (0, False, -1, FAULT_STATUS),
        (0, True, 0, FAULT_STATUS),
        (0, True, 9, 0),
    ],
)
def test_a_link_s_status(weight: int, reverse: bool, value: int, status: int) -> None:
    assert FileLink("VI_1", weight, reverse).status(value) == status


def state(*links: tuple[str, int]) -> FileState:
    config = TrackFile("tf", "/f", tracking=[TrackingObj(name, weight) for name, weight in links])
    return FileState(config)


def test_the_start_value_changes_nothing_and_later_values_move_the_links() -> None:
    tracked = state(("VI_1", -10), ("VI_2", 0))
    assert tracked.load(Reading(3)) is None
    changes = tracked.update(Reading(0))
    assert [(c.link.instance, c.before, c.after) for c in changes] == [("VI_1", -30, 0), ("VI_2", -254, 0)]
    assert changes[1].leaves_fault and not changes[0].leaves_fault


def test_an_unchanged_or_invalid_value_moves_nothing() -> None:
    tracked = state(("VI_1", 5))
    tracked.load(Reading(1))
    assert tracked.update(Reading(1)) == []
    assert tracked.update(Reading(None, "Invalid number")) == []
    assert tracked.value == 1


def test_a_removed_file_counts_as_0() -> None:
    tracked = state(("VI_1", 0))
    tracked.load(Reading(4))
    (change,) = tracked.removed()
    assert change.leaves_fault and tracked.value == 0


def test_an_instance_s_priority_and_faults_from_its_files_and_processes() -> None:
    data = VrrpData(
        instances=[VrrpInstance("VI_1", base_priority=100)],
        track_files=[
            TrackFile("weighted", "/w", tracking=[TrackingObj("VI_1", -10)]),
            TrackFile("plain", "/p", tracking=[TrackingObj("VI_1", 0)]),
        ],
        track_processes=[
            TrackProcess("up", tracking=[TrackingObj("VI_1", 5)]),
            TrackProcess("needed", tracking=[TrackingObj("VI_1", 0)]),
        ],
    )
    tracking = InstanceTracking(data.instances[0], data)
    result = tracking.evaluate(
        {}, {}, files={"weighted": 3, "plain": 2}, quorums={"up": True, "needed": False}
    )
    assert result.total_priority == 75
    assert [(f.kind, f.name) for f in result.faults] == [
        (FaultKind.FILE, "plain"),
        (FaultKind.PROCESS, "needed"),
    ]
    assert [f.startup_log("VI_1") for f in result.faults] == [
        "(VI_1): entering FAULT state (tracked file plain has status -254)",
        "(VI_1) entering FAULT state (tracked process needed quorum not achieved)",
    ]
    dropped = tracking.evaluate({}, {}, files={}, quorums={})  # files keepalived removed, no processes
    assert (dropped.total_priority, dropped.faults) == (100, ())

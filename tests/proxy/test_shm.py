"""Shared memory zones (hapair.proxy.shm): memory every forked process sees, a lock no dead process keeps,
and what a reload keeps; and the slab pool in them (hapair.proxy.slab), whose allocations are checked
against nginx's through the differential tests (tests/differential/test_access*.py)."""

from __future__ import annotations

import fcntl
import os
import select
import signal
from collections.abc import Iterator

import pytest

from hapair.proxy.shm import SharedZone, SharedZones, ZoneError, ZoneSpec
from hapair.proxy.slab import PAGE_SIZE, Slab, page_count

ZONE_SIZE = 32 * 1024
WAIT_S = 10.0


def spec(name: str = "one", *, size: int = ZONE_SIZE, identity: str = "$key") -> ZoneSpec:
    def initialize(zone: SharedZone) -> None:
        zone.memory[0] = 1

    return ZoneSpec(name, "module", size, 0, initialize, identity, lambda old: f"{name} was {old}")


@pytest.fixture
def zones() -> Iterator[SharedZones]:
    made = SharedZones().renew([spec()])
    yield made
    made.close()


def child(work: object) -> tuple[int, int]:
    """Fork a process that runs `work()` then writes one byte to a pipe and waits to be killed; its pid
    and the pipe's read end."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            work()  # type: ignore[operator]
            os.write(write, b"!")
            signal.pause()
        finally:
            os._exit(0)
    os.close(write)
    return pid, read


def wait_for(read: int) -> bytes:
    ready, _, _ = select.select([read], [], [], WAIT_S)
    assert ready, "the child did not get that far"
    return os.read(read, 1)


def kill(pid: int, read: int) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(read)


def locked_elsewhere(zone: SharedZone) -> bool:
    """Whether another process holds the zone's lock (a try that does not wait)."""
    try:
        fcntl.lockf(zone._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
    except OSError:
        return True
    fcntl.lockf(zone._fd, fcntl.LOCK_UN, 1, 0)
    return False


def test_what_a_forked_process_writes_the_others_read(zones: SharedZones) -> None:
    zone = zones.get("one")

    def write() -> None:
        zone.memory[1:6] = b"hello"

    pid, read = child(write)
    wait_for(read)
    assert bytes(zone.memory[:6]) == b"\x01hello"
    kill(pid, read)


def test_a_process_killed_while_it_holds_the_lock_does_not_leave_it_taken(zones: SharedZones) -> None:
    zone = zones.get("one")
    pid, read = child(zone.lock)
    wait_for(read)
    assert locked_elsewhere(zone)
    kill(pid, read)
    assert not locked_elsewhere(zone)


def test_a_reload_keeps_a_zone_of_the_same_name_module_and_size(zones: SharedZones) -> None:
    kept = zones.get("one")
    kept.memory[1] = 7
    renewed = zones.renew([spec(), spec("two")])
    assert renewed.get("one") is kept and renewed.get("one").memory[1] == 7
    assert renewed.get("two").memory[0] == 1  # laid out by its module
    zones.release_unused(renewed)
    renewed.get("two").close()


def test_a_reload_makes_a_zone_whose_size_changed_anew(zones: SharedZones) -> None:
    renewed = zones.renew([spec(size=2 * ZONE_SIZE)])
    assert renewed.get("one") is not zones.get("one") and renewed.get("one").size == 2 * ZONE_SIZE
    renewed.close()


def test_a_module_refuses_a_kept_zone_whose_key_changed(zones: SharedZones) -> None:
    with pytest.raises(ZoneError, match=r"^one was \$key$"):
        zones.renew([spec("two"), spec(identity="$other")])
    assert zones.get("one").memory[0] == 1


def test_pages_of_a_zone_as_nginx_counts_them() -> None:
    """ngx_slab_init: the pool's header, 9 slot lists, their statistics and a descriptor per page come
    first; pages are 4 KiB, aligned."""
    assert [page_count(size)[0] for size in (ZONE_SIZE, 64 * 1024, 1024 * 1024)] == [7, 15, 254]


def test_freed_pages_merge_back_into_one_run() -> None:
    memory = memoryview(bytearray(ZONE_SIZE))
    slab = Slab(memory, ZONE_SIZE, initialize=True)
    chunks = [slab.alloc(size) for size in (8, 24, 64, 100, 700, 5000, 64, 8)]
    assert all(chunks)
    for chunk in reversed(chunks[::2]):
        slab.free(chunk)
    for chunk in chunks[1::2]:
        slab.free(chunk)
    everything = slab.alloc(slab.pages * PAGE_SIZE)
    assert everything == page_count(ZONE_SIZE)[1]
    assert slab.alloc(8) == 0


def test_the_lowest_free_chunk_is_given_first() -> None:
    memory = memoryview(bytearray(ZONE_SIZE))
    slab = Slab(memory, ZONE_SIZE, initialize=True)
    first, second, third = (slab.alloc(128) for _ in range(3))
    assert (second - first, third - second) == (128, 128)
    slab.free(second)
    assert slab.alloc(100) == second

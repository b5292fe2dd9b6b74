"""Shared memory zones (nginx's ngx_shm_zone_t and the cycle's list of them): memory that every worker
process sees, made by the master before it forks them, with a lock that no dead process can leave taken.

A zone is a memfd of its configured size (nginx's slab pool lives there, see `slab`), plus what its module
needs beside it (an index), mapped shared; its lock is an fcntl record lock on the memfd. The kernel drops
such a lock when the process holding it ends, however it ends, so a worker killed while it held the lock
does not stop the others (nginx's master has to force its own spinlock open instead). A record lock is the
process's: the workers exclude each other, and code of one process never waits for itself (each worker
runs one thread and takes the lock only around work that does not wait).

On a reload, a zone of the same name, module and size as one the running configuration has is kept, with
its content (`SharedZones.renew`), as nginx keeps it; the module may refuse it (a `limit_req_zone` whose
key changed). Zones the new configuration no longer has are unmapped by the master once it runs the new
workers; old workers keep their own mapping until they exit.
"""

from __future__ import annotations

import fcntl
import mmap
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass


class ZoneError(Exception):
    """A zone the new configuration cannot take over (nginx's emerg line, the reload fails)."""


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """What a module asks of a zone: its `size` (nginx's, the slab's), the `extra` bytes its index needs
    after it, how to lay out a new zone (`initialize`), and when it may take over a running zone
    (`identity`: the text that must not change, `conflict`: nginx's message when it did;
    `fresh_when_changed`: a changed identity gets a new zone instead of that refusal)."""

    name: str
    tag: str
    size: int
    extra: int
    initialize: Callable[[SharedZone], None]
    identity: str
    conflict: Callable[[str], str]
    fresh_when_changed: bool = False


class SharedZone:
    """One zone: `memory` is its shared mapping, `size` the part of it that is nginx's zone."""

    __slots__ = ("_fd", "_mapping", "identity", "memory", "name", "size", "tag")

    def __init__(self, spec: ZoneSpec) -> None:
        self.name = spec.name
        self.tag = spec.tag
        self.size = spec.size
        self.identity = spec.identity
        self._fd = os.memfd_create(f"hapair-zone:{spec.name}", os.MFD_CLOEXEC)
        try:
            os.ftruncate(self._fd, spec.size + spec.extra)
            self._mapping = mmap.mmap(self._fd, spec.size + spec.extra)
        except BaseException:
            os.close(self._fd)
            raise
        self.memory = memoryview(self._mapping)
        spec.initialize(self)

    def lock(self) -> None:
        """Wait for the zone's lock (F_SETLKW on its first byte)."""
        fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, 0)

    def unlock(self) -> None:
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, 0)

    def close(self) -> None:
        """Unmap it in this process (other processes keep theirs)."""
        self.memory.release()
        self._mapping.close()
        os.close(self._fd)


class SharedZones:
    """The zones of a configuration, by name."""

    def __init__(self, zones: Iterable[SharedZone] = ()) -> None:
        self._zones = {zone.name: zone for zone in zones}

    def get(self, name: str) -> SharedZone:
        return self._zones[name]

    def renew(self, specs: Iterable[ZoneSpec]) -> SharedZones:
        """The zones of a configuration that follows this one: those of the same name, module and size
        kept, the others made (ngx_init_cycle); raises ZoneError when a module refuses a kept zone."""
        zones: list[SharedZone] = []
        made: list[SharedZone] = []
        try:
            for spec in specs:
                running = self._zones.get(spec.name)
                if running is not None and spec.fresh_when_changed and running.identity != spec.identity:
                    running = None
                if running is not None and (running.tag, running.size) == (spec.tag, spec.size):
                    if running.identity != spec.identity:
                        raise ZoneError(spec.conflict(running.identity))
                    zones.append(running)
                    continue
                zone = SharedZone(spec)
                made.append(zone)
                zones.append(zone)
        except BaseException:
            for zone in made:
                zone.close()
            raise
        return SharedZones(zones)

    def release_unused(self, kept: SharedZones) -> None:
        """Unmap the zones `kept` (the configuration now running) does not have."""
        for name, zone in self._zones.items():
            if kept._zones.get(name) is not zone:
                zone.close()

    def close(self) -> None:
        for zone in self._zones.values():
            zone.close()
        self._zones.clear()

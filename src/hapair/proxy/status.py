"""nginx's connection and request counters (ngx_stat_accepted, handled, requests, active, reading,
writing, waiting), which `stub_status` shows: counted by every worker, read by any.

nginx keeps seven atomic counters in memory shared by its workers. Python has no atomic add on shared
memory, so each worker has a slot of its own (`Counters`) and only ever writes there; a reader sums the
slots (`StatusBoard.totals`). The master makes the board once, before its first workers, and keeps it
across reloads as nginx keeps its counters; it gives each worker it starts a free slot and, when the
worker exits, folds the worker's running totals (accepted, handled, requests) into slot 0, the retired
workers' slot, and frees the slot. The gauges (active, reading, writing, waiting) of a worker that exits
go with it: the kernel closed its connections. (nginx's gauges stay wrong for good after a worker is
killed, its connections still counted.)

A configuration without `stub_status` counts nothing: its workers get no slot, and the data planes test
for that once per event, not per counter.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from typing import Final

ACCEPTED, HANDLED, REQUESTS, ACTIVE, READING, WRITING, WAITING = range(7)
_CELLS: Final = 8  # a slot's counters, padded to 64 bytes: two workers never share a cache line
_CELL_SIZE: Final = 8
SLOTS: Final = 1024  # slot 0 is the retired workers'; a worker with none free counts nothing
_RUNNING_TOTALS: Final = (ACCEPTED, HANDLED, REQUESTS)


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """What a worker counts with: the board, to read the totals, and its slot, `cells[i] += n` its only
    write (one writer per slot, so no lock)."""

    board: StatusBoard
    cells: memoryview


class StatusBoard:
    """The slots, in a memfd the master maps before forking (the workers inherit the mapping)."""

    def __init__(self, slots: int = SLOTS) -> None:
        self._fd = os.memfd_create("hapair-status", os.MFD_CLOEXEC)
        size = slots * _CELLS * _CELL_SIZE
        try:
            os.ftruncate(self._fd, size)
            self._mapping = mmap.mmap(self._fd, size)
        finally:
            os.close(self._fd)
        self._cells = memoryview(self._mapping).cast("q")
        self._free = list(range(slots - 1, 0, -1))
        self._views: list[memoryview] = []  # released before the mapping closes

    def claim(self) -> int | None:
        """A free slot for a worker about to start (None: all taken)."""
        return self._free.pop() if self._free else None

    def worker(self, slot: int) -> WorkerStatus:
        """The view of a worker counting in `slot` (made in the worker, after the fork)."""
        start = slot * _CELLS
        cells = self._cells[start : start + _CELLS]
        self._views.append(cells)
        return WorkerStatus(self, cells)

    def retire(self, slot: int) -> None:
        """The worker of `slot` exited: its running totals move to slot 0, and the slot is free again."""
        start = slot * _CELLS
        for index in _RUNNING_TOTALS:
            self._cells[index] += self._cells[start + index]
        self._cells[start : start + _CELLS] = memoryview(bytes(_CELLS * _CELL_SIZE)).cast("q")
        self._free.append(slot)

    def totals(self) -> tuple[int, ...]:
        """The seven counters, summed over the slots (nginx's ngx_stat_* values)."""
        cells = self._cells
        return tuple(sum(cells[index::_CELLS]) for index in range(7))

    def close(self) -> None:
        for view in self._views:
            view.release()
        self._cells.release()
        self._mapping.close()

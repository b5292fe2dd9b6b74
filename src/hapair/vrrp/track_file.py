"""`track_file`, keepalived 2.2.7's way (trackers/track_file.c, vrrp_track.c): the value a tracked file
holds, and what it does to each instance tracking it. Pure: the caller reads the file (at start and on each
inotify event) and hands over its bytes, or None when it cannot be opened.

- The value is C's strtol(text, NULL, 0) of the first 127 bytes: blanks, a sign, then decimal, 0x hex or
  0 octal digits; no digits (or an empty or missing file) is 0. A value outside [INT32_MIN, INT32_MAX + 1]
  is logged (`Invalid number N read from PATH - ignoring`) and the last value kept.
- Each instance's link turns the value into a status: with a weight, value * weight (negated if
  `reverse`) kept within [-254, 253], -254 meaning FAULT; unweighted, FAULT while the value is not 0
  (while it is 0 if `reverse`), 0 otherwise. A status that is not FAULT adds to the instance's priority.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.keepalived.model.vrrp import TrackFile
from ..config.keepalived.numbers import strtol

READ_SIZE = 127  # keepalived reads into a 128-byte buffer, its last byte the terminating NUL
FAULT_STATUS = -254
HIGHEST_STATUS = 253
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class FileLink:
    """One instance's link to a tracked file (keepalived's tracking_obj_t for it)."""

    instance: str
    weight: int
    reverse: bool = False

    def product(self, value: int) -> int:
        """value * weight with the link's direction; unweighted links: -254 (FAULT) or 0."""
        if self.weight == 0:
            return FAULT_STATUS if (value != 0) != self.reverse else 0
        return value * self.weight * (-1 if self.reverse else 1)

    def status(self, value: int) -> int:
        """The link's status for `value`: FAULT_STATUS, or what it adds to the instance's priority."""
        return max(FAULT_STATUS, min(HIGHEST_STATUS, self.product(value)))

    def faulty(self, value: int) -> bool:
        return self.status(value) == FAULT_STATUS


@dataclass(frozen=True)
class Reading:
    """What one read of the file gave: the new value, or `invalid` (the line to log, the value kept)."""

    value: int | None
    invalid: str | None = None


def read_value(data: bytes | None, path: str) -> Reading:
    """The value keepalived takes from the file's first bytes (None: it could not be opened)."""
    if not data:
        return Reading(0)
    text = data[:READ_SIZE].split(b"\0", 1)[0].decode("latin-1")
    parsed = strtol(text, 0)
    if parsed.overflow or not INT32_MIN <= parsed.value <= INT32_MAX + 1:
        return Reading(None, f"Invalid number {parsed.value} read from {path} - ignoring")
    return Reading(parsed.value)


@dataclass(frozen=True)
class LinkChange:
    """How a new value moved one instance's link: from `before` to `after` (statuses, FAULT_STATUS
    included)."""

    link: FileLink
    before: int
    after: int

    @property
    def enters_fault(self) -> bool:
        return self.after == FAULT_STATUS

    @property
    def leaves_fault(self) -> bool:
        return self.before == FAULT_STATUS


class FileState:
    """A tracked file's last value and the instances linked to it, in keepalived's order."""

    def __init__(self, config: TrackFile) -> None:
        self.name = config.name
        self.path = config.path or ""
        self.links = tuple(FileLink(obj.instance, obj.weight, obj.reverse) for obj in config.tracking)
        self.value = 0  # keepalived's last_status: 0 until the file is first read

    def load(self, reading: Reading) -> str | None:
        """The read at start: the value is taken without changes to report; the line to log, if any."""
        if reading.value is not None:
            self.value = reading.value
        return reading.invalid

    def update(self, reading: Reading) -> list[LinkChange]:
        """A read after the file changed: the links whose status moved (none if the value is unchanged
        or invalid)."""
        new = reading.value
        if new is None or new == self.value:
            return []
        old, self.value = self.value, new
        changes = [LinkChange(link, link.status(old), link.status(new)) for link in self.links]
        return [change for change in changes if change.before != change.after]

    def removed(self) -> list[LinkChange]:
        """The file was deleted or moved away: as if it held 0."""
        return self.update(Reading(0))

    def link_of(self, instance: str) -> FileLink | None:
        return next((link for link in self.links if link.instance == instance), None)

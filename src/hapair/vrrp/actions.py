"""What the state machine asks its surroundings to do. The router returns these; the daemon carries them out
in order (send packets, change addresses, run commands, write the log, re-arm the instance's timer)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address

from ..config.keepalived.model.addresses import IpAddress
from .packet import Advertisement


@dataclass(frozen=True)
class SendAdvert:
    """Send this advertisement (to the multicast group or to each unicast peer); with AH authentication,
    `ah_sequence` is the sequence number it carries."""

    advert: Advertisement
    ah_sequence: int | None = None


@dataclass(frozen=True)
class SetVips:
    """Add these addresses (an instance's virtual and excluded addresses)."""

    addresses: tuple[IpAddress, ...]


@dataclass(frozen=True)
class RemoveVips:
    """Remove these addresses; at start-up (`force`) they may be left over from an earlier run."""

    addresses: tuple[IpAddress, ...]
    force: bool = False


@dataclass(frozen=True)
class AnnounceSource:
    """One gratuitous ARP for the instance's own source address: a unicast instance leaving FAULT renews
    the master's ARP entry for it, so that the master's adverts reach it at once (keepalived's
    try_up_instance, issue #1283)."""


@dataclass(frozen=True)
class SendGratuitousArps:
    """`repeat` rounds of one gratuitous ARP per address, back to back."""

    repeat: int


@dataclass(frozen=True)
class ProbeAddresses:
    """Ask the LAN who holds these addresses: one ARP probe each (RFC 5227's form, sender address 0), whose
    answers come back as claims (`VirtualRouter.address_claimed`)."""

    addresses: tuple[IPv4Address, ...]


class NotifyEvent(Enum):
    """What a notify command is told; the values are the words keepalived passes to `notify`."""

    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"
    DELETED = "DELETED"
    MASTER_RX_LOWER_PRI = "MASTER_RX_LOWER_PRI"
    MASTER_PRIORITY = "MASTER_PRIORITY"  # notify_priority_changes: only the notify FIFOs are told
    BACKUP_PRIORITY = "BACKUP_PRIORITY"


@dataclass(frozen=True)
class Notify:
    """Run the instance's notify commands for `event`; `priority` is its effective priority then."""

    event: NotifyEvent
    priority: int


@dataclass(frozen=True)
class Log:
    """A log line, already prefixed; `detail` lines are written only with -D/--log-detail."""

    text: str
    detail: bool = False


@dataclass(frozen=True)
class ArmTimer:
    """The instance's next wake-up, in microseconds on the caller's clock; None: nothing to wait for."""

    at: int | None


@dataclass(frozen=True)
class VirtualRouting:
    """Add the instance's virtual routes, then its virtual rules (`add`), or remove its rules, then its
    routes: those it added, and with `force` any rule of its an earlier run left."""

    add: bool
    force: bool = False


Action = (
    SendAdvert
    | SetVips
    | RemoveVips
    | VirtualRouting
    | AnnounceSource
    | SendGratuitousArps
    | ProbeAddresses
    | Notify
    | Log
    | ArmTimer
)

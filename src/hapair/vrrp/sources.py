"""Which address an instance sends its adverts from, given the addresses its interface has now, and the
fault that holds it back when it has none it can use. Pure: the caller reads the interface's addresses
(at start and on every netlink address event) and acts on the answer.

keepalived 2.2.7 (checked on the binary, tests/system/test_source_addresses.py):
- without `unicast_src_ip` / `mcast_src_ip`, an instance sends from its interface's first IPv4 address
  that is not a virtual address; while the interface has none it is in FAULT (`(VI_1) entering FAULT
  state (no IPv4 address for interface)`), and it comes up when an address is assigned;
- a configured `unicast_src_ip` that is not on the interface fails the socket's bind (`bind unicast_src
  10.0.0.5 failed 99 - Cannot assign requested address`) and puts the instance in FAULT (`(VI_1): entering
  FAULT state (src address not configured)`); keepalived keeps it there until it is restarted, even once
  the address is assigned. hapair brings it up when the address appears, and puts it back in FAULT when
  the address goes, where keepalived sends on from an address it no longer has and, hearing nothing on
  it, takes over as a second master (docs/keepalived-differences.md);
- a configured `mcast_src_ip` need not be on the interface: the adverts carry it whatever the interface
  has, in keepalived as in hapair, unless `track_src_ip` asks for the address to be there.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv6Address

from ..config.keepalived.model.vrrp import VrrpInstance


class SourceFault(Enum):
    """Why an instance has no source to send from; the value is keepalived's wording, as a fault reason."""

    NO_ADDRESS = "(no IPv4 address for interface)"
    NO_ADDRESS6 = "(no IPv6 address for interface)"  # an IPv6 instance's interface has no link-local one
    NOT_CONFIGURED = "(src address not configured)"

    @property
    def missing_address(self) -> bool:
        """The interface has no address to send from (rather than not the configured one)."""
        return self is not SourceFault.NOT_CONFIGURED

    def startup_log(self, instance: str) -> str:
        """The line keepalived writes when it starts the instance without a source."""
        if self.missing_address:
            return f"({instance}) entering FAULT state {self.value}"
        return f"({instance}): entering FAULT state {self.value}"


@dataclass(frozen=True)
class SourceChoice:
    """The address to send from (None: none yet), and the fault while the instance cannot send."""

    address: IPv4Address | IPv6Address | None
    fault: SourceFault | None = None


def requires_configured_source(instance: VrrpInstance) -> bool:
    """Whether a configured source must be on the interface for the instance to run: a unicast instance
    receives on it, and `track_src_ip` asks for it."""
    return instance.source_from_config and (instance.unicast or instance.track_source_address)


def choose_source(
    instance: VrrpInstance,
    addresses: Sequence[IPv4Address | IPv6Address],
    virtual: Collection[IPv4Address | IPv6Address],
) -> SourceChoice:
    """The instance's source among its interface's `addresses` of its family (in the kernel's order,
    primaries first), leaving out the `virtual` addresses of every instance. Over IPv6 keepalived sends
    from the interface's first link-local address unless a source is configured."""
    configured = instance.source_address
    if instance.source_from_config and configured is not None:
        if requires_configured_source(instance) and configured not in addresses:
            return SourceChoice(configured, SourceFault.NOT_CONFIGURED)
        return SourceChoice(configured)
    usable = next(
        (
            address
            for address in addresses
            if address not in virtual and (address.version == 4 or address.is_link_local)
        ),
        None,
    )
    missing = SourceFault.NO_ADDRESS6 if instance.family == 6 else SourceFault.NO_ADDRESS
    return SourceChoice(usable, None if usable is not None else missing)

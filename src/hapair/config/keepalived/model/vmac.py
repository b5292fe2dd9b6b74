"""Model: the MAC address of an instance's VMAC interface (`use_vmac`)."""

from __future__ import annotations

from .vrrp import RFC_MAC_PREFIX, VrrpInstance


def vmac_address(instance: VrrpInstance) -> bytes:
    """The VMAC's MAC: the configured one (its VRID appended at completion), else RFC 5798's
    00:00:5e:00:01:VRID for IPv4 and 00:00:5e:00:02:VRID for IPv6."""
    if instance.vmac_mac is not None:
        return instance.vmac_mac
    return RFC_MAC_PREFIX + bytes((0x02 if instance.family == 6 else 0x01, instance.vrid))


def advert_interface(instance: VrrpInstance) -> str:
    """The interface the instance's adverts go out on and come in from: its VMAC, or with
    `vmac_xmit_base` (or without a VMAC) its own interface."""
    if instance.use_vmac and not instance.vmac_xmit_base and instance.vmac_interface:
        return instance.vmac_interface
    assert instance.interface is not None
    return instance.interface

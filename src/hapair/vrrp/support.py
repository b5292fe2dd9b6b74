"""What of a keepalived.conf the VRRP daemon cannot run yet. keepalived would act on these; hapair refuses
to start rather than silently do less, and names each one with the place it was configured."""

from __future__ import annotations

from collections.abc import Iterator

from ..config.keepalived.model import KeepalivedConfig
from ..config.keepalived.model.place import Place
from ..config.keepalived.model.vrrp import AuthType, VrrpInstance


def unsupported_features(config: KeepalivedConfig) -> list[str]:
    """One message per configured feature the daemon does not run, `(file: Line N) ...` where known."""
    return [*_global_features(config), *_instance_features(config), *_vrrp_blocks(config)]


def _at(place: Place | None, message: str) -> str:
    prefix = f"({place.file}: Line {place.line}) " if place is not None else ""
    return f"{prefix}{message} is not supported by hapair yet"


def _global_features(config: KeepalivedConfig) -> Iterator[str]:
    defs = config.global_defs
    if defs.vrrp_startup_delay_us:
        yield _at(None, "vrrp_startup_delay")


def _instance_features(config: KeepalivedConfig) -> Iterator[str]:
    for instance in config.vrrp.instances:
        for feature in _unsupported_in(instance):
            yield _at(instance.defined_at, f"({instance.name}) {feature}")


def _unsupported_in(instance: VrrpInstance) -> Iterator[str]:
    if instance.interface is None:
        yield "an instance without an interface"
    if instance.use_vmac or instance.use_ipvlan:
        yield "use_vmac / use_ipvlan"
    if instance.auth_type == AuthType.AH:
        yield "auth_type AH"
    if instance.vroutes or instance.vrules:
        yield "virtual_routes / virtual_rules"
    if instance.track.bfds:
        yield "track_bfd"


def _vrrp_blocks(config: KeepalivedConfig) -> Iterator[str]:
    vrrp = config.vrrp
    if vrrp.static_addresses or vrrp.static_routes or vrrp.static_rules:
        yield _at(None, "static_ipaddress / static_routes / static_rules")

"""What of a keepalived.conf the VRRP daemon cannot run yet. keepalived would act on these; hapair refuses
to start rather than silently do less, and names each one with the place it was configured."""

from __future__ import annotations

from collections.abc import Iterator

from ..config.keepalived.model import KeepalivedConfig
from ..config.keepalived.model.place import Place
from ..config.keepalived.model.vrrp import VrrpInstance
from ..net.routes import unsupported_route_options


def unsupported_features(config: KeepalivedConfig) -> list[str]:
    """One message per configured feature the daemon does not run, `(file: Line N) ...` where known."""
    return [*_instance_features(config), *_vrrp_blocks(config)]


def _at(place: Place | None, message: str) -> str:
    prefix = f"({place.file}: Line {place.line}) " if place is not None else ""
    return f"{prefix}{message} is not supported by hapair yet"


def _instance_features(config: KeepalivedConfig) -> Iterator[str]:
    for instance in config.vrrp.instances:
        for feature in _unsupported_in(instance):
            yield _at(instance.defined_at, f"({instance.name}) {feature}")


def _unsupported_in(instance: VrrpInstance) -> Iterator[str]:
    if instance.use_ipvlan:
        yield "use_ipvlan"
    for route in instance.vroutes:
        for option in unsupported_route_options(route):
            yield f"a virtual route with {option}"
    if instance.track.bfds:
        yield "track_bfd"


def _vrrp_blocks(config: KeepalivedConfig) -> Iterator[str]:
    for route in config.vrrp.static_routes:
        for option in unsupported_route_options(route):
            yield _at(None, f"a static route with {option}")

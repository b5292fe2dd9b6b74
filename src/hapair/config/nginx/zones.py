"""Shared memory zones as directives declare them (ngx_shared_memory_add): `ssl_session_cache
shared:NAME:SIZE` and the upstream `zone NAME [SIZE]`. A name is one zone whichever directives name it:
the first size given is its size (a different one later is an error), and it serves one module only. A
zone still without a size once the configuration is read is an error of the start (`startup`), as in
nginx."""

from __future__ import annotations

from .errors import ConfigError
from .model.place import Place
from .state import MainState, SharedZone

PAGE_SIZE = 4096  # ngx_pagesize on the platforms hapair runs on
MIN_ZONE_SIZE = 8 * PAGE_SIZE  # the smallest zone nginx's slab allocator accepts


def shared_memory_add(main: MainState, name: str, size: int, tag: str, place: Place) -> SharedZone:
    """Declare zone `name` of `size` bytes (0: the size is given elsewhere) for module `tag`."""
    zone = main.shared_zones.get(name)
    if zone is None:
        zone = main.shared_zones[name] = SharedZone(size, tag)
        return zone
    if zone.tag != tag:
        raise ConfigError(f'the shared memory zone "{name}" is already declared for a different use', place)
    if zone.size == 0:
        zone.size = size
    if size and size != zone.size:
        declared = zone.size
        raise ConfigError(
            f'the size {size} of shared memory zone "{name}" conflicts with already declared size {declared}',
            place,
        )
    return zone


def check_sizes(main: MainState) -> None:
    """The start's check (ngx_init_cycle): every zone has a size by now."""
    for name, zone in main.shared_zones.items():
        if zone.size == 0:
            raise ConfigError(f'zero size shared memory zone "{name}"', None)

"""What the limit_req and limit_conn directives share: their zones' `zone=NAME:SIZE` parameter, the
binding of a zone to its key, and the log-level and status directives (ngx_conf_set_enum_slot,
ngx_conf_set_num_slot with nginx's bounds)."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..model.access import LimitZone
from ..model.logging import ErrorLevel
from ..numbers import atoi, parse_size
from ..settings import Slot
from ..state import SharedZone
from ..zones import MIN_ZONE_SIZE, shared_memory_add

LOG_LEVELS = (ErrorLevel.INFO, ErrorLevel.NOTICE, ErrorLevel.WARN, ErrorLevel.ERROR)
STATUS_BOUNDS = (400, 599)


def zone_parameter(directive: Directive, arg: str) -> tuple[str, int]:
    """`zone=NAME:SIZE` of a `*_zone` directive: the name (possibly empty) and the size in bytes."""
    name, colon, size_text = arg[5:].partition(":")
    if not colon:
        raise directive.error(f'invalid zone size "{arg}"')
    size = parse_size(size_text)
    if size is None:
        raise directive.error(f'invalid zone size "{arg}"')
    if size < MIN_ZONE_SIZE:
        raise directive.error(f'zone "{arg}" is too small')
    return name, size


def bind_zone(block: Block, directive: Directive, zone: LimitZone) -> None:
    """Declare the zone and give it its key: a second `*_zone` directive for the same name is refused."""
    shared = shared_memory_add(block.main, zone.name, zone.size, zone.kind.value, directive.place)
    if isinstance(shared.data, LimitZone):
        bound = shared.data.key.source
        raise directive.error(f'{directive.name} "{zone.name}" is already bound to key "{bound}"')
    shared.data = zone


def use_zone(block: Block, directive: Directive, name: str, tag: str) -> SharedZone:
    """A zone a `limit_req` or `limit_conn` names, declared without a size if it is not yet."""
    return shared_memory_add(block.main, name, 0, tag, directive.place)


def log_level(slot: Slot[ErrorLevel]) -> Handler:
    """`info`, `notice`, `warn` or `error`, in any case."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        for value in LOG_LEVELS:
            if value.value == directive.args[0].lower():
                level.set(slot, value, directive.place)
                return
        raise directive.error(f'invalid value "{directive.args[0]}"')

    return handle


def status(slot: Slot[int]) -> Handler:
    """A status from 400 to 599."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        value = atoi(directive.args[0])
        if value is None:
            raise directive.invalid("invalid number")
        low, high = STATUS_BOUNDS
        if not low <= value <= high:
            raise directive.error(f"value must be between {low} and {high}")
        level.set(slot, value, directive.place)

    return handle

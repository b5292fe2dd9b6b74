"""Handlers for directives that set one value (nginx's ngx_conf_set_*_slot), with nginx's messages."""

from __future__ import annotations

from collections.abc import Callable

from ..context import Block, Directive, Handler, Reading
from ..numbers import atoi, parse_offset, parse_size, parse_time
from ..settings import Slot


def _single(slot: Slot[int], parse: Callable[[str], int | None], reason: str) -> Handler:
    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        value = parse(directive.args[0])
        if value is None:
            raise directive.invalid(reason)
        level.set(slot, value, directive.place)

    return handle


def msec(slot: Slot[int]) -> Handler:
    """A duration in milliseconds (ngx_conf_set_msec_slot)."""
    return _single(slot, lambda text: parse_time(text, seconds=False), "invalid value")


def sec(slot: Slot[int]) -> Handler:
    """A duration in seconds (ngx_conf_set_sec_slot)."""
    return _single(slot, lambda text: parse_time(text, seconds=True), "invalid value")


def size(slot: Slot[int]) -> Handler:
    return _single(slot, parse_size, "invalid value")


def offset(slot: Slot[int]) -> Handler:
    return _single(slot, parse_offset, "invalid value")


def bufs(slot: Slot[tuple[int, int]]) -> Handler:
    """`number size` (ngx_conf_set_bufs_slot)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        number = atoi(directive.args[0])
        if not number:
            raise directive.invalid("invalid value")
        size = parse_size(directive.args[1])
        if not size:
            raise directive.invalid("invalid value")
        level.set(slot, (number, size), directive.place)

    return handle


def strings(slot: Slot[tuple[str, ...]]) -> Handler:
    """Each directive adds its text to the level's list (ngx_conf_set_str_array_slot)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        here = level.here(slot)
        values = here.value if here is not None else ()
        level.set(slot, (*values, directive.args[0]), here.place if here is not None else directive.place)

    return handle


def number(slot: Slot[int]) -> Handler:
    return _single(slot, atoi, "invalid number")


def flag(slot: Slot[bool]) -> Handler:
    """`on` or `off`, in any case (ngx_conf_set_flag_slot)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        value = directive.args[0].lower()
        if value not in ("on", "off"):
            raise directive.error(
                f'invalid value "{directive.args[0]}" in "{directive.name}" directive, '
                'it must be "on" or "off"'
            )
        level.set(slot, value == "on", directive.place)

    return handle


def string(slot: Slot[str]) -> Handler:
    """Any text (ngx_conf_set_str_slot)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        level.set(slot, directive.args[0], directive.place)

    return handle


def choice(slot: Slot[str], values: tuple[str, ...]) -> Handler:
    """One of `values`, in any case (ngx_conf_set_enum_slot)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        for value in values:
            if value.lower() == directive.args[0].lower():
                level.set(slot, value, directive.place)
                return
        raise directive.error(f'invalid value "{directive.args[0]}"')

    return handle


def bitmask(slot: Slot[frozenset[str]], values: tuple[str, ...]) -> Handler:
    """Some of `values`, in any case; a repeated directive adds to the set (ngx_conf_set_bitmask_slot)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        here = level.here(slot)
        chosen = set(here.value) if here is not None else set()
        for arg in directive.args:
            value = next((v for v in values if v.lower() == arg.lower()), None)
            if value is None:
                raise directive.error(f'invalid value "{arg}"')
            if value in chosen:
                reading.warn(f'duplicate value "{arg}"', directive.place)
            chosen.add(value)
        level.set(slot, frozenset(chosen), here.place if here is not None else directive.place)

    return handle


def path(slot: Slot[str]) -> Handler:
    """A directory with up to three levels of subdirectories (ngx_conf_set_path_slot): made absolute from
    the prefix; the levels are checked as nginx checks them and not kept (hapair's temporary files go in
    the directory itself)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        level = block.level()
        if level.here(slot) is not None:
            raise directive.invalid("is duplicate")
        name = directive.args[0]
        if name.endswith("/"):
            name = name[:-1]
        total = 0
        for arg in directive.args[1:]:
            depth = atoi(arg)
            if not depth:
                raise directive.invalid("invalid value")
            total += depth + 1
        if total > 10 + len(directive.args) - 1:
            raise directive.invalid("invalid value")
        level.set(slot, block.main.paths.from_prefix(name), directive.place)

    return handle

"""Directive values as they are read: each block (http, server, location; stream, server; upstream) has
a `Level` of values over its parent's, as nginx has a configuration structure per block and merges each
with its parent's once the block is read. A `Slot` names one directive's value (nginx's structure field)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from .model.place import Place

T = TypeVar("T")
D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class Placed(Generic[T]):
    value: T
    place: Place


class Slot(Generic[T]):
    """One directive's value in a level; the directive name identifies it in messages and in the model's
    `defined` maps."""

    __slots__ = ("directive",)

    def __init__(self, directive: str) -> None:
        self.directive = directive

    def __repr__(self) -> str:
        return f"Slot({self.directive!r})"


class Level:
    def __init__(self, parent: Level | None = None) -> None:
        self.parent = parent
        self._values: dict[Slot[Any], Placed[Any]] = {}

    def here(self, slot: Slot[T]) -> Placed[T] | None:
        """The value set in this very block."""
        return cast(Placed[T] | None, self._values.get(slot))

    def set(self, slot: Slot[T], value: T, place: Place) -> None:
        self._values[slot] = Placed(value, place)

    def find(self, slot: Slot[T]) -> Placed[T] | None:
        """The value in force here: this block's, else the nearest enclosing block's (nginx's merge)."""
        level: Level | None = self
        while level is not None:
            found = level.here(slot)
            if found is not None:
                return found
            level = level.parent
        return None

    def value(self, slot: Slot[T], default: D) -> T | D:
        """The value in force here, else `default` (None: the data plane's own default applies)."""
        found = self.find(slot)
        return default if found is None else found.value

    def defined(self) -> dict[str, Place]:
        """Where each value in force here was set, by directive name."""
        places: dict[str, Place] = {}
        level: Level | None = self
        while level is not None:
            for slot, placed in level._values.items():
                places.setdefault(slot.directive, placed.place)
            level = level.parent
        return places
